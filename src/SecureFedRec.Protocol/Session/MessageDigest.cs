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

    /// <summary>
    /// The fingerprint of <paramref name="message"/>'s encoding, without materialising the encoding. Each thread reuses one
    /// hashing writer (its own 16 KiB chunk and XxHash128 state, never a shared pool's buffer): the chunk may have held
    /// revealed shares, so the part written is zeroed after every message.
    /// </summary>
    internal static byte[] Of(IMessage message)
    {
        HashingWriter writer = t_writer ??= new HashingWriter();
        if (writer.InUse)
        {
            writer = new HashingWriter(); // re-entered on this thread (a message whose serialization hashes another)
        }

        writer.InUse = true;
        try
        {
            message.WriteTo(writer);
            writer.Flush();
            return writer.Hash.GetHashAndReset();
        }
        finally
        {
            writer.Wipe();
            writer.Hash.Reset();
            writer.InUse = false;
            if (writer.Grown && ReferenceEquals(writer, t_writer))
            {
                t_writer = null; // do not keep an oversized chunk per thread
            }
        }
    }

    [ThreadStatic]
    private static HashingWriter? t_writer;

    /// <summary>An <see cref="IBufferWriter{T}"/> that hashes what is written into its own chunk, chunk by chunk.</summary>
    private sealed class HashingWriter : IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[ChunkBytes];
        private int _written;
        private int _dirty;

        internal XxHash128 Hash { get; } = new();

        internal bool InUse { get; set; }

        internal bool Grown => _buffer.Length > ChunkBytes;

        public void Advance(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            if (count > _buffer.Length - _written)
            {
                throw new InvalidOperationException("Advanced past the buffer.");
            }

            _written += count;
            _dirty = Math.Max(_dirty, _written);
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

        /// <summary>Zeroes what any message wrote into the chunk and forgets unhashed bytes.</summary>
        internal void Wipe()
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, _dirty));
            _written = 0;
            _dirty = 0;
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
                // A single field larger than the chunk (rare: protobuf writes large fields through GetSpan in pieces).
                Wipe();
                _buffer = new byte[Math.Max(wanted, ChunkBytes)];
            }
        }
    }
}
