using SecureFedRec.Privacy.Mechanism;

namespace SecureFedRec.Privacy.Tests.Mechanism;

public sealed class MechanismTests
{
    private static (double[] TrueSum, DecodeResult Result) Run(MechanismParameters p, int clients, ulong seed, double norm = 0.9)
    {
        var mech = new DistributedDiscreteGaussianMechanism(p);
        var roundSeed = TestData.Seed((byte)seed);
        using var rng = TestData.Rng(seed);
        var inputs = Enumerable.Range(0, clients).Select(i => TestData.Vector(p.Dimension, norm, (int)seed * 1000 + i)).ToList();
        var encoded = inputs.Select(x => mech.Encode(x, roundSeed, rng)).ToList();
        var trueSum = new double[p.Dimension];
        foreach (var x in inputs)
        {
            for (var i = 0; i < x.Length; i++)
            {
                trueSum[i] += x[i];
            }
        }

        return (trueSum, mech.Decode(TestData.SumMod(encoded, p.Bits), clients, roundSeed));
    }

    [Theory]
    [InlineData(10, 400UL, 0.01, 1UL)]
    [InlineData(10, 400UL, 0.01, 2UL)]
    [InlineData(25, 2500UL, 0.002, 3UL)]
    public void Decoded_sum_is_centred_on_the_true_sum_with_the_planned_variance(int clients, ulong sigmaSq, double gamma, ulong seed)
    {
        var p = TestData.Parameters(d: 1024, bits: 28, gamma: gamma, sigmaSqNum: sigmaSq, n: clients, t: clients);
        var (trueSum, result) = Run(p, clients, seed);
        Assert.True(result.Succeeded, result.Failure.ToString());
        var err = result.Sum!.Select((v, i) => v - trueSum[i]).ToArray();
        var mean = err.Average();
        var variance = err.Select(e => (e - mean) * (e - mean)).Sum() / (err.Length - 1);
        // Planned: per coordinate γ²·m·(σ² + v), rounding variance v ∈ [0, 1/4].
        var low = gamma * gamma * clients * sigmaSq;
        var high = gamma * gamma * clients * (sigmaSq + 0.25);
        Assert.InRange(mean, -5 * Math.Sqrt(high / err.Length), 5 * Math.Sqrt(high / err.Length));
        // 1024 samples: the sample variance is within ±15 % of the truth with overwhelming probability.
        Assert.InRange(variance, 0.85 * low, 1.15 * high);
        Assert.True(result.MeasuredNorm > 0);
    }

    [Fact]
    public void An_encode_leaves_no_copy_of_the_update_or_its_noise_in_the_shared_pools()
    {
        // Encode rents its scratch (clipped update, rotation, rounding, noise) from ArrayPool.Shared and wipes it before
        // returning it. The shared pool hands the array a thread returned last straight back to that thread, so the next
        // rents here get exactly the buffers this encode returned last: the clipped update (double), the noise (long)
        // and the signs (sbyte). Without the wipe they hold the client's update and its noise.
        var p = TestData.Parameters(d: 1000, bits: 24, gamma: 0.01, sigmaSqNum: 400);
        var mech = new DistributedDiscreteGaussianMechanism(p);
        using var rng = TestData.Rng(11);
        var update = TestData.Vector(1000, 5.0, 3);
        _ = mech.Encode(update, TestData.Seed(2), rng);
        var doubles = System.Buffers.ArrayPool<double>.Shared.Rent(1000);
        var longs = System.Buffers.ArrayPool<long>.Shared.Rent(1024);
        var signs = System.Buffers.ArrayPool<sbyte>.Shared.Rent(1024);
        try
        {
            Assert.All(doubles.Take(1000), v => Assert.Equal(0.0, v));
            Assert.All(longs.Take(1024), v => Assert.Equal(0L, v));
            Assert.All(signs.Take(1024), v => Assert.Equal((sbyte)0, v));
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(doubles);
            System.Buffers.ArrayPool<long>.Shared.Return(longs);
            System.Buffers.ArrayPool<sbyte>.Shared.Return(signs);
        }
    }

