using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Evaluation;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Tests;

public sealed class AggregatorTests
{
    private static readonly UpdateLayout Layout = new(3, 2); // d = 14
    private static readonly AggregationContext Context = new(Layout, 5, 10, 50, 100, null, 10);

    private static double[][] Inputs(int clients, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, clients).Select(_ => Enumerable.Range(0, Layout.Length)
            .Select(j => (random.NextDouble() * 2 - 1) * Context.BoundOf(j)).ToArray()).ToArray();
    }

    private static double[] PlainSum(double[][] inputs, bool[] dropped) =>
        new PlainAggregator().Aggregate(1, inputs, dropped, Context).Sum;

    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(32)]
    public void Fixed_point_codec_sums_exactly_up_to_its_resolution(int bits)
    {
        var inputs = Inputs(5, bits);
        var codec = new FixedPointCodec(Context, 5, bits);
        var mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var sum = new uint[Layout.Length];
        foreach (var x in inputs)
        {
            var e = codec.Encode(x);
            for (var j = 0; j < sum.Length; j++)
            {
                sum[j] = (sum[j] + e[j]) & mask;
            }
        }

        var decoded = codec.Decode(sum);
        var expected = PlainSum(inputs, new bool[5]);
        for (var j = 0; j < sum.Length; j++)
        {
            Assert.InRange(decoded[j] - expected[j], -5 * codec.Resolution(j), 5 * codec.Resolution(j));
        }
    }

    [Fact]
    public void Fixed_point_codec_clamps_to_the_public_bound()
    {
        var codec = new FixedPointCodec(Context, 2, 32);
        var x = new double[Layout.Length];
        x[0] = 1e9;
        x[1] = -1e9;
        var decoded = codec.Decode(codec.Encode(x));
        Assert.Equal(Context.BoundOf(0), decoded[0], 6);
        Assert.Equal(-Context.BoundOf(1), decoded[1], 6);
    }

    [Fact]
    public void Fixed_point_codec_refuses_too_few_bits_and_wrong_lengths()
    {
        Assert.Throws<ArgumentException>(() => new FixedPointCodec(Context, 100_000, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FixedPointCodec(Context, 2, 33));
        var codec = new FixedPointCodec(Context, 2, 32);
        Assert.Throws<ArgumentException>(() => codec.Encode(new double[3]));
        Assert.Throws<ArgumentException>(() => codec.Decode(new uint[3]));
    }

    [Fact]
    public void SecAgg_sum_matches_the_plain_sum_of_survivors()
    {
        var inputs = Inputs(5, 1);
        bool[] dropped = [false, true, false, false, false];
        var result = new SecureRoundAggregator(null, 7).Aggregate(1, inputs, dropped, Context);
        var expected = PlainSum(inputs, dropped);
        var codec = new FixedPointCodec(Context, 5, 32);
        Assert.Equal(4, result.Survivors);
        Assert.True(result.BytesPerClient > 4 * Layout.Length);
        for (var j = 0; j < expected.Length; j++)
        {
            Assert.InRange(result.Sum[j] - expected[j], -5 * codec.Resolution(j), 5 * codec.Resolution(j));
        }
    }

    [Fact]
    public void SecAgg_sends_zero_bound_coordinates_as_zero_and_refuses_infinite_bounds()
    {
        var clipped = Context with { ItemWeightBound = 0, MeanWeightBound = 0, UserClipNorm = 1 };
        var inputs = Inputs(3, 9);
        foreach (var x in inputs)
        {
            foreach (var j in Enumerable.Range(0, Layout.Length).Where(Layout.IsWeight))
            {
                x[j] = 0;
            }
        }

        var r = new SecureRoundAggregator(null, 7).Aggregate(1, inputs, new bool[3], clipped);
        var expected = PlainSum(inputs, new bool[3]);
        Assert.All(Enumerable.Range(0, Layout.Length), j => Assert.Equal(expected[j], r.Sum[j], 4));
        Assert.Throws<ArgumentException>(() => new FixedPointCodec(Context with { ItemDeltaBound = double.PositiveInfinity }, 3, 32));
    }

    [Fact]
    public void SecAgg_with_too_many_dropouts_fails_loudly()
    {
        var inputs = Inputs(4, 2);
        var ex = Assert.Throws<InvalidOperationException>(() => new SecureRoundAggregator(null, 7).Aggregate(1, inputs, [true, true, false, false], Context));
        Assert.Contains("did not complete", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(10, 7)]
    [InlineData(20, 14)]
    public void SecAgg_threshold_is_the_round_pipelines_one_rule(int n, int t)
    {
        // The simulation no longer has a threshold rule of its own (it was ⌊2n/3⌋ + 1): it plans with the coordinator's.
        Assert.Equal(t, SecureFedRec.Rounds.RoundPlanner.Threshold(n, SecureFedRec.Rounds.RoundSettings.DefaultThresholdFraction, SecureFedRec.Protocol.Wire.ThreatMode.HonestButCurious));
    }

    [Fact]
    public void Federated_secagg_run_matches_plain_within_half_a_percent_rmse()
    {
        var data = SyntheticDataset.Generate(new SyntheticOptions { Users = 120, Items = 150, MedianRatingsPerUser = 25 }, 2);
        var split = EvaluationSplit.Create(data, 0.2, 1);
        var options = new FederatedOptions { Hyperparameters = new MfHyperparameters { Factors = 4 }, Rounds = 5, LocalEpochs = 2, Seed = 5 };
        double Rmse(IUpdateAggregator a)
        {
            var sim = new FederatedSimulation(split.Train, UserPartition.Random(data.UserCount, 4, 1), options, a);
            sim.Run();
            return Evaluator.Evaluate(sim.AssembleModel(), split, 1).Rmse;
        }

        var plain = Rmse(new PlainAggregator());
        var secure = Rmse(new SecureRoundAggregator(null, 3));
        Assert.True(Math.Abs(secure - plain) <= 0.005 * plain, $"plain {plain:F5}, secagg {secure:F5}");
    }

    [Theory]
    [InlineData(double.PositiveInfinity, 1e-5, 10)]
    [InlineData(0.0, 1e-5, 10)]
    [InlineData(1.0, 0.0, 10)]
    [InlineData(1.0, 1.0, 10)]
    [InlineData(1.0, 1e-5, 0)]
    public void Dp_target_out_of_range_is_refused(double epsilon, double delta, int rounds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SecureRoundAggregator(new DpTarget(epsilon, delta, rounds), 1));
    }

    [Fact]
    public void Dp_aggregator_needs_a_user_clip()
    {
        var dp = new SecureRoundAggregator(new DpTarget(4, 1e-5, 3), 1);
        Assert.Throws<ArgumentException>(() => dp.Aggregate(1, Inputs(3, 1), new bool[3], Context));
    }

    [Fact]
    public void Dp_aggregator_spends_at_most_the_target_and_charges_every_round()
    {
        var context = Context with { UserClipNorm = 1.0, MaxUsersPerClient = 5 };
        var dp = new SecureRoundAggregator(new DpTarget(4, 1e-5, 3), 1);
        var random = new Random(3);
        var spent = new List<double>();
        for (var round = 1; round <= 3; round++)
        {
            var inputs = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, Layout.Length).Select(_ => random.NextDouble() * 0.1).ToArray()).ToArray();
            var r = dp.Aggregate(round, inputs, [false, false, true, false], context);
            Assert.Equal(3, r.Survivors);
            Assert.Equal(Layout.Length, r.Sum.Length);
            spent.Add(r.EpsilonSpent);
        }

        Assert.True(spent[0] > 0 && spent[0] < spent[1] && spent[1] < spent[2], string.Join(", ", spent));
        Assert.True(spent[2] <= 4.0 + 1e-9, $"spent {spent[2]}");
        Assert.True(spent[2] > 3.0, $"calibration leaves most of the budget unused: {spent[2]}");
        Assert.NotNull(dp.NoiseMultiplier);
    }

    [Fact]
    public void Dp_aggregator_sum_is_close_to_the_true_sum_at_a_large_epsilon()
    {
        var context = Context with { UserClipNorm = 1.0, MaxUsersPerClient = 5 };
        var dp = new SecureRoundAggregator(new DpTarget(1e4, 1e-5, 1), 1);
        var random = new Random(4);
        var inputs = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, Layout.Length).Select(_ => (random.NextDouble() - 0.5) * 0.2).ToArray()).ToArray();
        var r = dp.Aggregate(1, inputs, new bool[4], context);
        var expected = PlainSum(inputs, new bool[4]);
        for (var j = 0; j < expected.Length; j++)
        {
            Assert.InRange(r.Sum[j] - expected[j], -0.05, 0.05);
        }
    }
}
