using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Microsoft.AspNetCore.Routing;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.Server;
using SecureFedRec.Wire.Tls;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire.Tests;

/// <summary>The wire protocol end to end on a real Kestrel over loopback.</summary>
public sealed class KestrelWireTests : IAsyncLifetime
{
    private const int Max = 64 * 1024;
    private static readonly string StatusPath = WireEndpoints.PathOf(CoordinatorApi.GetStatus);
    private static readonly string EnrolPath = WireEndpoints.PathOf(CoordinatorApi.Enrol);
    private LoopbackServer _server = null!;
    private readonly Dictionary<string, byte[]> _allowList = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        var options = new WireServerOptions { MaxReceiveMessageSize = Max, MaxSendMessageSize = Max };
        var auth = new SignedRequestAuthenticator(
            (id, _) => ValueTask.FromResult(_allowList.TryGetValue(id, out byte[]? k) ? k : null),
            new ReplayGuard(TimeProvider.System, TimeSpan.FromSeconds(60)));
        _server = await LoopbackServer.StartAsync(app =>
        {
            app.MapUnary<GetStatusRequest, GetStatusResponse>(CoordinatorApi.GetStatus, StatusHandler, options);
            app.MapUnary<EnrolRequest, EnrolResponse>(CoordinatorApi.Enrol, (request, context) => Task.FromResult(new EnrolResponse
            {
                ClientId = SignedRequestAuthenticator.AuthenticatedClientId(context),
                EnrolledAtUnixMs = request.DisplayName.Length,
            }), options, auth.AuthenticateAsync);
            app.MapUnknownGrpcMethods();
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Behaviour chosen by the model version the test asks for.</summary>
    private static async Task<GetStatusResponse> StatusHandler(GetStatusRequest request, WireCallContext context)
    {
        string mode = context.GetHeader("x-test-mode") ?? "ok";
        switch (mode)
        {
            case "slow":
                await Task.Delay(TimeSpan.FromSeconds(20), context.CancellationToken);
                break;
            case "throw":
                throw new InvalidOperationException("secret detail that must not reach the client");
            case "notfound":
                throw new WireException(GrpcStatusCode.NotFound, "no round 7: ε budget 100%");
            case "huge":
                return new GetStatusResponse { ApiVersion = new string('x', Max + 1) };
        }

        return new GetStatusResponse { ApiVersion = CoordinatorApi.ApiVersion, ServerTimeUnixMs = 1234 };
    }

    private sealed class ModeHeader(string mode) : IRequestAuthenticator
    {
        public IReadOnlyList<KeyValuePair<string, string>> CreateHeaders(string method, ReadOnlySpan<byte> requestBytes) =>
            [new("x-test-mode", mode)];
    }

    [Fact]
    public async Task A_unary_call_round_trips_over_h2c()
    {
        using var channel = new WireChannel(_server.Address);
        var response = await channel.CallAsync<GetStatusRequest, GetStatusResponse>(CoordinatorApi.GetStatus, new GetStatusRequest());
        Assert.Equal(CoordinatorApi.ApiVersion, response.ApiVersion);
        Assert.Equal(1234, response.ServerTimeUnixMs);
    }

    [Theory]
    [InlineData("throw", GrpcStatusCode.Unknown, "Exception was thrown by handler.")]
    [InlineData("notfound", GrpcStatusCode.NotFound, "no round 7: ε budget 100%")]
    [InlineData("huge", GrpcStatusCode.ResourceExhausted, "Response message larger than the maximum message size.")]
    public async Task Handler_outcomes_reach_the_client_as_statuses(string mode, GrpcStatusCode expected, string message)
    {
        using var channel = new WireChannel(_server.Address, new WireChannelOptions { Authenticator = new ModeHeader(mode) });
        var ex = await Assert.ThrowsAsync<WireException>(() =>
            channel.CallAsync<GetStatusRequest, GetStatusResponse>(CoordinatorApi.GetStatus, new GetStatusRequest()));
        Assert.Equal(expected, ex.StatusCode);
        Assert.Equal(message, ex.Detail);
    }

    [Fact]
    public async Task The_server_enforces_grpc_timeout()
    {
        (int http, string? status, _) = await RawAsync(StatusPath, Frame(new GetStatusRequest()),
            headers: new() { ["grpc-timeout"] = "200m", ["x-test-mode"] = "slow" });
        Assert.Equal(200, http);
        Assert.Equal("4", status);
    }

    [Fact]
    public async Task The_client_enforces_its_deadline()
    {
        using var channel = new WireChannel(_server.Address, new WireChannelOptions { Authenticator = new ModeHeader("slow") });
        var ex = await Assert.ThrowsAsync<WireException>(() => channel.CallAsync<GetStatusRequest, GetStatusResponse>(
            CoordinatorApi.GetStatus, new GetStatusRequest(), TimeSpan.FromMilliseconds(200)));
        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.StatusCode);
    }

    public static TheoryData<string, string, string?, string> BadRequests => new()
    {
        // name, hex body, grpc-encoding, expected grpc-status
        { "truncated prefix", "000000", null, "13" },
        { "length mismatch", "0000000010AABB", null, "13" },
        { "trailing data", "0000000000FF", null, "13" },
        { "oversized", "00FFFFFFFF", null, "8" },
        { "compressed, no encoding", "0100000000", null, "13" },
        { "compressed gzip", "0100000000", "gzip", "12" },
        { "not protobuf", "0000000002FFFF", null, "13" },
        { "empty body", "", null, "13" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Malformed_frames_get_the_spec_status(string name, string hex, string? encoding, string expected)
    {
        var headers = new Dictionary<string, string>();
        if (encoding is not null)
        {
            headers["grpc-encoding"] = encoding;
        }

        (int http, string? status, string? message) = await RawAsync(StatusPath, Convert.FromHexString(hex), headers: headers);
        Assert.Equal(200, http);
        Assert.True(expected == status, $"{name}: expected {expected}, got {status} ({message})");
    }

    [Fact]
    public async Task An_oversized_body_is_refused_from_its_prefix()
    {
        byte[] body = new byte[5 + Max + 10];
        body[1] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1), (uint)(Max + 10));
        (_, string? status, _) = await RawAsync(StatusPath, body);
        Assert.Equal("8", status);
    }

    [Fact]
    public async Task A_wrong_content_type_gets_415()
    {
        (int http, string? status, _) = await RawAsync(StatusPath, Frame(new GetStatusRequest()), "application/json");
        Assert.Equal(415, http);
        Assert.Equal("13", status);
    }

    [Fact]
    public async Task An_unknown_method_is_unimplemented()
    {
        (int http, string? status, _) = await RawAsync("/securefedrec.coordinator.v1.Nope/Nothing", Frame(new GetStatusRequest()));
        Assert.Equal(200, http);
        Assert.Equal("12", status);
    }

    [Fact]
    public async Task An_enrolled_client_is_authenticated()
    {
        using var id = ClientIdentity.Generate();
        _allowList[id.ClientId] = id.PublicKey;
        using var channel = new WireChannel(_server.Address, new WireChannelOptions { Authenticator = id });
        var response = await channel.CallAsync<EnrolRequest, EnrolResponse>(CoordinatorApi.Enrol, new EnrolRequest { DisplayName = "bank" });
        Assert.Equal(id.ClientId, response.ClientId);
        Assert.Equal(4, response.EnrolledAtUnixMs);
    }

    [Fact]
    public async Task An_unknown_client_gets_permission_denied_and_nothing_else()
    {
        using var id = ClientIdentity.Generate();
        using var channel = new WireChannel(_server.Address, new WireChannelOptions { Authenticator = id });
        var ex = await Assert.ThrowsAsync<WireException>(() =>
            channel.CallAsync<EnrolRequest, EnrolResponse>(CoordinatorApi.Enrol, new EnrolRequest()));
        Assert.Equal(GrpcStatusCode.PermissionDenied, ex.StatusCode);
        Assert.Equal(SignedRequestAuthenticator.DeniedMessage, ex.Detail);
    }

    [Fact]
    public async Task A_signature_by_another_key_is_denied_with_the_same_message()
    {
        using var id = ClientIdentity.Generate();
        using var impostor = ClientIdentity.Generate();
        _allowList[id.ClientId] = id.PublicKey;
        byte[] payload = new EnrolRequest().ToByteArray();
        var headers = impostor.CreateHeaders(EnrolPath, payload).ToDictionary(kv => kv.Key, kv => kv.Value);
        headers[RequestSignature.ClientIdHeader] = id.ClientId;
        (_, string? status, string? message) = await RawAsync(EnrolPath, Frame(new EnrolRequest()), headers: headers);
        Assert.Equal("7", status);
        Assert.Equal(SignedRequestAuthenticator.DeniedMessage, message);
    }

    [Fact]
    public async Task A_replayed_request_is_refused()
    {
        using var id = ClientIdentity.Generate();
        _allowList[id.ClientId] = id.PublicKey;
        byte[] payload = new EnrolRequest { DisplayName = "x" }.ToByteArray();
        var headers = id.CreateHeaders(EnrolPath, payload).ToDictionary(kv => kv.Key, kv => kv.Value);
        (_, string? first, _) = await RawAsync(EnrolPath, WireFrame(payload), headers: headers);
        (_, string? second, string? message) = await RawAsync(EnrolPath, WireFrame(payload), headers: headers);
        Assert.Equal("0", first);
        Assert.Equal("16", second);
        Assert.Equal("Replayed request.", message);
    }

    [Fact]
    public async Task Missing_signature_headers_are_unauthenticated()
    {
        (_, string? status, _) = await RawAsync(EnrolPath, Frame(new EnrolRequest()));
        Assert.Equal("16", status);
    }

    [Fact]
    public async Task Tls_with_a_pinned_self_signed_certificate_works_and_an_unpinned_one_is_refused()
    {
        using var certificate = DevCertificate.Create(["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        await using var tls = await LoopbackServer.StartAsync(
            app => app.MapUnary<GetStatusRequest, GetStatusResponse>(CoordinatorApi.GetStatus, StatusHandler), certificate);
        using var publicCert = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificate.RawData);
        using (var pinned = new WireChannel(tls.Address, new WireChannelOptions { TrustedServerCertificate = publicCert }))
        {
            var response = await pinned.CallAsync<GetStatusRequest, GetStatusResponse>(CoordinatorApi.GetStatus, new GetStatusRequest());
            Assert.Equal(CoordinatorApi.ApiVersion, response.ApiVersion);
        }

        using var unpinned = new WireChannel(tls.Address);
        var ex = await Assert.ThrowsAsync<WireException>(() =>
            unpinned.CallAsync<GetStatusRequest, GetStatusResponse>(CoordinatorApi.GetStatus, new GetStatusRequest()));
        Assert.Equal(GrpcStatusCode.Unavailable, ex.StatusCode);
    }

    private static byte[] Frame(IMessage message) => WireFrame(message.ToByteArray());

    private static byte[] WireFrame(byte[] payload)
    {
        byte[] frame = new byte[5 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private async Task<(int Http, string? Status, string? Message)> RawAsync(
        string path, byte[] body, string contentType = "application/grpc", Dictionary<string, string>? headers = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_server.Address, path.TrimStart('/')))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach ((string name, string value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        string? Get(HttpHeaders h, string name) => h.TryGetValues(name, out var v) ? v.First() : null;
        string? status = Get(response.Headers, "grpc-status") ?? Get(response.TrailingHeaders, "grpc-status");
        string? message = Get(response.Headers, "grpc-message") ?? Get(response.TrailingHeaders, "grpc-message");
        return ((int)response.StatusCode, status, message is null ? null : Internal.GrpcFraming.DecodeMessage(message));
    }
}
