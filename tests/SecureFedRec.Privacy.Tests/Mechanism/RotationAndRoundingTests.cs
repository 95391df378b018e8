using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Mechanism;

namespace SecureFedRec.Privacy.Tests.Mechanism;

public sealed class RotationAndRoundingTests
{
    [Theory]
    [InlineData(new double[] { 1, 0 }, new double[] { 1, 1 })]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 10, -2, -4, 0 })]
    [InlineData(new double[] { 0, 0, 0, 0, 0, 0, 0, 1 }, new double[] { 1, -1, -1, 1, -1, 1, 1, -1 })]
    public void Walsh_hadamard_matches_the_sylvester_matrix(double[] input, double[] expected)
    {
        HadamardRotation.Transform(input);
        Assert.Equal(expected, input);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(128)]
    [InlineData(1000)]
    public void Rotation_and_inverse_round_trip_and_preserve_the_norm(int d)
    {
        var x = TestData.Vector(d, 3.0, d);
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)d);
        var signs = new sbyte[size];
        HadamardRotation.DeriveSigns(TestData.Seed(7), signs);
        var y = new double[size];
        HadamardRotation.Forward(x, signs, y);
        Assert.Equal(3.0, Math.Sqrt(y.Sum(v => v * v)), 1e-12);
        HadamardRotation.Inverse(y, signs);
        for (var i = 0; i < size; i++)
        {
            Assert.Equal(i < d ? x[i] : 0.0, y[i], 1e-12);
        }
    }

    [Fact]
    public void Signs_depend_only_on_the_public_seed()
    {
        var a = new sbyte[256];
        var b = new sbyte[256];
        var c = new sbyte[256];
        HadamardRotation.DeriveSigns(TestData.Seed(1), a);
        HadamardRotation.DeriveSigns(TestData.Seed(1), b);
        HadamardRotation.DeriveSigns(TestData.Seed(2), c);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.InRange(a.Count(s => s < 0), 96, 160);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Rotation_refuses_a_seed_that_is_not_32_bytes(int length)
    {
        Assert.Throws<ArgumentException>(() => HadamardRotation.DeriveSigns(new byte[length], new sbyte[8]));
    }

    [Theory]
    [InlineData(64, 10.0, 0.6065306597126334)]
    [InlineData(1024, 50.0, 0.6065306597126334)]
    [InlineData(1024, 5.0, 0.01)]
    [InlineData(256, 20.0, 0.0)]
    public void Conditional_rounding_respects_its_norm_bound(int d, double scaledNorm, double beta)
    {
        var bound = DistributedDiscreteGaussianAccountant.RoundedL2Bound(scaledNorm, beta, d);
        using var rng = TestData.Rng(11);
        for (var trial = 0; trial < 20; trial++)
        {
            var x = TestData.Vector(d, scaledNorm, trial);
            var r = new long[d];
            ConditionalRounding.Round(x, bound, r, rng, 1000);
            Assert.True(Math.Sqrt(r.Sum(v => (double)v * v)) <= bound);
            for (var i = 0; i < d; i++)
            {
                Assert.True(r[i] == (long)Math.Floor(x[i]) || r[i] == (long)Math.Ceiling(x[i]));
            }
        }
    }

    [Fact]
    public void Randomized_rounding_is_unbiased()
    {
        var x = new[] { 0.25, -1.75, 3.5, 0.9 };
        var sums = new double[x.Length];
        using var rng = TestData.Rng(3);
        const int trials = 20_000;
        var r = new long[x.Length];
        for (var t = 0; t < trials; t++)
        {
            ConditionalRounding.Round(x, double.MaxValue, r, rng, 1);
            for (var i = 0; i < x.Length; i++)
            {
                sums[i] += r[i];
            }
        }

        for (var i = 0; i < x.Length; i++)
        {
            // std of the mean ≤ 0.5/√trials ≈ 0.0035; 5 std-devs.
            Assert.Equal(x[i], sums[i] / trials, 0.018);
        }
    }

    [Fact]
    public void Rounding_that_cannot_meet_its_bound_fails_with_a_typed_error()
    {
        var x = Enumerable.Repeat(0.5, 64).ToArray();
        using var rng = TestData.Rng(5);
        var ex = Assert.Throws<PrivacyMechanismException>(() => ConditionalRounding.Round(x, 0.0, new long[64], rng, 50));
        Assert.Equal(EncodeFailure.RoundingDidNotConverge, ex.Reason);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1023, 1)]
    [InlineData(1024, 1)]
    [InlineData(1025, 1)]
    [InlineData(5000, 3)]
    public void Chunked_rounding_reads_the_stream_as_one_draw_per_coordinate(int d, int attempts)
    {
        // The reference: one NextUInt64 per coordinate per attempt, as before the draws were chunked; the stream after
        // rounding (what the noise sampler reads next) must be where the reference leaves it.
        var x = TestData.Vector(d, 40.0, d);
        var bound = attempts == 1 ? double.MaxValue : -1.0;
        using var chunked = TestData.Rng(21);
        using var reference = TestData.Rng(21);
        var r = new long[d];
        if (attempts == 1)
        {
            ConditionalRounding.Round(x, bound, r, chunked, 1);
        }
        else
        {
            Assert.Throws<PrivacyMechanismException>(() => ConditionalRounding.Round(x, bound, r, chunked, attempts));
        }

        var expected = new long[d];
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            for (var i = 0; i < d; i++)
            {
                var floor = Math.Floor(x[i]);
                var threshold = (ulong)((x[i] - floor) * 9007199254740992.0);
                expected[i] = (long)floor + ((reference.NextUInt64() >> 11) < threshold ? 1L : 0L);
            }
        }

        Assert.Equal(expected, r);
        Assert.Equal(reference.NextUInt64(), chunked.NextUInt64());
    }
}
