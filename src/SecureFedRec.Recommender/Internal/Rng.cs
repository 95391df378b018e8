using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SecureFedRec.Crypto;

namespace SecureFedRec.Recommender.Internal;

/// <summary>
/// Convenience draws (uniform integers, doubles, Gaussians for initialisation and synthetic data, shuffles) over a
/// <see cref="RandomSource"/>. Buffers 4 KiB of the source's output at a time so that per-draw cost stays small.
/// Never used for DP noise: that comes from the exact samplers of the privacy layer. Not thread-safe.
/// </summary>
internal sealed class Rng : IDisposable
{
    private readonly RandomSource source;
    private readonly bool ownsSource;
    private readonly byte[] buffer = new byte[4096];
    private int position = 4096;
    private double spareGaussian;
    private bool hasSpare;

    public Rng(RandomSource source)
        : this(source, ownsSource: false)
    {
    }

    private Rng(RandomSource source, bool ownsSource)
    {
        ArgumentNullException.ThrowIfNull(source);
        this.source = source;
        this.ownsSource = ownsSource;
    }

    /// <summary>
    /// A reproducible stream for one purpose of one simulation: the 32-byte DRBG seed is
    /// SHA-256("SecureFedRec/v1/recommender" ‖ 0 ‖ purpose ‖ 0 ‖ seed as u64 big-endian), so that each purpose
    /// (partition, split, initialisation, training, negatives, dropouts) has its own stream and changing how many
    /// draws one of them makes never shifts the others.
    /// </summary>
    public static Rng ForPurpose(ulong seed, string purpose)
    {
        var label = Encoding.UTF8.GetBytes("SecureFedRec/v1/recommender\0" + purpose + "\0");
        var input = new byte[label.Length + 8];
        label.CopyTo(input, 0);
        BinaryPrimitives.WriteUInt64BigEndian(input.AsSpan(label.Length), seed);
        var seed32 = SHA256.HashData(input);
        return new Rng(new DeterministicRandomSource(seed32), ownsSource: true);
    }

    /// <summary>The underlying source, for APIs of other layers that take a <see cref="RandomSource"/>.</summary>
    public RandomSource Source => source;

    public ulong NextUInt64()
    {
        if (position > buffer.Length - 8)
        {
            source.Fill(buffer);
            position = 0;
        }

        var v = BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(position, 8));
        position += 8;
        return v;
    }

    /// <summary>Uniform integer in [0, bound) by rejection (no modulo bias).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bound, 1);
        var b = (ulong)bound;
        var limit = ulong.MaxValue - (ulong.MaxValue % b);
        ulong v;
        do
        {
            v = NextUInt64();
        }
        while (v >= limit);
        return (int)(v % b);
    }

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal by Box–Muller (model initialisation and synthetic data only; never DP noise).</summary>
    public double NextGaussian()
    {
        if (hasSpare)
        {
            hasSpare = false;
            return spareGaussian;
        }

        double u1;
        do
        {
            u1 = NextDouble();
        }
        while (u1 <= double.Epsilon);
        var u2 = NextDouble();
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        spareGaussian = radius * Math.Sin(2.0 * Math.PI * u2);
        hasSpare = true;
        return radius * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Disposes the source when this instance created it.</summary>
    public void Dispose()
    {
        if (ownsSource && source is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    /// <summary>Fisher–Yates shuffle.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
