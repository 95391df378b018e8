using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Evaluation;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Tests;

public sealed class FederatedTests
{
    private static readonly RatingDataset Data = SyntheticDataset.Generate(new SyntheticOptions { Users = 150, Items = 200, MedianRatingsPerUser = 30 }, 21);
    private static readonly EvaluationSplit Split = EvaluationSplit.Create(Data, 0.2, 1);
    private static readonly MfHyperparameters Hp = new() { Factors = 8, Epochs = 20, LearningRate = 0.01, Regularization = 0.05 };

    private static FederatedSimulation Simulation(IUpdateAggregator aggregator, FederatedOptions? options = null, int clients = 5) =>
        new(Split.Train, UserPartition.Random(Data.UserCount, clients, 1), options ?? new FederatedOptions { Hyperparameters = Hp, Rounds = 20, Seed = 3 }, aggregator);

    private static double GlobalMeanRmse()
    {
        var mean = Split.Train.Mean;
        var predicted = Split.RatingTest.Select(_ => mean).ToArray();
        var actual = Split.RatingTest.Select(r => (double)r.Value).ToArray();
        return Metrics.Rmse(predicted, actual);
    }

    [Fact]
    public void Federated_run_beats_the_global_mean_predictor_by_a_clear_margin()
    {
        var sim = Simulation(new PlainAggregator());
        var reports = sim.Run();
        Assert.Equal(20, reports.Count);
        var rmse = Evaluator.Evaluate(sim.AssembleModel(), Split, 1).Rmse;
        var baseline = GlobalMeanRmse();
        Assert.True(rmse < 0.9 * baseline, $"federated RMSE {rmse:F4} vs global mean {baseline:F4}");
        Assert.True(reports[^1].TrainLoss < reports[0].TrainLoss);
    }

    [Fact]
    public void Federated_fedadam_run_beats_the_global_mean_predictor()
    {
        var sim = Simulation(new PlainAggregator(), new FederatedOptions { Hyperparameters = Hp, Rounds = 20, Optimizer = ServerOptimizerKind.FedAdam, ServerLearningRate = 0.01, Seed = 3 });
        sim.Run();
        var rmse = Evaluator.Evaluate(sim.AssembleModel(), Split, 1).Rmse;
        Assert.True(rmse < 0.95 * GlobalMeanRmse(), $"FedAdam RMSE {rmse:F4}");
    }

    [Fact]
    public void Federated_run_is_deterministic_under_a_seed()
    {
        var a = Simulation(new PlainAggregator());
        var b = Simulation(new PlainAggregator());
        a.Run();
        b.Run();
        Assert.Equal(a.AssembleModel().Predict(4, 9), b.AssembleModel().Predict(4, 9));
        Assert.Equal(a.Global.GlobalMean, b.Global.GlobalMean);
    }

    [Fact]
    public void Dropped_clients_are_not_in_the_sum()
    {
        var sim = Simulation(new PlainAggregator(), new FederatedOptions { Hyperparameters = Hp, Rounds = 2, DropoutRate = 0.4, Seed = 3 });
        var reports = sim.Run();
        Assert.All(reports, r => Assert.Equal(5, r.Participants));
        Assert.All(reports, r => Assert.Equal(3, r.Survivors));
    }

    [Fact]
    public void Plain_aggregator_sums_survivors_exactly_and_refuses_wrong_lengths()
    {
        var layout = new UpdateLayout(1, 1);
        var context = new AggregationContext(layout, 1, 1, 1, 1, null, 1);
        double[] x = [1, 2, 3, 4, 5];
        double[] y = [10, 20, 30, 40, 50];
        double[] z = [100, 200, 300, 400, 500];
        var r = new PlainAggregator().Aggregate(1, [x, y, z], [false, true, false], context);
        Assert.Equal([101.0, 202, 303, 404, 505], r.Sum);
        Assert.Equal(2, r.Survivors);
        Assert.Throws<ArgumentException>(() => new PlainAggregator().Aggregate(1, [x, [1.0]], [false, false], context));
    }

