using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.Logging;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire.Tests;

/// <summary>
/// The coordinator's gRPC surface on grpc-dotnet, end to end on a real Kestrel over loopback (h2c): everything the
/// hand-written wire refused is still refused with the standard status, authentication happens before the body, and the
/// generated clients, the signing interceptor and the round transport work against it.
/// </summary>
public sealed class CoordinatorGrpcTests : IAsyncLifetime
{
    private const string StatusPath = "/securefedrec.coordinator.v1.CoordinatorStatus/GetStatus";
    private const string EnrolPath = "/securefedrec.coordinator.v1.Enrolment/Enrol";
    private const string JoinPath = "/securefedrec.coordinator.v1.Rounds/JoinRound";
    private readonly ClientIdentity _enrolled = ClientIdentity.Generate();
    private readonly ClientIdentity _stranger = ClientIdentity.Generate();
    private TestCoordinator _coordinator = null!;

    public async Task InitializeAsync() => _coordinator = await TestCoordinator.StartAsync([_enrolled], maxMessageBytes: 256 * 1024);

    public async Task DisposeAsync()
    {
        await _coordinator.DisposeAsync();
        _enrolled.Dispose();
        _stranger.Dispose();
    }

    private CoordinatorChannel Channel(IRequestAuthenticator? auth = null) =>
        new(_coordinator.Address, new CoordinatorChannelOptions { Authenticator = auth, MaxAttempts = 1 });

    private static Dictionary<string, string> Signed(ClientIdentity id, string path, byte[] payload) =>
        id.CreateHeaders(path, payload).ToDictionary(kv => kv.Key, kv => kv.Value);

    [Fact]
    public async Task The_generated_client_reads_the_status()
    {
        using CoordinatorChannel channel = Channel();
        GetStatusResponse status = await channel.Status.GetStatusAsync(new GetStatusRequest());
        Assert.Equal(CoordinatorProtocol.ApiVersion, status.ApiVersion);
        Assert.Equal(1UL, status.ModelVersion);
        Assert.Equal(Phase.Unspecified, status.CurrentPhase);
    }

    public static TheoryData<string, string, string?, string> BadFrames => new()
    {
        // name, hex body, grpc-encoding, expected grpc-status
        { "not protobuf", "0000000002FFFF", null, "13" },
        { "truncated prefix", "000000", null, "13" },
        { "length beyond the body", "0000000010AABB", null, "13" },
        { "a second message", "00000000000000000000", null, "13" },
        { "prefix above the limit", "00FFFFFFFF", null, "8" },
        { "prefix just above 64 KiB", "0000010001", null, "8" },
        { "compressed, no encoding negotiated", "0100000000", null, "13" },
        { "compressed gzip, not offered", "0100000014" + GzipOfNothing, "gzip", "12" },
        { "compressed deflate, not offered", "0100000014" + GzipOfNothing, "deflate", "12" },
        { "empty body", "", null, "13" },
    };

    /// <summary>gzip (RFC 1952) of the empty string: a real compressed message, 20 bytes.</summary>
    private const string GzipOfNothing = "1F8B08000000000002FF03000000000000000000";

    [Theory]
    [MemberData(nameof(BadFrames))]
    public async Task Malformed_requests_get_the_standard_status(string name, string hex, string? encoding, string expected)
    {
        var headers = new Dictionary<string, string>();
        if (encoding is not null)
        {
            headers["grpc-encoding"] = encoding;
        }

        (int http, string? status, string? message) = await _coordinator.RawAsync(StatusPath, Convert.FromHexString(hex), headers: headers);
        Assert.Equal(200, http);
        Assert.True(expected == status, $"{name}: expected {expected}, got {status} ({message})");
    }

    [Theory]
    [InlineData("/securefedrec.coordinator.v1.CoordinatorStatus/getstatus")]
    [InlineData("/securefedrec.coordinator.v1.coordinatorstatus/GetStatus")]
    [InlineData("/SECUREFEDREC.COORDINATOR.V1.ENROLMENT/ENROL")]
    [InlineData("/securefedrec.coordinator.v1.Rounds/Nothing")]
    [InlineData("/securefedrec.coordinator.v1.Nope/Nothing")]
    public async Task Unknown_or_case_changed_methods_are_unimplemented(string path)
    {
        (int http, string? status, _) = await _coordinator.RawAsync(path, TestCoordinator.Frame([]));
        Assert.Equal(200, http);
        Assert.Equal("12", status);
    }

