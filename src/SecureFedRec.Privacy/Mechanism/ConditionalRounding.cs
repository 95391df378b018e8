using System.Buffers.Binary;
using System.Security.Cryptography;
using SecureFedRec.Crypto;

namespace SecureFedRec.Privacy.Mechanism;

/// <summary>
/// Conditional randomized rounding (Kairouz, Liu, Steinke 2021, §4.1, Alg. 1 step 4): each coordinate x is rounded
/// to ⌊x⌋ + Bernoulli(x − ⌊x⌋) independently (unbiased); the whole vector is redrawn until its L2 norm is ≤ the bound
/// Δ₂'. The Bernoulli compares a 53-bit uniform integer from the injected <see cref="RandomSource"/> with the
/// fraction scaled to 2^53 (rounding randomness, not DP noise, so a 2^-53 grid is enough). Thread-safe (stateless).
/// </summary>
/// <remarks>
/// Every coordinate takes exactly one <see cref="RandomSource.NextUInt64"/>'s worth of the stream (8 bytes,
/// little-endian), read here from chunks of <see cref="ChunkWords"/> words filled in one <see cref="RandomSource.Fill"/>
/// call each and wiped after use: the same values as one draw per coordinate (a deterministic source gives identical
/// output), without one OS CSPRNG call per coordinate (each a locked OpenSSL RAND_bytes, ~1 µs: 0.13 s per client at
/// d = 10^5, most of a networked round's AdvertiseKeys phase).
/// </remarks>
internal static class ConditionalRounding
{
    private const double TwoPow53 = 9007199254740992.0;

    /// <summary>Uniform words drawn per <see cref="RandomSource.Fill"/> call (8 KiB).</summary>
    internal const int ChunkWords = 1024;

    /// <summary>Rounds <paramref name="x"/> into <paramref name="output"/>; returns the number of attempts used.</summary>
    public static int Round(ReadOnlySpan<double> x, double normBound, Span<long> output, RandomSource rng, int maxAttempts)
    {
        var boundSq = normBound * normBound;
        Span<byte> chunk = stackalloc byte[ChunkWords * sizeof(ulong)];
        try
        {
            for (var attempt = 1; attempt <= maxAttempts; attempt++)
            {
                var sq = 0.0;
                for (var start = 0; start < x.Length; start += ChunkWords)
                {
                    var count = Math.Min(ChunkWords, x.Length - start);
                    var words = chunk[..(count * sizeof(ulong))];
                    rng.Fill(words);
                    for (var k = 0; k < count; k++)
                    {
                        var i = start + k;
                        var floor = Math.Floor(x[i]);
                        var frac = x[i] - floor;
                        var threshold = (ulong)(frac * TwoPow53);
                        var up = (BinaryPrimitives.ReadUInt64LittleEndian(words[(k * sizeof(ulong))..]) >> 11) < threshold ? 1L : 0L;
                        var r = (long)floor + up;
                        output[i] = r;
                        sq += (double)r * r;
                    }
                }

                if (sq <= boundSq)
                {
                    return attempt;
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chunk);
        }

        throw new PrivacyMechanismException(EncodeFailure.RoundingDidNotConverge, $"Conditional randomized rounding exceeded the norm bound {normBound:G6} in {maxAttempts} attempts; raise β or γ.");
    }
}
