using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// A seeded, reproducible random source: FOR TESTS, PUBLISHED TEST VECTORS AND REPRODUCIBLE SIMULATIONS ONLY. Production code
/// uses <see cref="RandomSource.System"/>.
/// </summary>
/// <remarks>
/// <para>Definition (so that other implementations can replay vectors): the byte stream is the AES-256-CTR keystream
/// (FIPS 197, NIST SP 800-38A §6.5) with key = the 32-byte seed and initial counter block = 16 zero bytes, the counter block
/// incremented as one 128-bit big-endian integer. Bytes are consumed strictly in order by every method of
/// <see cref="RandomSource"/>.</para>
/// <para>Not thread-safe. The seed and the buffered keystream are wiped on <see cref="Dispose"/>; use after dispose throws
/// <see cref="ObjectDisposedException"/>. Limit: 2^64 blocks (never reached in practice).</para>
/// </remarks>
public sealed class DeterministicRandomSource : RandomSource, IDisposable
{
    private const int BufferBlocks = 64;
    private readonly byte[] _key = GC.AllocateArray<byte>(32, pinned: true);
    private readonly byte[] _buffer = GC.AllocateArray<byte>(BufferBlocks * 16, pinned: true);
    private UInt128 _counter;
    private int _position;
    private bool _disposed;

    /// <summary>Creates the stream for a 32-byte seed.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    public DeterministicRandomSource(ReadOnlySpan<byte> seed32)
    {
        if (seed32.Length != 32)
        {
            throw new ArgumentException("The seed must be exactly 32 bytes.", nameof(seed32));
        }

        seed32.CopyTo(_key);
        _position = _buffer.Length;
    }

    /// <summary>Convenience for tests: the seed is the 32-byte little-endian encoding of <paramref name="seed"/>.</summary>
    public static DeterministicRandomSource FromTestSeed(ulong seed)
    {
        Span<byte> s = stackalloc byte[32];
        try
        {
            s.Clear();
            global::System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(s, seed);
            return new DeterministicRandomSource(s);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(s);
        }
    }

    /// <inheritdoc />
    public override void Fill(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!destination.IsEmpty)
        {
            if (_position == _buffer.Length)
            {
                // Whole blocks straight into the destination when the buffer is empty: same stream, no copy.
                int direct = destination.Length / 16 * 16;
                if (direct >= _buffer.Length)
                {
                    AesCtr.KeystreamAt(_key, _counter, destination[..direct]);
                    _counter += (ulong)(direct / 16);
                    destination = destination[direct..];
                    continue;
                }

                AesCtr.KeystreamAt(_key, _counter, _buffer);
                _counter += BufferBlocks;
                _position = 0;
            }

            int n = Math.Min(destination.Length, _buffer.Length - _position);
            _buffer.AsSpan(_position, n).CopyTo(destination);
            _buffer.AsSpan(_position, n).Clear();
            _position += n;
            destination = destination[n..];
        }
    }

    /// <summary>Wipes the seed and the buffered keystream.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(_key);
            CryptographicOperations.ZeroMemory(_buffer);
            _disposed = true;
        }
    }

    /// <inheritdoc />
    public override string ToString() => "DeterministicRandomSource(seed redacted; tests and simulations only)";
}