    [Fact]
    public void Output_is_padded_to_a_power_of_two_and_reduced_modulo_two_to_the_b()
    {
        var p = TestData.Parameters(d: 100, bits: 12, gamma: 0.01, sigmaSqNum: 16);
        var mech = new DistributedDiscreteGaussianMechanism(p);
        using var rng = TestData.Rng(9);
        var y = mech.Encode(TestData.Vector(100, 5.0, 1), TestData.Seed(1), rng);
        Assert.Equal(128, y.Length);
        Assert.All(y, v => Assert.True(v < 4096));
    }

    [Fact]
    public void Silo_clips_each_user_before_summing_and_the_total_to_c()
    {
        // Near-zero noise (σ² = 1/10^6) and a fine grid so that the decoded single-client sum shows the clipped input.
        var p = TestData.Parameters(d: 16, bits: 30, gamma: 1e-5, sigmaSqNum: 1, sigmaSqDen: 1_000_000, n: 1, t: 1, clip: 1.0);
        var mech = new DistributedDiscreteGaussianMechanism(p);
        var u1 = new double[16];
        u1[0] = 10;
        var u2 = new double[16];
        u2[1] = 10;
        var u3 = new double[16];
        u3[2] = 0.1;
        using var rng = TestData.Rng(4);
        var enc = mech.EncodeSilo([u1, u2, u3], 0.5, TestData.Seed(3), rng);
        var result = mech.Decode(enc, 1, TestData.Seed(3));
        Assert.True(result.Succeeded);
        // Users clipped to 0.5, 0.5, 0.1: total (0.5, 0.5, 0.1) has norm 0.714 < c, so it is kept.
        Assert.Equal(0.5, result.Sum![0], 1e-3);
        Assert.Equal(0.5, result.Sum![1], 1e-3);
        Assert.Equal(0.1, result.Sum![2], 1e-3);
    }

    [Fact]
    public void A_client_update_is_clipped_to_c()
    {
        var p = TestData.Parameters(d: 16, bits: 30, gamma: 1e-5, sigmaSqNum: 1, sigmaSqDen: 1_000_000, n: 1, t: 1, clip: 2.0);
        var mech = new DistributedDiscreteGaussianMechanism(p);
        var x = new double[16];
        x[5] = 30;
        using var rng = TestData.Rng(4);
        var result = mech.Decode(mech.Encode(x, TestData.Seed(8), rng), 1, TestData.Seed(8));
        Assert.Equal(2.0, result.Sum![5], 1e-3);
    }

    [Fact]
    public void A_sum_that_wrapped_because_gamma_is_far_too_fine_is_detected_not_returned()
    {
        // γ = 1e-6 with b = 16: the scaled inputs (≈ 10^6/√D per coordinate) cannot fit the modulus.
        var p = TestData.Parameters(d: 256, bits: 16, gamma: 1e-6, sigmaSqNum: 4, n: 10, t: 10);
        var (_, result) = Run(p, 10, 21);
        Assert.False(result.Succeeded);
        Assert.Null(result.Sum);
        Assert.Equal(DecodeFailure.ModulusTooSmallForParameters, result.Failure);
    }

    [Fact]
    public void A_sum_of_planned_parameters_that_wrapped_is_detected()
    {
        // Planned parameters, but the coordinator decodes a sum to which an extra, huge (unclipped, unscaled) input was
        // added: several coordinates leave the honest range and the sum is withheld.
        Assert.True(DistributedDpPlanner.TryPlan(new PlanRequest { TargetEpsilon = 2, Delta = 1e-5, Rounds = 1, PlannedClients = 10, MinClients = 10, Dimension = 256, Bits = 16, Clip = 1 }, out var plan, out var refusal), refusal?.Message);
        var p = plan!.Parameters;
        var mech = new DistributedDiscreteGaussianMechanism(p);
        using var rng = TestData.Rng(12);
        var encoded = Enumerable.Range(0, 9).Select(i => mech.Encode(TestData.Vector(256, 1, i), TestData.Seed(4), rng)).ToList();
        Assert.True(mech.Decode(TestData.SumMod(encoded, 16), 9, TestData.Seed(4)).Succeeded);
        encoded.Add(Enumerable.Range(0, 256).Select(i => (uint)((i * 40503) & 0xFFFF)).ToArray());
        var result = mech.Decode(TestData.SumMod(encoded, 16), 10, TestData.Seed(4));
        Assert.False(result.Succeeded);
        Assert.Null(result.Sum);
    }

