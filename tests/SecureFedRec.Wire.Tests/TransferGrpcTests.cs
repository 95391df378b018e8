using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using SecureFedRec.Coordinator;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire.Tests;

/// <summary>
/// The chunked transfer end to end on a real Kestrel coordinator over loopback (coordinator.md §7): a large message
/// travels as chunks and reaches the round byte for byte, an interrupted upload resumes from what the coordinator holds,
/// a store failure at the last chunk is retried, every refusal has its status and trailer, and a model larger than one
/// message downloads by range against its digest. Round 42 is an open round of a stand-in round service (so the
/// transfer is tested without a cohort); other rounds go to the real round host.
/// </summary>
public sealed class TransferGrpcTests : IAsyncLifetime
{
    private const ulong Open = 42;
    private const ulong BigModel = 9;
    private const string ChunkPath = "/securefedrec.coordinator.v1.Rounds/UploadChunk";
    private readonly ClientIdentity _client = ClientIdentity.Generate();
    private readonly OpenRound _round = new();
    private string _dir = null!;
    private CoordinatorHost _host = null!;

    public async Task InitializeAsync()
    {
        _dir = System.IO.Directory.CreateTempSubdirectory("sfr-transfer-").FullName;
        var options = new CoordinatorOptions
        {
            ListenAddress = "127.0.0.1",
            Port = 0,
            InsecureDev = true,
            Store = Path.Combine(_dir, "coordinator.db"),
        };
        options.AllowList.Add(Convert.ToHexString(_client.PublicKey));
        options.Rounds.CohortSize = 3;
        options.Rounds.MinClients = 3;
        options.Rounds.Dimension = 4;
        options.Rounds.RecruitSeconds = 60;
        options.Transfer.Window = 4;
        options.Transfer.MaxUploadBytes = 8 * 1024 * 1024;
        _host = await CoordinatorHost.StartAsync(options, storeDecorator: null, roundServiceDecorator: inner => _round.Over(inner));
        using CoordinatorChannel channel = Channel();
        await channel.Enrolment.EnrolAsync(new EnrolRequest { IdentityPublicKey = ByteString.CopyFrom(_client.PublicKey) });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _client.Dispose();
        try
        {
            System.IO.Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    private CoordinatorChannel Channel(int attempts = 1) =>
        new(_host.Address, new CoordinatorChannelOptions { Authenticator = _client, MaxAttempts = attempts, InitialBackoff = TimeSpan.FromMilliseconds(10) });

    /// <summary>A masked input of <paramref name="words"/> words (4 bytes each), deterministic per <paramref name="seed"/>.</summary>
    private static ClientToServer MaskedInput(int words, byte seed = 1)
    {
        byte[] vector = new byte[4 * words];
        for (int i = 0; i < vector.Length; i++)
        {
            vector[i] = (byte)((i * 31) + seed);
        }

        return new ClientToServer { MaskedInput = new MaskedInput { RoundNumber = Open, ClientId = 1, MaskedVector = ByteString.CopyFrom(vector) } };
    }

    private static UploadChunkRequest Chunk(byte[] payload, long index, uint chunkSize = TransferFraming.DefaultChunkBytes, ulong round = Open, byte[]? digest = null) => new()
    {
        RoundId = round,
        Phase = Phase.MaskedInput,
        TotalLength = (ulong)payload.Length,
        ChunkSize = chunkSize,
        Digest = ByteString.CopyFrom(digest ?? TransferFraming.UploadDigest(round, Phase.MaskedInput, chunkSize, payload)),
        Index = (uint)index,
        Data = ByteString.CopyFrom(payload.AsSpan((int)(index * chunkSize), TransferFraming.ChunkLength((ulong)payload.Length, chunkSize, index))),
    };

    [Fact]
    public async Task A_message_larger_than_a_chunk_travels_as_chunks_and_reaches_the_round_byte_for_byte()
    {
        using CoordinatorChannel channel = Channel();
        var transport = new GrpcRoundTransport(channel);
        ClientToServer message = MaskedInput(700_000); // 2.8 MB: 3 chunks of 1 MiB
        SubmitReply reply = await transport.SubmitAsync(Open, Phase.MaskedInput, message, CancellationToken.None);

        Assert.Equal(SubmitOutcome.Accepted, reply.Outcome);
        Assert.Equal(_round.Deadline, reply.Deadline);
        Assert.Equal(3, transport.ChunkRequests);
        Assert.Equal(message, Assert.Single(_round.Taken).Message);

        // The same message again (a retry after a lost acknowledgement) is acknowledged without resending its chunks.
        SubmitReply again = await transport.SubmitAsync(Open, Phase.MaskedInput, message, CancellationToken.None);
        Assert.Equal(SubmitOutcome.Accepted, again.Outcome);
        Assert.Equal(4, transport.ChunkRequests);
    }

    [Fact]
    public async Task A_small_message_stays_one_SubmitPhase()
    {
        using CoordinatorChannel channel = Channel();
        var transport = new GrpcRoundTransport(channel);
        SubmitReply reply = await transport.SubmitAsync(Open, Phase.MaskedInput, MaskedInput(1000), CancellationToken.None);
        Assert.Equal((SubmitOutcome.Accepted, 0), (reply.Outcome, transport.ChunkRequests));
        Assert.Single(_round.Taken);
    }

    [Fact]
    public async Task An_interrupted_upload_resumes_from_the_chunks_the_coordinator_holds()
    {
        using CoordinatorChannel channel = Channel();
        ClientToServer message = MaskedInput(1_100_000); // 4.4 MB: 5 chunks
        byte[] payload = message.ToByteArray();
        for (int i = 0; i < 3; i++)
        {
            UploadChunkResponse partial = await channel.Rounds.UploadChunkAsync(Chunk(payload, i));
            Assert.Equal(((uint)i + 1, false, 4u), (partial.ReceivedChunks, partial.Complete, partial.Window));
        }

        var transport = new GrpcRoundTransport(channel);
        SubmitReply reply = await transport.SubmitAsync(Open, Phase.MaskedInput, message, CancellationToken.None);
        Assert.Equal(SubmitOutcome.Accepted, reply.Outcome);
        Assert.Equal(2, transport.ChunkRequests);
        Assert.Equal(message, Assert.Single(_round.Taken).Message);
    }

    [Fact]
    public async Task A_store_failure_at_the_last_chunk_is_retried_and_the_upload_completes()
    {
        using CoordinatorChannel channel = Channel(attempts: 5);
        var transport = new GrpcRoundTransport(channel);
        _round.FailNextSubmits = 1;
        ClientToServer message = MaskedInput(300_000);
        SubmitReply reply = await transport.SubmitAsync(Open, Phase.MaskedInput, message, CancellationToken.None);
        Assert.Equal(SubmitOutcome.Accepted, reply.Outcome);
        Assert.Equal(2, _round.Attempts);
        Assert.Equal(message, Assert.Single(_round.Taken).Message);
    }

    [Fact]
    public async Task A_payload_that_does_not_hash_to_its_digest_is_refused_and_discarded()
    {
        using CoordinatorChannel channel = Channel();
        byte[] payload = MaskedInput(300_000).ToByteArray();
        byte[] other = MaskedInput(300_000, seed: 2).ToByteArray();
        byte[] lie = TransferFraming.UploadDigest(Open, Phase.MaskedInput, TransferFraming.DefaultChunkBytes, other);
        await channel.Rounds.UploadChunkAsync(Chunk(payload, 0, digest: lie));
        RpcException refused = await Assert.ThrowsAsync<RpcException>(async () => await channel.Rounds.UploadChunkAsync(Chunk(payload, 1, digest: lie)));
        Assert.True(TransferStatus.TryParse(refused, out TransferRefusal refusal));
        Assert.Equal((TransferRefusal.DigestMismatch, StatusCode.InvalidArgument), (refusal, refused.StatusCode));
        Assert.Empty(_round.Taken);

        GetUploadStatusResponse status = await channel.Rounds.GetUploadStatusAsync(new GetUploadStatusRequest
        {
            RoundId = Open,
            Phase = Phase.MaskedInput,
            TotalLength = (ulong)payload.Length,
            ChunkSize = TransferFraming.DefaultChunkBytes,
            Digest = ByteString.CopyFrom(lie),
        });
        Assert.Equal(GetUploadStatusResponse.Types.State.None, status.State);
    }

    public static TheoryData<string, StatusCode, string> Refusals => new()
    {
        { "wrong chunk size", StatusCode.InvalidArgument, "chunk-size" },
        { "chunk shorter than the chunk size", StatusCode.InvalidArgument, "chunk-size" },
        { "out of order beyond the window", StatusCode.OutOfRange, "chunk-out-of-window" },
        { "chunk beyond the total", StatusCode.OutOfRange, "beyond-total" },
        { "digest not 32 bytes", StatusCode.InvalidArgument, "digest-mismatch" },
        { "total above MaxUploadBytes", StatusCode.ResourceExhausted, "oversize" },
        { "unknown round", StatusCode.NotFound, "unknown-round" },
        { "status of an unknown round", StatusCode.NotFound, "unknown-round" },
        { "model range beyond the end", StatusCode.OutOfRange, "beyond-total" },
        { "model range above 1 MiB", StatusCode.InvalidArgument, "chunk-size" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Each_refusal_has_its_status_and_trailer(string name, StatusCode code, string trailer)
    {
        using CoordinatorChannel channel = Channel();
        byte[] payload = MaskedInput(300_000).ToByteArray();
        UploadChunkRequest chunk = Chunk(payload, 0);
        Func<Task> call = async () => await channel.Rounds.UploadChunkAsync(chunk);
        switch (name)
        {
            case "wrong chunk size": chunk.ChunkSize = 1000; break;
            case "chunk shorter than the chunk size": chunk.Data = ByteString.CopyFrom(chunk.Data.Span[1..]); break;
            case "out of order beyond the window": chunk = Chunk(MaskedInput(2_000_000).ToByteArray(), 4); break;
            case "chunk beyond the total": chunk.Index = 2; break;
            case "digest not 32 bytes": chunk.Digest = ByteString.CopyFrom(chunk.Digest.Span[..16]); break;
            case "total above MaxUploadBytes": chunk.TotalLength = (8 * 1024 * 1024) + 1; break;
            case "unknown round": chunk = Chunk(payload, 0, round: 99); break;
            case "status of an unknown round":
                call = async () => await channel.Rounds.GetUploadStatusAsync(new GetUploadStatusRequest
                {
                    RoundId = 99,
                    Phase = Phase.MaskedInput,
                    TotalLength = (ulong)payload.Length,
                    ChunkSize = TransferFraming.DefaultChunkBytes,
                    Digest = chunk.Digest,
                });
                break;
            case "model range beyond the end": call = async () => await channel.Rounds.GetModelRangeAsync(new GetModelRangeRequest { Version = 1, Offset = 36 }); break;
            case "model range above 1 MiB": call = async () => await channel.Rounds.GetModelRangeAsync(new GetModelRangeRequest { Version = 1, Length = (1 << 20) + 1 }); break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }

        RpcException refused = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal((code, trailer), (refused.StatusCode, refused.Trailers.GetValue(CoordinatorProtocol.RefusalTrailer)));
        Assert.Empty(_round.Taken);
    }

    [Fact]
    public async Task A_replayed_chunk_request_is_refused_before_its_body_is_read()
    {
        byte[] request = Chunk(MaskedInput(300_000).ToByteArray(), 0).ToByteArray();
        var headers = _client.CreateHeaders(ChunkPath, request).ToDictionary(kv => kv.Key, kv => kv.Value);
        (int _, string? first, _) = await RawAsync(ChunkPath, TestCoordinator.Frame(request), headers);
        (int _, string? replay, string? message) = await RawAsync(ChunkPath, TestCoordinator.Frame(request), headers);
        Assert.Equal(("0", "16", "Replayed request."), (first, replay, message));
    }

    [Fact]
    public async Task A_model_larger_than_a_message_downloads_by_range_and_checks_its_digest()
    {
        using CoordinatorChannel channel = Channel();
        var transport = new GrpcRoundTransport(channel);
        ModelRelease model = await transport.GetModelAsync(BigModel, CancellationToken.None);
        Assert.Equal(_round.Model.Values, model.Values);
        Assert.Equal((BigModel, 8UL, 0.5, 1.5), (model.Version, model.RoundId, model.Epsilon, model.TotalEpsilon));
        Assert.Equal(3, transport.RangeRequests); // 2,400,004 bytes in 1 MiB ranges

        // The small initial model is one range.
        var small = new GrpcRoundTransport(channel);
        Assert.Equal(4, (await small.GetModelAsync(0, CancellationToken.None)).Values.Length);
        Assert.Equal(1, small.RangeRequests);

        // A range carries the digest of the whole, the same for every range.
        GetModelRangeResponse a = await channel.Rounds.GetModelRangeAsync(new GetModelRangeRequest { Version = BigModel, Offset = 0, Length = 10 });
        GetModelRangeResponse b = await channel.Rounds.GetModelRangeAsync(new GetModelRangeRequest { Version = BigModel, Offset = 2_400_000 });
        Assert.Equal((10, 4), (a.Data.Length, b.Data.Length));
        Assert.Equal(a.Digest, b.Digest);
        Assert.Equal(TransferFraming.ModelDigest(BigModel, RoundCodec.EncodeModel(_round.Model.Values)), a.Digest.ToByteArray());
    }

    private async Task<(int Http, string? Status, string? Message)> RawAsync(string path, byte[] body, Dictionary<string, string> headers)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_host.Address, path.TrimStart('/')))
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach ((string key, string value) in headers)
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        static string? Get(System.Net.Http.Headers.HttpHeaders h, string name) => h.TryGetValues(name, out var v) ? v.First() : null;
        string? message = Get(response.Headers, "grpc-message") ?? Get(response.TrailingHeaders, "grpc-message");
        return ((int)response.StatusCode, Get(response.Headers, "grpc-status") ?? Get(response.TrailingHeaders, "grpc-status"),
            message is null ? null : Uri.UnescapeDataString(message));
    }

    /// <summary>Round 42 open for every caller in every phase (it takes what it is given), and model version 9 of 300,000 values.</summary>
    private sealed class OpenRound
    {
        public ConcurrentQueue<(string Caller, Phase Phase, ClientToServer Message)> Taken { get; } = new();

        public DateTimeOffset Deadline { get; } = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 600_000);

        public ModelRelease Model { get; } = new(BigModel, 8, Enumerable.Range(0, 300_000).Select(i => (i * 0.001) - 7.5).ToArray(), 0.5, 1.5);

        public int FailNextSubmits { get; set; }

        public int Attempts { get; private set; }

        public IRoundService Over(IRoundService inner) => new Service(this, inner);

        private sealed class Service(OpenRound round, IRoundService inner) : IRoundService
        {
            public JoinReply Join(string caller) => inner.Join(caller);

            public SubmitReply Submit(string caller, ulong roundId, Phase phase, ClientToServer message) =>
                roundId != Open ? inner.Submit(caller, roundId, phase, message) : Take(caller, phase, message);

            public Task<SubmitReply> SubmitAsync(string caller, ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
            {
                if (roundId != Open)
                {
                    return inner.SubmitAsync(caller, roundId, phase, message, cancellationToken);
                }

                round.Attempts++;
                if (round.FailNextSubmits > 0)
                {
                    round.FailNextSubmits--;
                    throw new RpcException(new Status(StatusCode.Unavailable, "The store is unavailable (test)."));
                }

                return Task.FromResult(Take(caller, phase, message));
            }

            public FetchReply Fetch(string caller, ulong roundId, Phase phase) => roundId != Open
                ? inner.Fetch(caller, roundId, phase)
                : new FetchReply(FetchOutcome.Ready, new ServerToClient(), DropReason.Unspecified, RoundRefusal.None, round.Deadline, TimeSpan.Zero);

            public Task<ModelRelease?> GetModelAsync(ulong version, CancellationToken cancellationToken) =>
                version == BigModel ? Task.FromResult<ModelRelease?>(round.Model) : inner.GetModelAsync(version, cancellationToken);

            private SubmitReply Take(string caller, Phase phase, ClientToServer message)
            {
                if (!round.Taken.Any(t => t.Caller == caller && t.Phase == phase && t.Message.Equals(message)))
                {
                    round.Taken.Enqueue((caller, phase, message));
                }

                return new SubmitReply(SubmitOutcome.Accepted, RoundRefusal.None, null, round.Deadline);
            }
        }
    }
}
