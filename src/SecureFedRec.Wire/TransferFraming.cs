using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Wire;

/// <summary>
/// Framing of the chunked transfer (<c>protocol-spec/coordinator.md</c> §7): the sizes both ends share and the two digests,
/// an upload's (bound to its round, phase, total length and chunk size; the request signature over every chunk binds it
/// to the caller) and a model download's (bound to the model version and length). A client message larger than
/// <see cref="DefaultChunkBytes"/> travels as <c>Rounds/UploadChunk</c> calls; a smaller one stays one <c>SubmitPhase</c>.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class TransferFraming
{
    /// <summary>Smallest chunk size an upload may declare (64 KiB).</summary>
    public const int MinChunkBytes = 1 << 16;

    /// <summary>Largest chunk size an upload may declare, and the largest model range (1 MiB).</summary>
    public const int MaxChunkBytes = 1 << 20;

    /// <summary>The chunk size clients use, and the size above which a message is chunked (1 MiB).</summary>
    public const int DefaultChunkBytes = MaxChunkBytes;

    /// <summary>Largest <c>UploadChunk</c> request: a chunk and its header fields (the method's size limit).</summary>
    public const int MaxChunkRequestBytes = MaxChunkBytes + 1024;

    /// <summary>Length of both digests (SHA-256).</summary>
    public const int DigestBytes = 32;

    private static readonly byte[] s_uploadLabel = Encoding.ASCII.GetBytes("SecureFedRec/v1\0upload\0");
    private static readonly byte[] s_modelLabel = Encoding.ASCII.GetBytes("SecureFedRec/v1\0model\0");

    /// <summary>True when <paramref name="chunkSize"/> is a power of two in [<see cref="MinChunkBytes"/>, <see cref="MaxChunkBytes"/>].</summary>
    public static bool IsValidChunkSize(uint chunkSize) =>
        chunkSize is >= MinChunkBytes and <= MaxChunkBytes && (chunkSize & (chunkSize - 1)) == 0;

    /// <summary>Number of chunks of an upload: ceil(total / chunk size).</summary>
    public static long ChunkCount(ulong totalLength, uint chunkSize)
    {
        if (chunkSize == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), "The chunk size is zero.");
        }

        return (long)((totalLength + chunkSize - 1) / chunkSize);
    }

    /// <summary>Length of chunk <paramref name="index"/> of an upload (the last one holds the rest).</summary>
    public static int ChunkLength(ulong totalLength, uint chunkSize, long index)
    {
        ulong start = (ulong)index * chunkSize;
        if (index < 0 || start >= totalLength)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "The chunk is beyond the upload.");
        }

        return (int)Math.Min(chunkSize, totalLength - start);
    }

    /// <summary>
    /// The digest of an upload: SHA-256("SecureFedRec/v1" 0x00 "upload" 0x00 ‖ u64be(round) ‖ u32be(phase) ‖
    /// u64be(total length) ‖ u32be(chunk size) ‖ payload), total length = <paramref name="payload"/>'s length.
    /// </summary>
    public static byte[] UploadDigest(ulong roundId, Phase phase, uint chunkSize, ReadOnlySpan<byte> payload)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(header, roundId);
        BinaryPrimitives.WriteUInt32BigEndian(header[8..], (uint)phase);
        BinaryPrimitives.WriteUInt64BigEndian(header[12..], (ulong)payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(header[20..], chunkSize);
        hash.AppendData(s_uploadLabel);
        hash.AppendData(header);
        hash.AppendData(payload);
        return hash.GetHashAndReset();
    }

    /// <summary>
    /// The digest of a model download: SHA-256("SecureFedRec/v1" 0x00 "model" 0x00 ‖ u64be(version) ‖ u64be(total
    /// length) ‖ encoding), the encoding of docs/integrators.md ("Model encoding") written block by block by
    /// <paramref name="write"/> (so that a large model is hashed without being encoded whole).
    /// </summary>
    /// <param name="version">The model version.</param>
    /// <param name="totalLength">Length of the encoding.</param>
    /// <param name="write">Feeds the encoding, in order, to the callback it is given.</param>
    public static byte[] ModelDigest(ulong version, ulong totalLength, Action<Action<ReadOnlySpan<byte>>> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, version);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], totalLength);
        hash.AppendData(s_modelLabel);
        hash.AppendData(header);
        ulong written = 0;
        write(block =>
        {
            hash.AppendData(block);
            written += (ulong)block.Length;
        });
        if (written != totalLength)
        {
            throw new ArgumentException($"The encoding is {written} bytes, not {totalLength}.", nameof(write));
        }

        return hash.GetHashAndReset();
    }

    /// <summary>The digest of a model download over its whole encoding (<see cref="ModelDigest(ulong, ulong, Action{Action{ReadOnlySpan{byte}}})"/>).</summary>
    public static byte[] ModelDigest(ulong version, ReadOnlySpan<byte> encoding)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, version);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], (ulong)encoding.Length);
        hash.AppendData(s_modelLabel);
        hash.AppendData(header);
        hash.AppendData(encoding);
        return hash.GetHashAndReset();
    }

    /// <summary>
    /// Writes bytes [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="destination"/>.Length) of the
    /// model encoding of <paramref name="model"/> (u32be d ‖ d × f64le) into <paramref name="destination"/>, without
    /// encoding the rest.
    /// </summary>
    public static void EncodeModelRange(ReadOnlySpan<double> model, long offset, Span<byte> destination)
    {
        long total = ModelEncodingLength(model.Length);
        if (offset < 0 || offset + destination.Length > total)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "The range is beyond the model encoding.");
        }

        Span<byte> word = stackalloc byte[8];
        int at = 0;
        long position = offset;
        while (at < destination.Length)
        {
            if (position < 4)
            {
                BinaryPrimitives.WriteUInt32BigEndian(word, (uint)model.Length);
                int take = (int)Math.Min(4 - position, destination.Length - at);
                word.Slice((int)position, take).CopyTo(destination[at..]);
                at += take;
                position += take;
                continue;
            }

            long value = (position - 4) / 8;
            int within = (int)((position - 4) % 8);
            if (within == 0 && destination.Length - at >= 8)
            {
                // Whole values: the common case, straight into the destination.
                int whole = (int)Math.Min((destination.Length - at) / 8, model.Length - value);
                for (int i = 0; i < whole; i++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(destination[(at + (8 * i))..], model[(int)value + i]);
                }

                at += 8 * whole;
                position += 8L * whole;
                continue;
            }

            BinaryPrimitives.WriteDoubleLittleEndian(word, model[(int)value]);
            int part = Math.Min(8 - within, destination.Length - at);
            word.Slice(within, part).CopyTo(destination[at..]);
            at += part;
            position += part;
        }
    }

    /// <summary>Length of the model encoding of <paramref name="dimension"/> values: 4 + 8d.</summary>
    public static long ModelEncodingLength(int dimension) => 4 + (8L * dimension);
}

