using System.Buffers.Binary;
using System.Security.Cryptography;

namespace SecureFedRec.Crypto;

/// <summary>
/// The only sources of randomness in SecureFedRec. <see cref="System"/> (the operating system's CSPRNG, via
/// <see cref="RandomNumberGenerator"/>) is the default of every API that draws randomness; a
/// <see cref="DeterministicRandomSource"/> is for tests, published test vectors and reproducible simulations only.
/// </summary>
/// <remarks>
/// <para>Every value is defined in terms of the byte stream that <see cref="Fill"/> produces, so a deterministic source gives
/// the same values on every platform: <see cref="NextUInt32"/> and <see cref="NextUInt64"/> read 4 / 8 bytes little-endian;
/// <see cref="NextBelow"/> is Lemire's multiply-and-reject method over <see cref="NextUInt64"/> (unbiased);
/// <see cref="NextBit"/> is the low bit of one byte.</para>
/// <para>There is deliberately no floating-point draw except <see cref="NextDoubleForNonPrivacyUse"/>, which must never be used
/// to produce differential-privacy noise (Mironov 2012): use <see cref="DiscreteGaussian"/> / <see cref="DiscreteLaplace"/>.</para>
/// <para>Thread-safety: <see cref="System"/> is safe for concurrent use; a <see cref="DeterministicRandomSource"/> is not.</para>
/// </remarks>
public abstract class RandomSource
{
    /// <summary>The operating system's cryptographically secure generator. Thread-safe. The default everywhere.</summary>
    public static RandomSource System { get; } = new SystemRandomSource();

    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    public abstract void Fill(Span<byte> destination);

    /// <summary>A uniform 32-bit integer (4 bytes of the stream, little-endian).</summary>
    public uint NextUInt32()
    {
        Span<byte> b = stackalloc byte[4];
        Fill(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <summary>A uniform 64-bit integer (8 bytes of the stream, little-endian).</summary>
    public ulong NextUInt64()
    {
        Span<byte> b = stackalloc byte[8];
        Fill(b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias (Lemire 2019, rejection).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bound"/> is zero.</exception>
    public ulong NextBelow(ulong bound)
    {
        if (bound == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bound), "The bound must be at least 1.");
        }

        return RandomMath.Below(this, bound);
    }

    /// <summary>A uniform bit (the low bit of one byte of the stream).</summary>
    public bool NextBit()
    {
        Span<byte> b = stackalloc byte[1];
        Fill(b);
        return (b[0] & 1) != 0;
    }

    /// <summary>
    /// A uniform double in [0, 1) with 53 random bits, for non-privacy uses only (shuffling, SGD sampling, initial weights).
    /// Never use it for differential-privacy noise: floating-point noise leaks through its low bits (Mironov 2012).
    /// </summary>
    public double NextDoubleForNonPrivacyUse() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

/// <summary>OS CSPRNG (<see cref="RandomNumberGenerator.Fill"/>), stateless and thread-safe.</summary>
internal sealed class SystemRandomSource : RandomSource
{
    public override void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);

    public override string ToString() => "RandomSource.System";
}

internal static class RandomMath
{
    /// <summary>Lemire's nearly-divisionless unbiased bounded draw; <paramref name="bound"/> ≥ 1.</summary>
    internal static ulong Below(RandomSource rng, ulong bound)
    {
        ulong x = rng.NextUInt64();
        UInt128 m = (UInt128)x * bound;
        ulong low = (ulong)m;
        if (low < bound)
        {
            ulong threshold = unchecked(0UL - bound) % bound;
            while (low < threshold)
            {
                x = rng.NextUInt64();
                m = (UInt128)x * bound;
                low = (ulong)m;
            }
        }

        return (ulong)(m >> 64);
    }
}