    [Fact]
    public void A_single_wrapped_coordinate_is_detected()
    {
        var p = TestData.Parameters(d: 256, bits: 24, gamma: 0.01, sigmaSqNum: 100, n: 10, t: 10);
        var mech = new DistributedDiscreteGaussianMechanism(p);
        using var rng = TestData.Rng(2);
        var encoded = Enumerable.Range(0, 10).Select(i => mech.Encode(TestData.Vector(256, 1, i), TestData.Seed(2), rng)).ToList();
        var sum = TestData.SumMod(encoded, 24);
        Assert.True(mech.Decode(sum, 10, TestData.Seed(2)).Succeeded);
        sum[17] = (sum[17] + (1u << 23)) & ((1u << 24) - 1);
        var result = mech.Decode(sum, 10, TestData.Seed(2));
        Assert.Equal(DecodeFailure.CoordinateOutOfRange, result.Failure);
        Assert.Equal(1, result.CoordinatesOutOfRange);
    }

    [Fact]
    public void A_garbage_sum_is_detected()
    {
        var p = TestData.Parameters(d: 256, bits: 24, gamma: 0.01, sigmaSqNum: 100, n: 10, t: 10);
        var mech = new DistributedDiscreteGaussianMechanism(p);
        using var rng = TestData.Rng(6);
        var sum = Enumerable.Range(0, 256).Select(_ => rng.NextUInt32() & ((1u << 24) - 1)).ToArray();
        Assert.False(mech.Decode(sum, 10, TestData.Seed(2)).Succeeded);
    }

    [Fact]
    public void Decode_refuses_wrong_length_unreduced_values_and_impossible_client_counts()
    {
        var p = TestData.Parameters(d: 100, bits: 12);
        var mech = new DistributedDiscreteGaussianMechanism(p);
        Assert.Throws<ArgumentException>(() => mech.Decode(new uint[100], 5, TestData.Seed(1)));
        var unreduced = new uint[128];
        unreduced[3] = 1u << 12;
        Assert.Throws<ArgumentException>(() => mech.Decode(unreduced, 5, TestData.Seed(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => mech.Decode(new uint[128], 0, TestData.Seed(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => mech.Decode(new uint[128], 11, TestData.Seed(1)));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Encode_refuses_non_finite_updates(double bad)
    {
        var mech = new DistributedDiscreteGaussianMechanism(TestData.Parameters(d: 8));
        var x = new double[8];
        x[3] = bad;
        Assert.Throws<ArgumentException>(() => mech.Encode(x, TestData.Seed(1)));
    }

    [Fact]
    public void Encode_refuses_a_wrong_dimension_and_a_short_seed()
    {
        var mech = new DistributedDiscreteGaussianMechanism(TestData.Parameters(d: 8));
        Assert.Throws<ArgumentException>(() => mech.Encode(new double[9], TestData.Seed(1)));
        Assert.Throws<ArgumentException>(() => mech.Encode(new double[8], new byte[16]));
    }

    [Theory]
    [InlineData(0, 24)]
    [InlineData(64, 33)]
    [InlineData(64, 0)]
    public void Mechanism_refuses_invalid_parameters(int d, int bits)
    {
        Assert.Throws<ArgumentException>(() => new DistributedDiscreteGaussianMechanism(TestData.Parameters(d: d, bits: bits)));
    }
}