    [Fact]
    public async Task A_wrong_content_type_is_refused_by_http_status()
    {
        (int http, _, _) = await _coordinator.RawAsync(StatusPath, TestCoordinator.Frame([]), "application/json");
        Assert.Equal(415, http);
    }

    [Theory]
    [InlineData("99999999H", "0")]
    [InlineData("1000000000S", "0")]
    [InlineData("abc", "0")]
    [InlineData("-5m", "0")]
    [InlineData("99999999n", "0")]
    public async Task Absurd_timeouts_are_clamped_or_ignored(string timeout, string expected)
    {
        (int http, string? status, string? message) = await _coordinator.RawAsync(StatusPath, TestCoordinator.Frame([]),
            headers: new Dictionary<string, string> { ["grpc-timeout"] = timeout });
        Assert.Equal(200, http);
        Assert.True(expected == status, $"grpc-timeout {timeout}: {status} ({message})");
    }

    [Fact]
    public async Task An_unsigned_call_is_refused_before_its_body_is_read()
    {
        // The prefix announces 16 MiB that never come: a server that read the body would wait or say RESOURCE_EXHAUSTED.
        (_, string? status, string? message) = await _coordinator.RawAsync(EnrolPath, Convert.FromHexString("0001000000AABB"));
        Assert.Equal("16", status);
        Assert.Equal("Missing or malformed request signature headers.", message);
    }

    [Fact]
    public async Task Unknown_id_and_bad_signature_get_the_same_permission_denied_before_the_body()
    {
        byte[] payload = new EnrolRequest().ToByteArray();
        var unknown = Signed(_stranger, EnrolPath, payload);
        var forged = Signed(_stranger, EnrolPath, payload);
        forged[RequestSignature.ClientIdHeader] = _enrolled.ClientId;
        (_, string? s1, string? m1) = await _coordinator.RawAsync(EnrolPath, Convert.FromHexString("0001000000"), headers: unknown);
        (_, string? s2, string? m2) = await _coordinator.RawAsync(EnrolPath, Convert.FromHexString("0001000000"), headers: forged);
        Assert.Equal(("7", "Permission denied."), (s1, m1));
        Assert.Equal((s1, m1), (s2, m2));
    }

    [Fact]
    public async Task A_body_other_than_the_signed_one_is_unauthenticated()
    {
        byte[] signedPayload = new EnrolRequest { DisplayName = "a" }.ToByteArray();
        byte[] sentPayload = new EnrolRequest { DisplayName = "b" }.ToByteArray();
        (_, string? status, string? message) = await _coordinator.RawAsync(EnrolPath, TestCoordinator.Frame(sentPayload), headers: Signed(_enrolled, EnrolPath, signedPayload));
        Assert.Equal("16", status);
        Assert.Equal("The request body does not match its signed hash.", message);
    }

    [Fact]
    public async Task A_replayed_request_is_refused()
    {
        byte[] payload = new EnrolRequest { IdentityPublicKey = ByteString.CopyFrom(_enrolled.PublicKey) }.ToByteArray();
        var headers = Signed(_enrolled, EnrolPath, payload);
        (_, string? first, _) = await _coordinator.RawAsync(EnrolPath, TestCoordinator.Frame(payload), headers: headers);
        (_, string? second, string? message) = await _coordinator.RawAsync(EnrolPath, TestCoordinator.Frame(payload), headers: headers);
        Assert.Equal("0", first);
        Assert.Equal(("16", "Replayed request."), (second, message));
    }

    [Fact]
    public async Task A_signed_small_method_refuses_more_than_64_KiB_but_the_service_limit_is_larger()
    {
        byte[] payload = new EnrolRequest { DisplayName = new string('x', 70 * 1024) }.ToByteArray();
        (_, string? status, _) = await _coordinator.RawAsync(EnrolPath, TestCoordinator.Frame(payload), headers: Signed(_enrolled, EnrolPath, payload));
        Assert.Equal("8", status);
    }

    [Fact]
    public async Task Malformed_protobuf_in_a_signed_call_is_internal()
    {
        byte[] payload = [0x0f, 0xff, 0xff];
        (_, string? status, _) = await _coordinator.RawAsync(JoinPath, TestCoordinator.Frame(payload), headers: Signed(_enrolled, JoinPath, payload));
        Assert.Equal("13", status);
    }

