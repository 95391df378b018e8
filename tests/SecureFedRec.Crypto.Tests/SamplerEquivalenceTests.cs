using System.Globalization;
using System.Numerics;

namespace SecureFedRec.Crypto.Tests;

/// <summary>
/// The optimised discrete Gaussian returns, draw for draw, what the unoptimised CKS transcription
/// (<see cref="ReferenceDiscreteGaussian"/>) returns from the same stream: the fast paths (no division when the exponent is
/// below one, precomputed masks, skipped Bernoulli(1) arithmetic) are exact rewrites, not approximations. Covers the
/// small-σ cases of the DP vectors, the planner's σ² with denominator 2^20 (the UInt128 path with denominators above
/// 2^64, as every deployed round), and the arbitrary-size path.
/// </summary>
public sealed class SamplerEquivalenceTests
{
    [Theory]
    [InlineData("1", "1", 20_000)]
    [InlineData("50", "1", 20_000)]
    [InlineData("5", "2", 20_000)]
    [InlineData("10485772345", "1048576", 20_000)]
    [InlineData("1048576000777", "1048576", 20_000)]
    [InlineData("104857600004321", "1048576", 20_000)]
    [InlineData("16777216000000000001", "1048576", 5_000)]
    [InlineData("2500000000000000000001", "100000000000000000000", 5_000)]
    [InlineData("1329227995784915872903807060280344577", "3", 2_000)]
    public void Optimised_sampler_draws_exactly_what_the_reference_draws(string num, string den, int count)
    {
        BigInteger n = BigInteger.Parse(num, CultureInfo.InvariantCulture);
        BigInteger d = BigInteger.Parse(den, CultureInfo.InvariantCulture);
        long[] product = new long[count];
        using (var rng = DeterministicRandomSource.FromTestSeed(0x5EED_0000UL + (ulong)count))
        {
            new DiscreteGaussian(n, d).Fill(product, rng);
        }

        using var referenceRng = DeterministicRandomSource.FromTestSeed(0x5EED_0000UL + (ulong)count);
        var reference = new ReferenceDiscreteGaussian(n, d, referenceRng);
        for (int i = 0; i < count; i++)
        {
            long expected = reference.Sample();
            Assert.True(expected == product[i], $"σ² = {num}/{den}: sample {i} is {product[i]}, the reference drew {expected}");
        }

        using var single = DeterministicRandomSource.FromTestSeed(0x5EED_0000UL + (ulong)count);
        Assert.Equal(product[0], new DiscreteGaussian(n, d).Sample(single));
    }
}
