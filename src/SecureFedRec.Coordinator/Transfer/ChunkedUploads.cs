using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Coordinator.Transfer;

/// <summary>
/// The chunked transfer (<c>protocol-spec/coordinator.md</c> §7): limits of the uploads the coordinator assembles. The
/// coordinator holds at most <see cref="MaxBufferedBytes"/> of partial uploads in all (each upload reserves its whole
/// total length at its first chunk), so its memory for transfers is bounded whatever the clients do.
/// </summary>
public sealed class TransferOptions
{
    /// <summary>Largest upload (the total length of one client message), bytes (default 256 MiB: d = 2^26 words at 32 bits).</summary>
    [Range(TransferFraming.MinChunkBytes, int.MaxValue)]
    public int MaxUploadBytes { get; set; } = 256 * 1024 * 1024;

    /// <summary>Most bytes of partial uploads held at once, all clients together (default 1 GiB); a new upload above it is
    /// refused UNAVAILABLE (<c>transfer-busy</c>, retried by clients).</summary>
    [Range(TransferFraming.MinChunkBytes, int.MaxValue)]
    public int MaxBufferedBytes { get; set; } = 1024 * 1024 * 1024;

    /// <summary>How many chunks beyond the received prefix a chunk may be (out-of-order arrival; default 16).</summary>
    [Range(1, 4096)]
    public int Window { get; set; } = 16;

    /// <summary>An upload untouched this long is forgotten (its buffer freed), seconds (default 300).</summary>
    [Range(1, 86_400)]
    public int IdleSeconds { get; set; } = 300;
}

/// <summary>What <see cref="ChunkedUploads.Put"/> made of a chunk.</summary>
internal enum ChunkOutcomeKind
{
    /// <summary>Held (or held already, identical): more chunks are needed.</summary>
    Progress = 1,

    /// <summary>Every chunk is held: verify <see cref="ChunkOutcome.Upload"/> and submit it.</summary>
    Assembled = 2,

    /// <summary>The round took this upload already: acknowledge again.</summary>
    Complete = 3,

    /// <summary>Refused: <see cref="ChunkOutcome.Transfer"/> or <see cref="ChunkOutcome.Round"/> says why.</summary>
    Refused = 4,
}

/// <summary>The answer to a chunk.</summary>
internal readonly record struct ChunkOutcome(ChunkOutcomeKind Kind, int Received, TransferRefusal Transfer, RoundRefusal Round, string? Detail, PendingUpload? Upload)
{
    public static ChunkOutcome Refuse(TransferRefusal refusal, string detail) => new(ChunkOutcomeKind.Refused, 0, refusal, RoundRefusal.None, detail, null);

    public static ChunkOutcome Refuse(RoundRefusal refusal, string? detail) => new(ChunkOutcomeKind.Refused, 0, TransferRefusal.None, refusal, detail, null);
}

/// <summary>One upload being assembled: its descriptor, its buffer and which chunks it holds. Guarded by the owner's lock.</summary>
internal sealed class PendingUpload
{
    public PendingUpload(ulong roundId, Phase phase, ulong total, uint chunkSize, byte[] digest, DateTimeOffset now)
    {
        (RoundId, Phase, Total, ChunkSize, Digest, Touched) = (roundId, phase, total, chunkSize, digest, now);
        Have = new bool[TransferFraming.ChunkCount(total, chunkSize)];
        Buffer = GC.AllocateUninitializedArray<byte>(checked(Grpc.SubmitPayloads.HeaderBytes + (int)total));
        Buffer.AsSpan(0, Grpc.SubmitPayloads.HeaderBytes).Clear();
    }

    public ulong RoundId { get; }

    public Phase Phase { get; }

    public ulong Total { get; }

    public uint ChunkSize { get; }

    public byte[] Digest { get; }

    /// <summary>
    /// <see cref="Grpc.SubmitPayloads.HeaderBytes"/> of room for the round journal's entry header, then the assembled
    /// bytes (<see cref="Payload"/>); null once complete (freed: the journal entry that took it holds it until written).
    /// </summary>
    public byte[]? Buffer { get; set; }

    /// <summary>The assembled bytes (empty once complete).</summary>
    public ReadOnlyMemory<byte> Payload => Buffer is { } b ? b.AsMemory(Grpc.SubmitPayloads.HeaderBytes) : ReadOnlyMemory<byte>.Empty;

    public bool[] Have { get; }

    public int HaveCount { get; set; }

    /// <summary>Chunks held from 0 without a gap.</summary>
    public int Contiguous { get; set; }

    public bool Complete { get; set; }

    public DateTimeOffset Touched { get; set; }

    public bool Describes(ulong total, uint chunkSize, ReadOnlySpan<byte> digest) =>
        Total == total && ChunkSize == chunkSize && CryptographicOperations.FixedTimeEquals(Digest, digest);
}

