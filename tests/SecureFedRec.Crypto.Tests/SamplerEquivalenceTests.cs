using System.Globalization;
using System.Numerics;

namespace SecureFedRec.Crypto.Tests;

/// <summary>
/// The product's discrete Gaussian (lazy-comparison Bernoulli(exp(−x)), <c>ExactExp</c>) and the unoptimised CKS 2020
/// transcription (<see cref="ReferenceDiscreteGaussian"/>) draw the same distribution: a two-sample χ² homogeneity test
/// (Σ (a − b)²/(a + b) over bins pooled to ≥ 1,000 joint counts, rejection level 10^-6) on independent streams. Covers the
/// small-σ cases of the DP vectors, the planner's σ² with denominator 2^20 (the UInt128 path with denominators above
/// 2^64, as every deployed round), a scale above the Laplace table (t &gt; 2^16) and the arbitrary-size path; the negative
/// control shows the test rejects a 20 % variance error at the planner's σ.
/// </summary>
public sealed class SamplerEquivalenceTests
{
    [Theory]
    [InlineData("1", "1", 100_000)]
    [InlineData("50", "1", 100_000)]
    [InlineData("5", "2", 100_000)]
    [InlineData("10485772345", "1048576", 100_000)]
    [InlineData("1048576000777", "1048576", 100_000)]
    [InlineData("104857600004321", "1048576", 50_000)]
    [InlineData("16777216000000000001", "1048576", 20_000)]
    [InlineData("2500000000000000000001", "100000000000000000000", 10_000)]
    [InlineData("1329227995784915872903807060280344577", "3", 5_000)]
    public void Product_and_reference_draw_the_same_distribution(string num, string den, int count)
    {
        BigInteger n = BigInteger.Parse(num, CultureInfo.InvariantCulture);
        BigInteger d = BigInteger.Parse(den, CultureInfo.InvariantCulture);
        long[] product = Product(n, d, count, 0x5EED_0000UL + (ulong)count);
        long[] reference = Reference(n, d, count, 0xFEED_0000UL + (ulong)count);
        (double chi, int df) = TwoSample(product, reference);
        Assert.True(chi < Stats.ChiSquareCritical(df), $"σ² = {num}/{den}: χ² = {chi:F1} with {df} df, critical {Stats.ChiSquareCritical(df):F1}");
    }

    [Fact]
    public void The_two_sample_test_has_power_at_the_planner_sigma()
    {
        long[] product = Product(1_048_576_000_777, 1_048_576, 100_000, 5);
        long[] wider = Reference(1_258_291_200_932, 1_048_576, 100_000, 6); // σ² 20 % larger
        (double chi, int df) = TwoSample(product, wider);
        Assert.True(chi > Stats.ChiSquareCritical(df), $"χ² = {chi:F1} should exceed {Stats.ChiSquareCritical(df):F1}");
    }

    [Fact]
    public void The_single_sample_call_draws_what_fill_draws()
    {
        long[] filled = Product(1_048_576_000_777, 1_048_576, 1, 9);
        using var single = DeterministicRandomSource.FromTestSeed(9);
        Assert.Equal(filled[0], new DiscreteGaussian(1_048_576_000_777, 1_048_576).Sample(single));
    }

    private static long[] Product(BigInteger n, BigInteger d, int count, ulong seed)
    {
        long[] samples = new long[count];
        using var rng = DeterministicRandomSource.FromTestSeed(seed);
        new DiscreteGaussian(n, d).Fill(samples, rng);
        return samples;
    }

    private static long[] Reference(BigInteger n, BigInteger d, int count, ulong seed)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(seed);
        var reference = new ReferenceDiscreteGaussian(n, d, rng);
        long[] samples = new long[count];
        for (int i = 0; i < count; i++)
        {
            samples[i] = reference.Sample();
        }

        return samples;
    }

    /// <summary>Equal-size samples: values in order, consecutive values pooled until the pool holds ≥ 1,000 of both samples
    /// together (the last pool joins the one before if short); χ² = Σ (a − b)²/(a + b), df = bins − 1.</summary>
    private static (double ChiSquare, int DegreesOfFreedom) TwoSample(long[] a, long[] b)
    {
        var counts = new SortedDictionary<long, (int A, int B)>();
        foreach (long x in a)
        {
            counts[x] = counts.TryGetValue(x, out var c) ? (c.A + 1, c.B) : (1, 0);
        }

        foreach (long x in b)
        {
            counts[x] = counts.TryGetValue(x, out var c) ? (c.A, c.B + 1) : (0, 1);
        }

        var bins = new List<(int A, int B)>();
        (int A, int B) pool = (0, 0);
        foreach ((int ca, int cb) in counts.Values)
        {
            pool = (pool.A + ca, pool.B + cb);
            if (pool.A + pool.B >= 1000)
            {
                bins.Add(pool);
                pool = (0, 0);
            }
        }

        if (pool.A + pool.B > 0)
        {
            (int A, int B) last = bins[^1];
            bins[^1] = (last.A + pool.A, last.B + pool.B);
        }

        double chi = bins.Sum(bin => (double)(bin.A - bin.B) * (bin.A - bin.B) / (bin.A + bin.B));
        return (chi, bins.Count - 1);
    }
}
