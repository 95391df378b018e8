using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Ranking;

namespace SecureFedRec.Recommender.Tests;

/// <summary>Item-kNN over the DP item Gram (<see cref="ItemGramFederation"/>): sensitivity, scoring, accounting, refusals.</summary>
public sealed class ItemGramTests
{
    private static readonly RankingSplit Split = Planted.Split();

    /// <summary>Records every round's inputs and context and sums exactly.</summary>
    private sealed class Recorder(bool noise = false) : IUpdateAggregator
    {
        public List<double[][]> Inputs { get; } = [];

        public List<AggregationContext> Contexts { get; } = [];

        public string Name => "recorder";

        public bool AddsNoise => noise;

        public AggregationResult Aggregate(int round, IReadOnlyList<double[]> inputs, IReadOnlyList<bool> dropped, AggregationContext context)
        {
            Inputs.Add(inputs.Select(x => x.ToArray()).ToArray());
            Contexts.Add(context);
            return new PlainAggregator().Aggregate(round, inputs, dropped, context);
        }
    }

    private static Interaction[] Train(params int[] items) => items.Select((x, k) => new Interaction(x, 1, k, k)).ToArray();

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));

    [Theory]
    [InlineData(new[] { 0, 1, 2, 7, 8 }, 1.0)] // candidates {0..4} and others: norm 1
    [InlineData(new[] { 0, 3 }, 0.85)] // only candidates: the Gram part alone, √(1 − φ)·1 … plus nothing outside
    [InlineData(new[] { 6, 9 }, 0.15)] // only other items: √φ
    [InlineData(new[] { 4 }, 0.85)] // one candidate: a single diagonal entry
    public void A_users_round_two_vector_has_the_stated_norm_and_holds_its_outer_product(int[] items, double squaredNorm)
    {
        const int Catalogue = 10;
        const int M = 5;
        const double Phi = 0.15;
        var indexOf = Enumerable.Range(0, Catalogue).Select(i => i < M ? i : -1).ToArray();
        var v = new double[Catalogue + (M * (M + 1) / 2)];
        ItemGramFederation.UserVector(Train(items), indexOf, Math.Sqrt(Phi), Math.Sqrt(1 - Phi), Catalogue, M, v);
        Assert.Equal(squaredNorm, v.Sum(x => x * x), 9);

        // The triangle, un-scaled (÷ √(1 − φ), off-diagonals ÷ √2), is r rᵀ with r = indicator / √(candidate count).
        var mine = items.Where(i => i < M).ToArray();
        for (var a = 0; a < M; a++)
        {
            for (var b = a; b < M; b++)
            {
                var expected = mine.Contains(a) && mine.Contains(b) ? 1.0 / mine.Length : 0;
                var got = v[Catalogue + ItemGramFederation.TriangleIndex(a, b, M)] / Math.Sqrt(1 - Phi) / (a == b ? 1 : Math.Sqrt(2));
                Assert.Equal(expected, got, 12);
            }
        }
    }

    [Fact]
    public void Triangle_index_is_a_bijection_onto_the_upper_triangle()
    {
        const int M = 7;
        var seen = new HashSet<int>();
        for (var a = 0; a < M; a++)
        {
            for (var b = a; b < M; b++)
            {
                Assert.True(seen.Add(ItemGramFederation.TriangleIndex(a, b, M)));
            }
        }

        Assert.Equal(Enumerable.Range(0, M * (M + 1) / 2), seen.Order());
    }

    [Fact]
    public void At_user_level_no_user_moves_either_rounds_sum_by_more_than_one()
    {
        // One user per client: each client's input is exactly one user's contribution.
        var recorder = new Recorder();
        ItemGramFederation.Train(Split, UserPartition.OnePerUser(Split.UserCount), new ItemGramSettings { Candidates = 30, DropoutRate = 0 }, recorder);
        Assert.Equal(2, recorder.Inputs.Count);
        foreach (var (inputs, context) in recorder.Inputs.Zip(recorder.Contexts))
        {
            Assert.Equal(1.0, context.UserClipNorm);
            Assert.All(inputs, x => Assert.InRange(Norm(x), 0.3, 1 + 1e-9)); // √φ ≈ 0.39 for a user with candidate items only
        }

        // A user with items in and outside the candidates uses its whole unit norm in round 2.
        Assert.Contains(recorder.Inputs[1], x => Math.Abs(Norm(x) - 1) < 1e-9);
    }

    [Fact]
    public void At_institution_level_each_clients_whole_sum_is_clipped_to_one()
    {
        var recorder = new Recorder();
        ItemGramFederation.Train(Split, UserPartition.Random(Split.UserCount, 4, 1), new ItemGramSettings { Candidates = 30, Unit = PrivacyUnit.Institution, DropoutRate = 0 }, recorder);
        Assert.All(recorder.Inputs.SelectMany(x => x), x => Assert.InRange(Norm(x), 0.99, 1 + 1e-9));
        Assert.All(recorder.Contexts, c => Assert.Equal(1, c.MaxUsersPerClient));
    }

    [Fact]
    public void Candidates_rank_above_the_other_items_and_recommendations_exclude_seen_items()
    {
        var result = ItemGramFederation.Train(Split, UserPartition.Random(Split.UserCount, 4, 1), new ItemGramSettings { Candidates = 20, Unit = PrivacyUnit.None }, new PlainAggregator());
        var scorer = result.Scorer;
        var candidates = scorer.Candidates.ToHashSet();
        Assert.Equal(20, candidates.Count);
        var scores = new double[Split.ItemCount];
        for (var u = 0; u < Split.UserCount; u++)
        {
            scorer.Score(u, scores);
            var lowestCandidate = candidates.Min(i => scores[i]);
            Assert.All(Enumerable.Range(0, Split.ItemCount).Where(i => !candidates.Contains(i)), i => Assert.True(scores[i] < lowestCandidate));
            var seen = Split.Train[u].Select(x => x.Item).ToHashSet();
            var top = scorer.Recommend(u, 10);
            Assert.Equal(10, top.Length);
            Assert.DoesNotContain(top, seen.Contains);
        }
    }

    [Fact]
    public void The_exact_gram_beats_popularity_and_secure_aggregation_changes_nothing()
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        var settings = new ItemGramSettings { Candidates = 40, Unit = PrivacyUnit.None, DropoutRate = 0.25 };
        var exact = ItemGramFederation.Train(Split, partition, settings, new PlainAggregator());
        var plain = RankingEvaluator.Evaluate(exact.Scorer, Split);
        var secagg = ItemGramFederation.Train(Split, partition, settings, new SecureRoundAggregator(null, 1, threads: 1));
        var popularity = RankingEvaluator.Evaluate(PopularityScorer.Fit(Split), Split);
        Assert.True(plain.FullHr10 > popularity.FullHr10 + 0.2, $"item-kNN {plain.FullHr10} vs popularity {popularity.FullHr10}");
        Assert.All(secagg.Rounds, r => Assert.Equal(3, r.Survivors));

        // Through secure aggregation the sums move by quantization only, but the planted data is full of exact ties
        // (equal popularity, equal co-occurrence), which then break either way, down to which items are candidates;
        // on ml-latest-small the two rows agree to the printed digit.
        var through = RankingEvaluator.Evaluate(secagg.Scorer, Split);
        Assert.InRange(through.FullHr10, plain.FullHr10 - 0.1, plain.FullHr10 + 0.1);
        Assert.True(through.FullHr10 > popularity.FullHr10 + 0.1, $"item-kNN through secagg {through.FullHr10} vs popularity {popularity.FullHr10}");
    }

    [Fact]
    public void Both_rounds_go_through_the_round_pipeline_and_the_ledger_composes_them_to_the_target()
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        var result = ItemGramFederation.Train(Split, partition, new ItemGramSettings { Candidates = 30, DropoutRate = 0 }, new SecureRoundAggregator(new DpTarget(8, 1e-5, 2), 1, threads: 1));
        var (first, second) = (result.Rounds[0].EpsilonSpent, result.Rounds[1].EpsilonSpent);
        Assert.True(first > 0 && first < second, $"ε after round 1 {first}, after round 2 {second}");
        Assert.True(second <= 8 * (1 + 1e-6), $"ε spent {second} exceeds the target 8");
        Assert.True(second < 2 * first, $"composition is no better than adding ε: {first} then {second}");
    }

    [Fact]
    public void The_positive_low_rank_part_keeps_the_top_positive_eigenpairs_only()
    {
        const int M = 10;
        var v = new double[3][];
        for (var e = 0; e < 3; e++)
        {
            v[e] = new double[M];
        }

        // Orthonormal: three disjoint supports.
        for (var i = 0; i < M; i++)
        {
            v[i % 3][i] = 1;
        }

        foreach (var x in v)
        {
            var n = Norm(x);
            for (var i = 0; i < M; i++)
            {
                x[i] /= n;
            }
        }

        double[] lambda = [5, 2, -3];
        var a = new double[M * M];
        for (var i = 0; i < M; i++)
        {
            for (var j = 0; j < M; j++)
            {
                for (var e = 0; e < 3; e++)
                {
                    a[(i * M) + j] += lambda[e] * v[e][i] * v[e][j];
                }
            }
        }

        using var rng = SecureFedRec.Recommender.Internal.Rng.ForPurpose(1, "test");
        ItemGramFederation.PositiveLowRank(a, M, 2, rng);
        for (var i = 0; i < M; i++)
        {
            for (var j = 0; j < M; j++)
            {
                Assert.Equal((5 * v[0][i] * v[0][j]) + (2 * v[1][i] * v[1][j]), a[(i * M) + j], 6);
            }
        }
    }

    [Theory]
    [InlineData(1, 0.5, 1, 0, 0.1, "--gram-items")]
    [InlineData(Planted.Items + 1, 0.5, 1, 0, 0.1, "--gram-items")]
    [InlineData(20, 0, 1, 0, 0.1, "--prior-share")]
    [InlineData(20, 1, 1, 0, 0.1, "--prior-share")]
    [InlineData(20, 0.5, -1, 0, 0.1, "--prior-weight")]
    [InlineData(20, 0.5, double.NaN, 0, 0.1, "--prior-weight")]
    [InlineData(20, 0.5, 1, -1, 0.1, "--gram-rank")]
    [InlineData(20, 0.5, 1, 21, 0.1, "--gram-rank")]
    [InlineData(20, 0.5, 1, 0, 0.6, "--dropout")]
    public void Bad_settings_are_refused_naming_the_setting(int candidates, double share, double weight, int rank, double dropout, string name)
    {
        var settings = new ItemGramSettings { Candidates = candidates, PriorShare = share, PriorWeight = weight, Rank = rank, DropoutRate = dropout };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ItemGramFederation.Train(Split, UserPartition.Random(Split.UserCount, 4, 1), settings, new PlainAggregator()));
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void A_noising_aggregator_without_a_privacy_unit_and_a_mismatched_partition_are_refused()
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        Assert.Throws<ArgumentException>(() => ItemGramFederation.Train(Split, partition, new ItemGramSettings { Candidates = 20, Unit = PrivacyUnit.None }, new Recorder(noise: true)));
        Assert.Throws<ArgumentException>(() => ItemGramFederation.Train(Split, UserPartition.Random(Split.UserCount - 1, 4, 1), new ItemGramSettings { Candidates = 20 }, new PlainAggregator()));
    }

    [Fact]
    public void The_item_knn_model_is_not_a_factor_model()
    {
        var e = Assert.Throws<ArgumentException>(() => RankingSimulation.Create(RankingModelKind.Knn, Planted.Items, Planted.Hp));
        Assert.Contains("item-kNN", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 0, "--gram-items")]
    [InlineData(2001, 0, "--gram-items")]
    [InlineData(500, -1, "--gram-rank")]
    [InlineData(500, 501, "--gram-rank")]
    public void Ranking_options_refuse_bad_gram_settings(int items, int rank, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RankingOptions { Model = RankingModelKind.Knn, GramItems = items, GramRank = rank }.Validate());
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void Simulate_knn_on_the_synthetic_data_prints_every_row()
    {
        var report = RankingSimulation.Run(new RankingOptions { Model = RankingModelKind.Knn, GramItems = 200, EpsilonSweep = [8], Plot = Path.Combine(Path.GetTempPath(), $"knn-{Guid.NewGuid():N}.svg") });
        Assert.Equal(9, report.Rows.Count); // the DP user row's two parts alone beside it (--local-weight > 0 by default)
        Assert.Single(report.Rows, r => r.Setting.Contains("global part alone", StringComparison.Ordinal));
        Assert.Single(report.Rows, r => r.Setting.Contains("own users alone", StringComparison.Ordinal));
        Assert.Equal(2, report.Sweep.Count);
        Assert.Contains(report.Rows, r => r.PrivacyUnit == "user" && r.Epsilon is > 0 and <= 8);
        Assert.Contains(report.Rows, r => r.PrivacyUnit == "institution");
        Assert.True(File.Exists(report.PlotPath));
        File.Delete(report.PlotPath!);
    }
}