    [Fact]
    public async Task The_signing_interceptor_enrols_and_the_round_transport_speaks_the_round_api()
    {
        using CoordinatorChannel channel = Channel(_enrolled);
        var transport = new GrpcRoundTransport(channel);
        RpcException notEnrolled = await Assert.ThrowsAsync<RpcException>(() => transport.JoinAsync(CancellationToken.None));
        Assert.Equal(StatusCode.FailedPrecondition, notEnrolled.StatusCode);

        EnrolResponse enrolled = await channel.Enrolment.EnrolAsync(new EnrolRequest { IdentityPublicKey = ByteString.CopyFrom(_enrolled.PublicKey) });
        Assert.Equal(_enrolled.ClientId, enrolled.ClientId);

        JoinReply join = await transport.JoinAsync(CancellationToken.None);
        Assert.Equal(JoinOutcome.Wait, join.Outcome);
        Assert.True(join.RetryAfter > TimeSpan.Zero);

        FetchReply fetch = await transport.FetchAsync(99, Phase.AdvertiseKeys, CancellationToken.None);
        Assert.Equal((FetchOutcome.Refused, RoundRefusal.UnknownRound), (fetch.Outcome, fetch.Refusal));
        SubmitReply submit = await transport.SubmitAsync(99, Phase.AdvertiseKeys, new ClientToServer(), CancellationToken.None);
        Assert.Equal((SubmitOutcome.Refused, RoundRefusal.UnknownRound), (submit.Outcome, submit.Refusal));

        ModelRelease model = await transport.GetModelAsync(0, CancellationToken.None);
        Assert.Equal((1UL, 0UL, 4), (model.Version, model.RoundId, model.Values.Length));
        RpcException missing = await Assert.ThrowsAsync<RpcException>(() => transport.GetModelAsync(7, CancellationToken.None));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        RpcException garbage = await Assert.ThrowsAsync<RpcException>(async () => await channel.Rounds.SubmitPhaseAsync(
            new SubmitPhaseRequest { RoundId = 1, Phase = Phase.AdvertiseKeys, Payload = ByteString.CopyFrom(0x0f, 0xff) }));
        Assert.Equal(StatusCode.InvalidArgument, garbage.StatusCode);
    }

    [Fact]
    public async Task Health_is_serving_and_unknown_services_are_not_found()
    {
        using CoordinatorChannel channel = Channel();
        using var grpc = Grpc.Net.Client.GrpcChannel.ForAddress(_coordinator.Address);
        var health = new Health.HealthClient(grpc);
        HealthCheckResponse overall = await health.CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
        RpcException unknown = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Reset_streams_do_not_flood_the_log_with_stack_traces()
    {
        using var grpc = Grpc.Net.Client.GrpcChannel.ForAddress(_coordinator.Address);
        var client = new CoordinatorStatus.CoordinatorStatusClient(grpc);
        for (int i = 0; i < 20; i++)
        {
            using var cts = new CancellationTokenSource();
            AsyncUnaryCall<GetStatusResponse> call = client.GetStatusAsync(new GetStatusRequest(), cancellationToken: cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<Exception>(() => call.ResponseAsync);
            call.Dispose();
        }

        // A raw stream reset mid-body: send a prefix announcing more bytes than arrive, then abort the request.
        using (var http = new HttpClient())
        {
            // Every other request resets before its 5-byte prefix arrived (the middleware's peek), the rest after it
            // (grpc-dotnet's read of the message).
            for (int i = 0; i < 10; i++)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_coordinator.Address, StatusPath.TrimStart('/')))
                {
                    Version = System.Net.HttpVersion.Version20,
                    VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                    Content = new StreamContent(new NeverEndingStream(sendPrefix: i % 2 == 1)),
                };
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
                await Assert.ThrowsAnyAsync<Exception>(() => http.SendAsync(request, cts.Token));
            }
        }

        await Task.Delay(300);
        var noisy = _coordinator.Logs.Entries
            .Where(e => e.Exception is not null || (e.Level >= LogLevel.Warning && !e.Category.StartsWith("SecureFedRec", StringComparison.Ordinal)))
            .ToList();
        Assert.True(noisy.Count == 0, string.Join("\n", noisy.Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception?.GetType().Name}: {e.Exception?.Message}")));
    }

    /// <summary>A request body that sends a gRPC prefix promising 1 KiB (or nothing) and then stalls until the request is aborted.</summary>
    private sealed class NeverEndingStream(bool sendPrefix) : Stream
    {
        private bool _sentPrefix = !sendPrefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_sentPrefix)
            {
                _sentPrefix = true;
                byte[] prefix = [0, 0, 0, 4, 0];
                prefix.CopyTo(buffer);
                return prefix.Length;
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