/// <summary>
/// The coordinator's partial uploads, keyed by (authenticated caller, round, phase): chunks are written at their offset
/// (idempotently: a chunk held already is compared, identical bytes are acknowledged again), within a window past the
/// received prefix; when every chunk is held the upload is handed back as <see cref="ChunkOutcomeKind.Assembled"/> for the
/// service to verify against its digest and submit to the round as one message. Memory: at most
/// <see cref="TransferOptions.MaxBufferedBytes"/> of buffers in all (reserved whole at an upload's first chunk); a completed
/// upload keeps only its descriptor (to acknowledge re-sent chunks) until it has been idle for
/// <see cref="TransferOptions.IdleSeconds"/>.
/// </summary>
/// <remarks>Thread-safe (one lock; a chunk copy is 1 MiB at most).</remarks>
internal sealed class ChunkedUploads(TransferOptions options, TimeProvider time)
{
    private readonly Dictionary<(string Caller, ulong Round, Phase Phase), PendingUpload> _uploads = [];
    private readonly Lock _gate = new();
    private long _buffered;

    /// <summary>The limits.</summary>
    public TransferOptions Options => options;

    /// <summary>
    /// The digest of each model version's encoding served by GetModelRange, computed once per version (concurrent first requests wait for the one computation; 32 bytes a
    /// version: a version's values never change within this coordinator).
    /// </summary>
    public System.Collections.Concurrent.ConcurrentDictionary<ulong, Lazy<byte[]>> ModelDigests { get; } = new();

    /// <summary>Largest response the coordinator sends (its MaxMessageBytes): bounds a model range.</summary>
    public int MaxResponseBytes { get; init; } = CoordinatorProtocol.DefaultMaxMessageBytes;

    /// <summary>Bytes of partial-upload buffers held now.</summary>
    public long BufferedBytes
    {
        get
        {
            lock (_gate)
            {
                return _buffered;
            }
        }
    }

    /// <summary>
    /// Takes one chunk of <paramref name="caller"/>'s upload. <paramref name="admit"/> is asked only before a new upload is
    /// created (is the round recent and the caller in its cohort?): no buffer is reserved for a round that will refuse it.
    /// </summary>
    public ChunkOutcome Put(string caller, UploadChunkRequest request, Func<(RoundRefusal Refusal, string? Detail)> admit)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(admit);
        if (Describe(request.TotalLength, request.ChunkSize, request.Digest.Span) is { } invalid)
        {
            return invalid;
        }

        long count = TransferFraming.ChunkCount(request.TotalLength, request.ChunkSize);
        if (request.Index >= count)
        {
            return ChunkOutcome.Refuse(TransferRefusal.BeyondTotal, $"Chunk {request.Index} of an upload of {count} chunks.");
        }

        int expected = TransferFraming.ChunkLength(request.TotalLength, request.ChunkSize, request.Index);
        if (request.Data.Length != expected)
        {
            return ChunkOutcome.Refuse(TransferRefusal.ChunkSize, $"Chunk {request.Index} holds {request.Data.Length} bytes, not {expected}.");
        }

