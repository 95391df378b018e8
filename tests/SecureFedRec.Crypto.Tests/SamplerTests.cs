using System.Globalization;
using System.Numerics;

namespace SecureFedRec.Crypto.Tests;

/// <summary>
/// Goodness of fit of the exact samplers against their exact pmf (Canonne, Kamath, Steinke 2020): Pearson χ² with a fixed
/// DeterministicRandomSource seed, 200,000 samples, rejection level 10^-6. The negative controls show the same test has the
/// power to reject a sampler with a slightly wrong variance.
/// </summary>
public sealed class SamplerTests
{
    private const int N = 200_000;

    [Theory]
    [InlineData(1UL, 1UL)]
    [InlineData(5UL, 2UL)]
    [InlineData(100UL, 1UL)]
    [InlineData(1UL, 4UL)]
    public void Discrete_gaussian_fits_its_pmf(ulong num, ulong den)
    {
        double sigma2 = num / (double)den;
        long[] samples = new long[N];
        using var rng = DeterministicRandomSource.FromTestSeed(num * 1000 + den);
        new DiscreteGaussian(num, den).Fill(samples, rng);
        (double chi, int df) = Stats.ChiSquare(samples, GaussianPmf(sigma2, out long support), support);
        Assert.True(chi < Stats.ChiSquareCritical(df), $"σ² = {num}/{den}: χ² = {chi:F1} with {df} df, critical {Stats.ChiSquareCritical(df):F1}");
    }

    [Theory]
    [InlineData(1UL, 1UL)]
    [InlineData(100UL, 1UL)]
    public void Goodness_of_fit_test_has_power(ulong num, ulong den)
    {
        // Samples with σ² 10% too large must be rejected against the nominal pmf.
        double sigma2 = num / (double)den;
        long[] samples = new long[N];
        using var rng = DeterministicRandomSource.FromTestSeed(7);
        new DiscreteGaussian(num * 11, den * 10).Fill(samples, rng);
        (double chi, int df) = Stats.ChiSquare(samples, GaussianPmf(sigma2, out long support), support);
        Assert.True(chi > Stats.ChiSquareCritical(df), $"χ² = {chi:F1} should exceed {Stats.ChiSquareCritical(df):F1}");
    }

    [Theory]
    [InlineData(1UL, 1UL)]
    [InlineData(3UL, 2UL)]
    [InlineData(10UL, 1UL)]
    public void Discrete_laplace_fits_its_pmf(ulong num, ulong den)
    {
        double t = num / (double)den;
        long[] samples = new long[N];
        using var rng = DeterministicRandomSource.FromTestSeed(num * 77 + den);
        new DiscreteLaplace(num, den).Fill(samples, rng);
        long support = (long)(60 * t) + 20;
        (double chi, int df) = Stats.ChiSquare(samples, Stats.Normalise(x => Math.Exp(-Math.Abs(x) / t), support), support);
        Assert.True(chi < Stats.ChiSquareCritical(df), $"t = {num}/{den}: χ² = {chi:F1} with {df} df");
    }

    // Large σ (fast UInt128 path) and σ² ≈ 25 written with a 10^20 denominator (BigInteger path): both must give
    // mean ≈ 0 and variance ≈ σ².
    [Theory]
    [InlineData("100000000", "1", true)]
    [InlineData("1000000000000", "1", true)]
    [InlineData("2500000000000000000001", "100000000000000000000", false)]
    public void Moments_match_on_both_paths(string num, string den, bool fast)
    {
        var g = new DiscreteGaussian(BigInteger.Parse(num, CultureInfo.InvariantCulture), BigInteger.Parse(den, CultureInfo.InvariantCulture));
        Assert.Equal(fast, g.UsesFastPath);
        double sigma2 = (double)BigInteger.Parse(num, CultureInfo.InvariantCulture) / (double)BigInteger.Parse(den, CultureInfo.InvariantCulture);
        int n = fast ? N : 20_000;
        long[] samples = new long[n];
        using var rng = DeterministicRandomSource.FromTestSeed(11);
        g.Fill(samples, rng);
        double mean = samples.Average(x => (double)x);
        double variance = samples.Sum(x => ((double)x - mean) * ((double)x - mean)) / (n - 1);
        Assert.True(Math.Abs(mean) < 6 * Math.Sqrt(sigma2 / n), $"mean {mean}");
        Assert.True(Math.Abs((variance / sigma2) - 1) < 6 * Math.Sqrt(2.0 / n), $"variance {variance} vs {sigma2}");
    }

    [Fact]
    public void Fast_and_slow_paths_give_the_same_distribution_at_small_sigma()
    {
        // σ² = 5/2 exactly, once with small integers (fast path) and once scaled by 10^18 (BigInteger path).
        long[] samples = new long[50_000];
        using var rng = DeterministicRandomSource.FromTestSeed(12);
        var slow = new DiscreteGaussian(new System.Numerics.BigInteger(5) * System.Numerics.BigInteger.Pow(10, 40) + 1, System.Numerics.BigInteger.Pow(10, 40) * 2);
        Assert.False(slow.UsesFastPath);
        slow.Fill(samples, rng);
        (double chi, int df) = Stats.ChiSquare(samples, GaussianPmf(2.5, out long support), support);
        Assert.True(chi < Stats.ChiSquareCritical(df), $"χ² = {chi:F1} with {df} df");
    }

    // The σ² shape every planned round uses (σ ≈ 1000, denominator 2^20): the table path against the exact pmf.
    [Fact]
    public void Discrete_gaussian_fits_its_pmf_at_the_planner_sigma()
    {
        const ulong num = 1_048_576_000_777;
        const ulong den = 1_048_576;
        long[] samples = new long[N];
        using var rng = DeterministicRandomSource.FromTestSeed(13);
        new DiscreteGaussian(num, den).Fill(samples, rng);
        (double chi, int df) = Stats.ChiSquare(samples, GaussianPmf(num / (double)den, out long support), support);
        Assert.True(chi < Stats.ChiSquareCritical(df), $"χ² = {chi:F1} with {df} df, critical {Stats.ChiSquareCritical(df):F1}");
    }

    [Theory]
    [InlineData(0UL, 1UL)]
    [InlineData(1UL, 0UL)]
    public void Gaussian_refuses_zero_parts(ulong num, ulong den) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DiscreteGaussian(num, den));

    [Theory]
    [InlineData(0UL, 1UL)]
    [InlineData(1UL, 0UL)]
    [InlineData(ulong.MaxValue, 1UL)]
    public void Laplace_refuses_bad_scales(ulong num, ulong den) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DiscreteLaplace(num, den));

    [Fact]
    public void Gaussian_refuses_sigma_above_2_pow_62() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DiscreteGaussian(System.Numerics.BigInteger.One << 126, 1));

    [Fact]
    public void Same_seed_same_noise()
    {
        long[] a = new long[100];
        long[] b = new long[100];
        using (var r = DeterministicRandomSource.FromTestSeed(1))
        {
            new DiscreteGaussian(9).Fill(a, r);
        }

        using (var r = DeterministicRandomSource.FromTestSeed(1))
        {
            new DiscreteGaussian(9).Fill(b, r);
        }

        Assert.Equal(a, b);
    }

    private static Func<long, double> GaussianPmf(double sigma2, out long support)
    {
        support = (long)(40 * Math.Sqrt(sigma2)) + 20;
        return Stats.Normalise(x => Math.Exp(-(double)x * x / (2 * sigma2)), support);
    }
}