/// <summary>Why the coordinator refused a chunk or range (<see cref="TransferStatus"/>). Closed vocabulary.</summary>
public enum TransferRefusal
{
    /// <summary>Not refused.</summary>
    None = 0,

    /// <summary>The chunk size is not an allowed one, or a chunk's length is not the one its index implies.</summary>
    ChunkSize = 1,

    /// <summary>The chunk index is at or beyond received_chunks + window: query the status and resend from there.</summary>
    OutOfWindow = 2,

    /// <summary>The chunk index (or the model range offset) is at or beyond the end.</summary>
    BeyondTotal = 3,

    /// <summary>The assembled payload does not hash to the upload's digest (the upload is discarded), or a digest is not 32 bytes.</summary>
    DigestMismatch = 4,

    /// <summary>The total length is not above one chunk, or above the coordinator's Transfer:MaxUploadBytes.</summary>
    Oversize = 5,

    /// <summary>The coordinator holds as many upload bytes as Transfer:MaxBufferedBytes allows: retry later (transient).</summary>
    Busy = 6,
}

/// <summary>
/// The one mapping between transfer refusals (<see cref="TransferRefusal"/>) and gRPC, with the same <c>x-sfr-refusal</c>
/// trailer as <see cref="RoundStatus"/> (whose refusals — unknown round, not in cohort, dropped, phase closed,
/// conflicting resubmission — a transfer also meets). Immutable; thread-safe.
/// </summary>
public static class TransferStatus
{
    private static readonly Dictionary<TransferRefusal, (StatusCode Code, string Name, string Message)> s_table = new()
    {
        [TransferRefusal.ChunkSize] = (StatusCode.InvalidArgument, "chunk-size", "The chunk size or length is wrong."),
        [TransferRefusal.OutOfWindow] = (StatusCode.OutOfRange, "chunk-out-of-window", "The chunk is beyond the coordinator's window."),
        [TransferRefusal.BeyondTotal] = (StatusCode.OutOfRange, "beyond-total", "The chunk or range is beyond the end."),
        [TransferRefusal.DigestMismatch] = (StatusCode.InvalidArgument, "digest-mismatch", "The payload does not match its digest."),
        [TransferRefusal.Oversize] = (StatusCode.ResourceExhausted, "oversize", "The upload's total length is not allowed."),
        [TransferRefusal.Busy] = (StatusCode.Unavailable, "transfer-busy", "The coordinator's upload buffers are full; retry later."),
    };

    private static readonly Dictionary<string, TransferRefusal> s_byName =
        s_table.ToDictionary(kv => kv.Value.Name, kv => kv.Key, StringComparer.Ordinal);

    /// <summary>The status code of a refusal.</summary>
    public static StatusCode CodeOf(TransferRefusal refusal) => Entry(refusal).Code;

    /// <summary>The trailer name of a refusal.</summary>
    public static string NameOf(TransferRefusal refusal) => Entry(refusal).Name;

    /// <summary>The exception that ends a refused call: the table's status and message, <paramref name="detail"/>, the trailer.</summary>
    public static RpcException ToException(TransferRefusal refusal, string? detail = null)
    {
        (StatusCode code, string name, string message) = Entry(refusal);
        var trailers = new Metadata { { CoordinatorProtocol.RefusalTrailer, name } };
        return new RpcException(new Status(code, string.IsNullOrEmpty(detail) ? message : message + " " + detail), trailers);
    }

    /// <summary>The transfer refusal a failed call carries, when its trailer names one with the table's status code.</summary>
    public static bool TryParse(RpcException exception, out TransferRefusal refusal)
    {
        ArgumentNullException.ThrowIfNull(exception);
        refusal = TransferRefusal.None;
        string? name = exception.Trailers.GetValue(CoordinatorProtocol.RefusalTrailer);
        if (name is null || !s_byName.TryGetValue(name, out TransferRefusal found) || s_table[found].Code != exception.StatusCode)
        {
            return false;
        }

        refusal = found;
        return true;
    }

    private static (StatusCode Code, string Name, string Message) Entry(TransferRefusal refusal) =>
        s_table.TryGetValue(refusal, out var entry)
            ? entry
            : throw new ArgumentOutOfRangeException(nameof(refusal), refusal, "Not a refusal.");
}
