using System.Buffers;
using System.IO.Hashing;
using Google.Protobuf;

namespace SecureFedRec.Protocol.Session;

/// <summary>
/// The fingerprint <see cref="SecAggServerSession"/> keeps per (client, phase) to tell a resubmission of the identical
/// message (a safe retry) from a different one: XxHash128 of the message's protobuf encoding, streamed through a 16 KiB
/// buffer so that a masked input (d words) is neither copied into a second d-sized array nor hashed with SHA-256.
/// </summary>
/// <remarks>
/// Not a security boundary: the sender is transport-authenticated and the fingerprint only decides whether its second
/// message for a phase is reported as <see cref="ServerSessionOutcome.AlreadyAccepted"/> or
/// <see cref="ServerSessionOutcome.Conflicting"/>; in both cases the round keeps the first message and nothing changes,
/// so a (crafted) collision gains the sender nothing. The encoding of a given message is deterministic, so the streamed
/// digest equals the digest of the received bytes (<see cref="Of(ReadOnlySpan{byte})"/>).
/// </remarks>
internal static class MessageDigest
{
    /// <summary>Fingerprint length: 16 bytes.</summary>
    internal const int Length = 16;

    private const int ChunkBytes = 16 * 1024;

    /// <summary>The fingerprint of an encoding as received.</summary>
    internal static byte[] Of(ReadOnlySpan<byte> encoded) => XxHash128.Hash(encoded);

    /// <summary>The fingerprint of <paramref name="message"/>'s encoding, without materialising the encoding.</summary>
    internal static byte[] Of(IMessage message)
    {
        var writer = new HashingWriter();
        try
        {
            message.WriteTo(writer);
            writer.Flush();
            return writer.Hash.GetHashAndReset();
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> that hashes what is written into its pooled chunk, chunk by chunk.</summary>
    private sealed class HashingWriter : IBufferWriter<byte>, IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        private int _written;

        internal XxHash128 Hash { get; } = new();

        public void Advance(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            if (count > _buffer.Length - _written)
            {
                throw new InvalidOperationException("Advanced past the buffer.");
            }

            _written += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Reserve(sizeHint);
            return _buffer.AsMemory(_written);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Reserve(sizeHint);
            return _buffer.AsSpan(_written);
        }

        /// <summary>Hashes what is buffered.</summary>
        internal void Flush()
        {
            Hash.Append(_buffer.AsSpan(0, _written));
            _written = 0;
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }

        private void Reserve(int sizeHint)
        {
            int wanted = Math.Max(sizeHint, 1);
            if (_buffer.Length - _written >= wanted)
            {
                return;
            }

            Flush();
            if (_buffer.Length < wanted)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(wanted);
            }
        }
    }
}