        DateTimeOffset now = time.GetUtcNow();
        var key = (caller, request.RoundId, request.Phase);
        lock (_gate)
        {
            if (_uploads.TryGetValue(key, out PendingUpload? upload) && !upload.Describes(request.TotalLength, request.ChunkSize, request.Digest.Span))
            {
                if (upload.Complete)
                {
                    return ChunkOutcome.Refuse(RoundRefusal.ConflictingResubmission, "A different upload completed for this phase.");
                }

                // The client started over with another message (it restarted): the old partial upload is dropped.
                Remove(key, upload);
                upload = null;
            }

            if (upload is null)
            {
                if (request.Index >= options.Window)
                {
                    return ChunkOutcome.Refuse(TransferRefusal.OutOfWindow, $"Chunk {request.Index} of a new upload; the window is {options.Window}.");
                }

                (RoundRefusal refusal, string? detail) = admit();
                if (refusal != RoundRefusal.None)
                {
                    return ChunkOutcome.Refuse(refusal, detail);
                }

                Sweep(now);
                if (_buffered + (long)request.TotalLength > options.MaxBufferedBytes)
                {
                    return ChunkOutcome.Refuse(TransferRefusal.Busy, $"{_buffered} of {options.MaxBufferedBytes} upload bytes are held.");
                }

                upload = new PendingUpload(request.RoundId, request.Phase, request.TotalLength, request.ChunkSize, request.Digest.ToByteArray(), now);
                _uploads[key] = upload;
                _buffered += (long)upload.Total;
            }

            upload.Touched = now;
            if (upload.Complete)
            {
                return new ChunkOutcome(ChunkOutcomeKind.Complete, upload.Have.Length, TransferRefusal.None, RoundRefusal.None, null, upload);
            }

            int index = (int)request.Index;
            if (index >= upload.Contiguous + options.Window)
            {
                return ChunkOutcome.Refuse(TransferRefusal.OutOfWindow, $"Chunk {index}; {upload.Contiguous} are held from 0 and the window is {options.Window}.");
            }

            Span<byte> slot = upload.Buffer.AsSpan(checked(Grpc.SubmitPayloads.HeaderBytes + (index * (int)upload.ChunkSize)), expected);
            if (upload.Have[index])
            {
                if (!slot.SequenceEqual(request.Data.Span))
                {
                    return ChunkOutcome.Refuse(RoundRefusal.ConflictingResubmission, $"Chunk {index} was received with different bytes.");
                }
            }
            else
            {
                request.Data.Span.CopyTo(slot);
                upload.Have[index] = true;
                upload.HaveCount++;
                while (upload.Contiguous < upload.Have.Length && upload.Have[upload.Contiguous])
                {
                    upload.Contiguous++;
                }
            }

            return upload.HaveCount == upload.Have.Length
                ? new ChunkOutcome(ChunkOutcomeKind.Assembled, upload.Contiguous, TransferRefusal.None, RoundRefusal.None, null, upload)
                : new ChunkOutcome(ChunkOutcomeKind.Progress, upload.Contiguous, TransferRefusal.None, RoundRefusal.None, null, upload);
        }
    }

    /// <summary>What is held of an upload (GetUploadStatus); a refusal when the descriptor itself is invalid.</summary>
    public (GetUploadStatusResponse? Status, ChunkOutcome Refusal) Status(string caller, GetUploadStatusRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Describe(request.TotalLength, request.ChunkSize, request.Digest.Span) is { } invalid)
        {
            return (null, invalid);
        }

        var response = new GetUploadStatusResponse { State = GetUploadStatusResponse.Types.State.None, Window = (uint)options.Window };
        lock (_gate)
        {
            if (_uploads.TryGetValue((caller, request.RoundId, request.Phase), out PendingUpload? upload)
                && upload.Describes(request.TotalLength, request.ChunkSize, request.Digest.Span))
            {
                upload.Touched = time.GetUtcNow();
                response.State = upload.Complete ? GetUploadStatusResponse.Types.State.Complete : GetUploadStatusResponse.Types.State.InProgress;
                response.ReceivedChunks = (uint)upload.Contiguous;
            }
        }

        return (response, default);
    }

    /// <summary>The round took <paramref name="upload"/>: free its buffer, keep its descriptor (re-sent chunks are acknowledged).</summary>
    public void MarkComplete(PendingUpload upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        lock (_gate)
        {
            if (!upload.Complete && upload.Buffer is not null)
            {
                upload.Complete = true;
                upload.Buffer = null;
                _buffered -= (long)upload.Total;
            }
        }
    }

    /// <summary>Forgets <paramref name="upload"/> of <paramref name="caller"/> (its digest did not verify, or the round refused it).</summary>
    public void Discard(string caller, PendingUpload upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        lock (_gate)
        {
            var key = (caller, upload.RoundId, upload.Phase);
            if (_uploads.TryGetValue(key, out PendingUpload? held) && ReferenceEquals(held, upload))
            {
                Remove(key, upload);
            }
        }
    }

    private ChunkOutcome? Describe(ulong total, uint chunkSize, ReadOnlySpan<byte> digest)
    {
        if (total == 0 || total > (ulong)options.MaxUploadBytes)
        {
            return ChunkOutcome.Refuse(TransferRefusal.Oversize, $"total_length {total} is not from 1 to {options.MaxUploadBytes} (Coordinator:Transfer:MaxUploadBytes).");
        }

        if (digest.Length != TransferFraming.DigestBytes)
        {
            return ChunkOutcome.Refuse(TransferRefusal.DigestMismatch, $"The digest is {digest.Length} bytes, not {TransferFraming.DigestBytes}.");
        }

        if (!TransferFraming.IsValidChunkSize(chunkSize))
        {
            return ChunkOutcome.Refuse(TransferRefusal.ChunkSize, $"chunk_size {chunkSize} is not a power of two from {TransferFraming.MinChunkBytes} to {TransferFraming.MaxChunkBytes}.");
        }

        return null;
    }

    private void Remove((string, ulong, Phase) key, PendingUpload upload)
    {
        _uploads.Remove(key);
        if (upload.Buffer is not null)
        {
            upload.Buffer = null;
            _buffered -= (long)upload.Total;
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        TimeSpan idle = TimeSpan.FromSeconds(options.IdleSeconds);
        foreach (var (key, upload) in _uploads.Where(kv => now - kv.Value.Touched > idle).ToList())
        {
            Remove(key, upload);
        }
    }
}
