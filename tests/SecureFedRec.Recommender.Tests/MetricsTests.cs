using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Evaluation;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void Rmse_and_mae_match_hand_computation()
    {
        double[] predicted = [1, 2, 3];
        double[] actual = [2, 2, 5];
        Assert.Equal(Math.Sqrt(5.0 / 3.0), Metrics.Rmse(predicted, actual), 12); // (1 + 0 + 4) / 3
        Assert.Equal(1.0, Metrics.Mae(predicted, actual), 12);                   // (1 + 0 + 2) / 3
    }

    [Fact]
    public void Rmse_refuses_mismatched_or_empty_input()
    {
        Assert.Throws<ArgumentException>(() => Metrics.Rmse([1.0], [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => Metrics.Mae([], []));
    }

    [Theory]
    [InlineData(0, 1.0, 1.0)]
    [InlineData(1, 1.0, 0.63092975357145743)] // 1 / log2(3)
    [InlineData(2, 1.0, 0.5)]                 // 1 / log2(4)
    [InlineData(9, 1.0, 0.28906482631788788)] // 1 / log2(11)
    [InlineData(10, 0.0, 0.0)]
    [InlineData(99, 0.0, 0.0)]
    public void Hit_rate_and_ndcg_at_10(int rank, double hr, double ndcg)
    {
        Assert.Equal(hr, Metrics.HitRate(rank, 10));
        Assert.Equal(ndcg, Metrics.Ndcg(rank, 10), 12);
    }

    [Theory]
    [InlineData(0.5, 1)]   // only 0.9 above
    [InlineData(0.35, 2)]  // 0.4 and 0.9 above
    [InlineData(0.4, 2)]   // tie with 0.4 counts against the positive
    [InlineData(0.0, 4)]
    [InlineData(double.NaN, 4)]
    public void Rank_counts_candidates_scoring_at_least_the_positive(double positive, int rank)
    {
        double[] candidates = [0.1, 0.4, 0.9, 0.3];
        Assert.Equal(rank, Metrics.RankOf(positive, candidates));
    }

    [Fact]
    public void Nan_candidate_outranks_the_positive()
    {
        Assert.Equal(1, Metrics.RankOf(0.9, [double.NaN, 0.1]));
    }

    [Fact]
    public void Evaluator_on_a_hand_built_model_gives_hand_computed_figures()
    {
        // 1 user, 103 items. User rated items 0..3 (timestamps 0..3); latest (item 3) is the ranking positive;
        // test fraction 0.34 of the 3 others → 1 rating held out for RMSE.
        var ratings = new[] { new Rating(0, 0, 4, 0), new Rating(0, 1, 2, 1), new Rating(0, 2, 3, 2), new Rating(0, 3, 5, 3) };
        var ds = RatingDataset.FromRatings("t", ratings, 1, 103);
        var split = EvaluationSplit.Create(ds, 0.34, 5);
        Assert.Equal(3, split.RankingPositive(0));
        Assert.Single(split.RatingTest);
        Assert.Equal([0, 1, 2], split.SeenItems(0));

        // Model: scores = item bias; the positive (item 3) gets 0.5, items 4..12 get 1..9 (above it), the rest 0.
        var model = new MatrixFactorizationModel(1, 103, 1) { GlobalMean = 3 };
        model.ItemBias[3] = 0.5;
        for (var i = 4; i <= 12; i++)
        {
            model.ItemBias[i] = i - 3;
        }

        var r = Evaluator.Evaluate(model, split, 1);

        // Full ranking: 99 unseen candidates (103 − 3 seen − positive); 9 score above → rank 9 → hit, NDCG 1/log2(11).
        Assert.Equal(1.0, r.HitRateFull);
        Assert.Equal(1 / Math.Log2(11), r.NdcgFull, 12);

        // Sampled: exactly 99 unseen items exist, so the 99 negatives are all of them: same rank.
        Assert.Equal(1.0, r.HitRateSampled);
        Assert.Equal(1 / Math.Log2(11), r.NdcgSampled, 12);

        // RMSE: prediction for the held-out item (bias 0) is 3, clamped to the training scale.
        var held = split.RatingTest[0];
        var train = split.Train;
        var pred = Math.Clamp(3.0 + model.ItemBias[held.Item], train.MinRating, train.MaxRating);
        Assert.Equal(Math.Abs(pred - held.Value), r.Rmse, 12);
        Assert.Equal(Math.Abs(pred - held.Value), r.Mae, 12);
        Assert.Equal(1, r.RankedUsers);
    }

    [Fact]
    public void Constant_scorer_never_hits_because_ties_count_against_the_positive()
    {
        var ds = SyntheticDataset.Generate(new SyntheticOptions { Users = 30, Items = 300, MedianRatingsPerUser = 20 }, 2);
        var split = EvaluationSplit.Create(ds, 0.2, 1);
        var model = new MatrixFactorizationModel(ds.UserCount, ds.ItemCount, 2) { GlobalMean = 3 };
        var r = Evaluator.Evaluate(model, split, 1);
        Assert.Equal(0.0, r.HitRateSampled);
        Assert.Equal(0.0, r.HitRateFull);
        Assert.Equal(30, r.RankedUsers);
    }

    [Fact]
    public void Trained_model_ranks_better_than_chance_and_sampled_exceeds_full()
    {
        var ds = SyntheticDataset.Generate(new SyntheticOptions { Users = 200, Items = 300, MedianRatingsPerUser = 30 }, 8);
        var split = EvaluationSplit.Create(ds, 0.2, 1);
        var model = CentralizedTrainer.Train(split.Train, new MfHyperparameters { Factors = 8, Epochs = 20 }, 1);
        var r = Evaluator.Evaluate(model, split, 1);
        Assert.True(r.HitRateSampled > 0.15, $"HR@10 sampled {r.HitRateSampled} (chance 0.1)");
        Assert.True(r.HitRateSampled >= r.HitRateFull);
    }
}
