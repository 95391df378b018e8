using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// One mask PRG stream (<see cref="MaskPrg"/>: seed, context, bits) with its key derived and expanded once, read from any
/// element offset: element i of the stream is keystream word i, i.e. counter block ⌊i/4⌋ (from 0^128) and bytes
/// 4·(i mod 4) … 4·(i mod 4) + 3 of that block. So a vector can be masked in cache-sized chunks over many streams at once
/// (chunk [a, b) of every stream, then the next chunk) with exactly the result of whole-stream <see cref="MaskPrg"/> calls.
/// </summary>
/// <remarks>
/// <para>Limits: offset ≥ 0 and offset + length ≤ <see cref="MaskPrg.MaxElementsPerStream"/>; otherwise
/// <see cref="ArgumentOutOfRangeException"/>. Results are reduced mod 2^bits.</para>
/// <para>The expanded AES key lives in a pinned array wiped on <see cref="Dispose"/>; the derived key itself is wiped right
/// after expansion. Concurrent reads from several threads are safe; <see cref="Dispose"/> must not race them. Every member
/// but <see cref="Dispose"/> throws <see cref="ObjectDisposedException"/> after dispose.</para>
/// </remarks>
public sealed class MaskStream : IDisposable
{
    private readonly AesKeySchedule _schedule;
    private readonly uint _mask;
    private bool _disposed;

    private MaskStream(AesKeySchedule schedule, int bits)
    {
        _schedule = schedule;
        Bits = bits;
        _mask = MaskPrg.BitMask(bits);
    }

    /// <summary>Bits b of the elements (1..32).</summary>
    public int Bits { get; }

    /// <summary>Opens the stream of (<paramref name="seed32"/>, <paramref name="context"/>) read as elements of Z_{2^bits}.</summary>
    /// <exception cref="ArgumentException">Seed not 32 bytes or context longer than <see cref="MaskPrg.MaxContextLength"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">bits outside 1..32.</exception>
    public static MaskStream Open(ReadOnlySpan<byte> seed32, ReadOnlySpan<byte> context, int bits) =>
        Open(seed32, context, bits, AesCtrBackend.Auto);

    /// <summary><see cref="Open(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int)"/> with a seed held in a <see cref="SecretBytes"/>.</summary>
    public static MaskStream Open(SecretBytes seed, ReadOnlySpan<byte> context, int bits)
    {
        ArgumentNullException.ThrowIfNull(seed);
        return Open(seed.Span, context, bits);
    }

    internal static MaskStream Open(ReadOnlySpan<byte> seed32, ReadOnlySpan<byte> context, int bits, AesCtrBackend backend)
    {
        MaskPrg.ValidateStream(seed32, context, bits);
        Span<byte> key = stackalloc byte[32];
        try
        {
            MaskPrg.DeriveKey(seed32, context, key);
            return new MaskStream(new AesKeySchedule(key, backend), bits);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Writes elements <paramref name="offset"/> … offset + output.Length − 1 of the stream into <paramref name="output"/>.</summary>
    public void Generate(long offset, Span<uint> output) => Apply(offset, output, MaskOperation.Overwrite);

    /// <summary>vector[i] = (vector[i] + element[offset + i]) mod 2^bits.</summary>
    public void AddMask(long offset, Span<uint> vector) => Apply(offset, vector, MaskOperation.Add);

    /// <summary>vector[i] = (vector[i] − element[offset + i]) mod 2^bits.</summary>
    public void SubtractMask(long offset, Span<uint> vector) => Apply(offset, vector, MaskOperation.Subtract);

    /// <summary>Raw keystream bytes from byte <paramref name="byteOffset"/> (counter block ⌊o/16⌋, in-block offset o mod 16).</summary>
    internal void Keystream(long byteOffset, Span<byte> output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        if (byteOffset > (4L * MaskPrg.MaxElementsPerStream) - output.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset), byteOffset, "Past the end of the stream.");
        }

        AesCtr.KeystreamFrom(_schedule, (ulong)byteOffset, output);
    }

    /// <summary>Wipes the expanded key. Idempotent.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _schedule.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"MaskStream(bits = {Bits}, redacted{(_disposed ? ", disposed" : string.Empty)})";

    internal void Apply(long offset, Span<uint> vector, MaskOperation operation)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset > (long)MaskPrg.MaxElementsPerStream - vector.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"At most {MaskPrg.MaxElementsPerStream} elements per (seed, context).");
        }

        AesCtr.ApplyMask(_schedule, (ulong)offset, vector, _mask, operation);
    }
}
