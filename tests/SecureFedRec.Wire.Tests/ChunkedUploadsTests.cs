using Google.Protobuf;
using SecureFedRec.Coordinator.Transfer;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire.Tests;

/// <summary>
/// The coordinator's upload assembler (coordinator.md §7.3): every refusal rule as its own row, idempotent and
/// out-of-order chunks within the window, restart, completion, the memory bound and expiry.
/// </summary>
public sealed class ChunkedUploadsTests
{
    private const uint Chunk = TransferFraming.MinChunkBytes;
    private const string Caller = "caller-a";
    private static readonly (RoundRefusal, string?) Admitted = (RoundRefusal.None, null);

    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));

    private static byte[] Payload(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

    private ChunkedUploads Uploads(int window = 4, int maxUpload = 1 << 20, int maxBuffered = 1 << 21) =>
        new(new TransferOptions { Window = window, MaxUploadBytes = maxUpload, MaxBufferedBytes = maxBuffered }, _time);

    private static UploadChunkRequest ChunkOf(byte[] payload, long index, uint chunkSize = Chunk, ulong round = 5, byte[]? digest = null) => new()
    {
        RoundId = round,
        Phase = Phase.MaskedInput,
        TotalLength = (ulong)payload.Length,
        ChunkSize = chunkSize,
        Digest = ByteString.CopyFrom(digest ?? TransferFraming.UploadDigest(round, Phase.MaskedInput, chunkSize, payload)),
        Index = (uint)index,
        Data = ByteString.CopyFrom(payload.AsSpan((int)(index * chunkSize), TransferFraming.ChunkLength((ulong)payload.Length, chunkSize, index))),
    };

    public static TheoryData<string, TransferRefusal> TransferRefusals => new()
    {
        { "chunk size not a power of two", TransferRefusal.ChunkSize },
        { "chunk size below 64 KiB", TransferRefusal.ChunkSize },
        { "chunk size above 1 MiB", TransferRefusal.ChunkSize },
        { "a middle chunk one byte short", TransferRefusal.ChunkSize },
        { "the last chunk one byte long", TransferRefusal.ChunkSize },
        { "chunk index at the chunk count", TransferRefusal.BeyondTotal },
        { "chunk index far beyond the total", TransferRefusal.BeyondTotal },
        { "a new upload starting beyond the window", TransferRefusal.OutOfWindow },
        { "an upload in progress, chunk beyond received + window", TransferRefusal.OutOfWindow },
        { "digest of 31 bytes", TransferRefusal.DigestMismatch },
        { "empty digest", TransferRefusal.DigestMismatch },
        { "total length zero", TransferRefusal.Oversize },
        { "total length above MaxUploadBytes", TransferRefusal.Oversize },
        { "buffers full (MaxBufferedBytes)", TransferRefusal.Busy },
    };

    [Theory]
    [MemberData(nameof(TransferRefusals))]
    public void A_bad_chunk_is_refused_with_its_transfer_refusal_and_changes_nothing(string name, TransferRefusal expected)
    {
        ChunkedUploads uploads = Uploads(window: 2, maxUpload: 1 << 20, maxBuffered: 6 * (int)Chunk);
        byte[] payload = Payload((5 * (int)Chunk) + 100); // 6 chunks, the last of 100 bytes
        UploadChunkRequest request = ChunkOf(payload, 0);
        switch (name)
        {
            case "chunk size not a power of two": request.ChunkSize = Chunk + 1; break;
            case "chunk size below 64 KiB": request.ChunkSize = Chunk / 2; break;
            case "chunk size above 1 MiB": request.ChunkSize = 2 * TransferFraming.MaxChunkBytes; break;
            case "a middle chunk one byte short": request = ChunkOf(payload, 1); request.Data = ByteString.CopyFrom(request.Data.Span[..^1]); break;
            case "the last chunk one byte long": request = ChunkOf(payload, 5); request.Data = ByteString.CopyFrom([.. request.Data.Span, (byte)0]); break;
            case "chunk index at the chunk count": request.Index = 6; break;
            case "chunk index far beyond the total": request.Index = uint.MaxValue; break;
            case "a new upload starting beyond the window": request = ChunkOf(payload, 2); break;
            case "an upload in progress, chunk beyond received + window":
                Assert.Equal(ChunkOutcomeKind.Progress, uploads.Put(Caller, ChunkOf(payload, 0), () => Admitted).Kind);
                request = ChunkOf(payload, 3);
                break;
            case "digest of 31 bytes": request.Digest = ByteString.CopyFrom(request.Digest.Span[..31]); break;
            case "empty digest": request.Digest = ByteString.Empty; break;
            case "total length zero": request.TotalLength = 0; break;
            case "total length above MaxUploadBytes": request.TotalLength = (1 << 20) + 1; break;
            case "buffers full (MaxBufferedBytes)":
                Assert.Equal(ChunkOutcomeKind.Progress, uploads.Put("caller-b", ChunkOf(payload, 0), () => Admitted).Kind);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }

        long before = uploads.BufferedBytes;
        ChunkOutcome outcome = uploads.Put(Caller, request, () => Admitted);
        Assert.Equal((ChunkOutcomeKind.Refused, expected, RoundRefusal.None), (outcome.Kind, outcome.Transfer, outcome.Round));
        Assert.False(string.IsNullOrEmpty(outcome.Detail));
        Assert.Equal(before, uploads.BufferedBytes);
    }

    public static TheoryData<string, RoundRefusal> RoundRefusals => new()
    {
        { "unknown round", RoundRefusal.UnknownRound },
        { "not in the cohort", RoundRefusal.NotInCohort },
        { "dropped", RoundRefusal.Dropped },
        { "a held chunk re-sent with other bytes", RoundRefusal.ConflictingResubmission },
        { "another upload after one completed", RoundRefusal.ConflictingResubmission },
    };

    [Theory]
    [MemberData(nameof(RoundRefusals))]
    public void A_chunk_the_round_refuses_gets_the_round_refusal(string name, RoundRefusal expected)
    {
        ChunkedUploads uploads = Uploads();
        byte[] payload = Payload(3 * (int)Chunk);
        UploadChunkRequest request = ChunkOf(payload, 0);
        (RoundRefusal, string?) admit = Admitted;
        switch (name)
        {
            case "unknown round": admit = (RoundRefusal.UnknownRound, null); break;
            case "not in the cohort": admit = (RoundRefusal.NotInCohort, null); break;
            case "dropped": admit = (RoundRefusal.Dropped, "Timeout"); break;
            case "a held chunk re-sent with other bytes":
                uploads.Put(Caller, request, () => Admitted);
                request = ChunkOf(payload, 0);
                request.Data = ByteString.CopyFrom(new byte[Chunk]);
                break;
            case "another upload after one completed":
                for (int i = 0; i < 3; i++)
                {
                    ChunkOutcome o = uploads.Put(Caller, ChunkOf(payload, i), () => Admitted);
                    if (o.Kind == ChunkOutcomeKind.Assembled)
                    {
                        uploads.MarkComplete(o.Upload!);
                    }
                }

                byte[] other = Payload(3 * (int)Chunk);
                other[0] ^= 1;
                request = ChunkOf(other, 0);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }

        ChunkOutcome outcome = uploads.Put(Caller, request, () => admit);
        Assert.Equal((ChunkOutcomeKind.Refused, TransferRefusal.None, expected), (outcome.Kind, outcome.Transfer, outcome.Round));
    }

    [Fact]
    public void Chunks_out_of_order_within_the_window_and_repeated_assemble_the_payload_once()
    {
        ChunkedUploads uploads = Uploads(window: 4);
        byte[] payload = Payload((3 * (int)Chunk) + 17);
        Assert.Equal((ChunkOutcomeKind.Progress, 0), Kind(uploads.Put(Caller, ChunkOf(payload, 2), () => Admitted)));
        Assert.Equal((ChunkOutcomeKind.Progress, 0), Kind(uploads.Put(Caller, ChunkOf(payload, 3), () => Admitted)));
        Assert.Equal((ChunkOutcomeKind.Progress, 1), Kind(uploads.Put(Caller, ChunkOf(payload, 0), () => Admitted)));
        Assert.Equal((ChunkOutcomeKind.Progress, 1), Kind(uploads.Put(Caller, ChunkOf(payload, 0), () => Admitted)));
        Assert.Equal(payload.Length, uploads.BufferedBytes);

        ChunkOutcome done = uploads.Put(Caller, ChunkOf(payload, 1), () => Admitted);
        Assert.Equal((ChunkOutcomeKind.Assembled, 4), Kind(done));
        Assert.Equal(payload, done.Upload!.Payload.ToArray());

        // A retry of the last chunk before the round took it (a store failure) is assembled again.
        Assert.Equal(ChunkOutcomeKind.Assembled, uploads.Put(Caller, ChunkOf(payload, 3), () => Admitted).Kind);
        uploads.MarkComplete(done.Upload);
        Assert.Equal(0, uploads.BufferedBytes);
        Assert.Equal(ChunkOutcomeKind.Complete, uploads.Put(Caller, ChunkOf(payload, 0), () => Admitted).Kind);
    }

    [Fact]
    public void Status_reports_the_received_prefix_and_a_restart_with_another_digest_replaces_the_upload()
    {
        ChunkedUploads uploads = Uploads(window: 4);
        byte[] payload = Payload(4 * (int)Chunk);
        var query = new GetUploadStatusRequest { RoundId = 5, Phase = Phase.MaskedInput, TotalLength = (ulong)payload.Length, ChunkSize = Chunk, Digest = ChunkOf(payload, 0).Digest };
        Assert.Equal(GetUploadStatusResponse.Types.State.None, uploads.Status(Caller, query).Status!.State);

        uploads.Put(Caller, ChunkOf(payload, 0), () => Admitted);
        uploads.Put(Caller, ChunkOf(payload, 1), () => Admitted);
        uploads.Put(Caller, ChunkOf(payload, 3), () => Admitted);
        GetUploadStatusResponse status = uploads.Status(Caller, query).Status!;
        Assert.Equal((GetUploadStatusResponse.Types.State.InProgress, 2u, 4u), (status.State, status.ReceivedChunks, status.Window));

        // Another caller's view of the same descriptor is its own (uploads are keyed by the authenticated caller).
        Assert.Equal(GetUploadStatusResponse.Types.State.None, uploads.Status("caller-b", query).Status!.State);

        byte[] other = Payload(4 * (int)Chunk);
        other[^1] ^= 0xff;
        Assert.Equal((ChunkOutcomeKind.Progress, 1), Kind(uploads.Put(Caller, ChunkOf(other, 0), () => Admitted)));
        Assert.Equal(GetUploadStatusResponse.Types.State.None, uploads.Status(Caller, query).Status!.State);
        Assert.Equal(other.Length, uploads.BufferedBytes);
    }

    [Fact]
    public void An_idle_upload_is_forgotten_when_room_is_needed()
    {
        ChunkedUploads uploads = Uploads(window: 4, maxBuffered: 4 * (int)Chunk);
        byte[] payload = Payload(4 * (int)Chunk);
        uploads.Put("caller-b", ChunkOf(payload, 0), () => Admitted);
        Assert.Equal(TransferRefusal.Busy, uploads.Put(Caller, ChunkOf(payload, 0), () => Admitted).Transfer);

        _time.Advance(TimeSpan.FromSeconds(uploads.Options.IdleSeconds + 1));
        Assert.Equal(ChunkOutcomeKind.Progress, uploads.Put(Caller, ChunkOf(payload, 0), () => Admitted).Kind);
        Assert.Equal(payload.Length, uploads.BufferedBytes);
    }

    [Fact]
    public void No_buffer_is_reserved_for_a_round_that_refuses()
    {
        ChunkedUploads uploads = Uploads();
        int asked = 0;
        ChunkOutcome outcome = uploads.Put(Caller, ChunkOf(Payload(2 * (int)Chunk), 0), () =>
        {
            asked++;
            return (RoundRefusal.UnknownRound, null);
        });
        Assert.Equal((1, RoundRefusal.UnknownRound, 0L), (asked, outcome.Round, uploads.BufferedBytes));
    }

    private static (ChunkOutcomeKind, int) Kind(ChunkOutcome outcome) => (outcome.Kind, outcome.Received);
}