    [Fact]
    public void Update_layout_offsets_are_consistent()
    {
        var l = new UpdateLayout(3, 2);
        Assert.Equal(14, l.Length);
        Assert.Equal(4, l.FactorOffset(1));
        Assert.Equal(6, l.BiasOffset(1));
        Assert.Equal(7, l.WeightOffset(1));
        Assert.Equal(12, l.MeanOffset);
        Assert.True(l.IsWeight(7));
        Assert.True(l.IsWeight(13));
        Assert.False(l.IsWeight(6));
        Assert.False(l.IsWeight(12));
    }

    [Fact]
    public void User_level_clipping_bounds_each_users_contribution()
    {
        // One client with all users; with C tiny, the client's vector norm is at most users·C.
        var options = new FederatedOptions { Hyperparameters = Hp, Rounds = 1, UserClipNorm = 1e-3, Seed = 3 };
        var capture = new CapturingAggregator();
        var sim = new FederatedSimulation(Split.Train, UserPartition.Random(Data.UserCount, 1, 1), options, capture);
        sim.Run();
        var v = capture.Inputs![0];
        var norm = Math.Sqrt(v.Sum(x => x * x));
        Assert.True(norm <= (Data.UserCount * 1e-3) + 1e-12, $"norm {norm}");
        Assert.True(norm > 0);
        var layout = sim.Layout;
        Assert.All(Enumerable.Range(0, layout.Length).Where(layout.IsWeight), j => Assert.Equal(0.0, v[j]));
    }

    [Fact]
    public void Noising_aggregator_without_a_clip_bound_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Simulation(new CapturingAggregator { Noise = true }));
    }

    [Fact]
    public void Client_recommends_top_n_unseen_items_in_score_order()
    {
        var sim = Simulation(new PlainAggregator());
        sim.Run();
        var client = sim.Clients[2];
        var user = client.Users[0];
        var top = client.RecommendTopN(user, sim.Global, 10);
        Assert.Equal(10, top.Count);
        Assert.Equal(10, top.Distinct().Count());
        var seen = Split.Train.Ratings.ToArray().Where(r => r.User == user).Select(r => r.Item).ToHashSet();
        Assert.DoesNotContain(top, seen.Contains);
        var model = sim.AssembleModel();
        var scores = top.Select(i => model.Predict(user, i)).ToArray();
        Assert.Equal(scores.OrderDescending(), scores);
        var best = Enumerable.Range(0, Data.ItemCount).Where(i => !seen.Contains(i)).Max(i => model.Predict(user, i));
        Assert.Equal(best, scores[0], 12);
    }

    [Fact]
    public void Client_refuses_a_user_it_does_not_hold()
    {
        var sim = Simulation(new PlainAggregator(), new FederatedOptions { Hyperparameters = Hp, Rounds = 0 });
        var other = sim.Clients[1].Users[0];
        Assert.Throws<ArgumentException>(() => sim.Clients[0].RecommendTopN(other, sim.Global, 5));
    }

    [Theory]
    [InlineData(0.6, 1.0)]
    [InlineData(0.0, 0.0)]
    public void Federated_options_out_of_range_are_refused(double dropout, double fraction)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FederatedOptions { DropoutRate = dropout, ClientFraction = fraction }.Validate());
    }

    private sealed class CapturingAggregator : IUpdateAggregator
    {
        public bool Noise { get; init; }

        public double[][]? Inputs { get; private set; }

        public string Name => "capture";

        public bool AddsNoise => Noise;

        public AggregationResult Aggregate(int round, IReadOnlyList<double[]> inputs, IReadOnlyList<bool> dropped, AggregationContext context)
        {
            Inputs = inputs.ToArray();
            return new PlainAggregator().Aggregate(round, inputs, dropped, context);
        }
    }
}
