using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Ranking;

namespace SecureFedRec.Recommender.Tests;

/// <summary>
/// The item-kNN served by each institution (<see cref="InstitutionBlendScorer"/>): the DP global score plus the
/// institution's own exact user-kNN signal (<see cref="InstitutionNeighbourhood"/>) — its arithmetic, that it reads the
/// user's own institution only, that it never changes what is sent, that the blend beats either part alone, refusals.
/// </summary>
public sealed class InstitutionBlendTests
{
    private static readonly RankingSplit Split = Planted.Split();

    private static Interaction[] Train(params int[] items) => items.Select((x, k) => new Interaction(x, 1, k, k)).ToArray();

    /// <summary>Every item scores its index (a fixed global part that is easy to recognise).</summary>
    private sealed class IndexScorer : IUserScorer
    {
        public void Score(int user, Span<double> scores)
        {
            for (var i = 0; i < scores.Length; i++)
            {
                scores[i] = i / 100.0;
            }
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    [InlineData(3.0)]
    public void The_neighbourhood_is_the_cosine_to_the_power_gamma_normalised_over_unseen_items(double gamma)
    {
        // u0 {0, 1}; u1 {0, 1, 2}: cosine 2/√6; u2 {0, 4, 5, 6}: cosine 1/√8; u3 {7}: shares nothing.
        var signal = new InstitutionNeighbourhood([Train(0, 1), Train(0, 1, 2), Train(0, 4, 5, 6), Train(7)], 9, gamma);
        var scores = new double[9];
        signal.Score(0, scores);
        var near = Math.Pow(2 / Math.Sqrt(6), gamma);
        var far = Math.Pow(1 / Math.Sqrt(8), gamma);
        Assert.Equal(1.0, scores[2], 12); // the largest unseen score is 1
        Assert.Equal(far / near, scores[4], 12);
        Assert.Equal(far / near, scores[6], 12);
        Assert.Equal(0.0, scores[7]); // u3 shares no item with u0
        Assert.Equal(0.0, scores[8]); // nobody has item 8
        Assert.Equal((near + far) / near, scores[0], 12); // seen items are scored too (the recommender excludes them)
    }

    [Fact]
    public void At_gamma_zero_the_signal_is_the_institutions_exact_popularity_among_the_other_users()
    {
        var signal = new InstitutionNeighbourhood([Train(0, 1), Train(0, 1, 2), Train(0, 4, 2), Train(7)], 9, 0);
        var scores = new double[9];
        signal.Score(0, scores);
        Assert.Equal(1.0, scores[2], 12); // two other users
        Assert.Equal(0.5, scores[4], 12);
        Assert.Equal(0.5, scores[7], 12); // popularity counts users who share nothing with u0
        Assert.Equal(0.0, scores[8]);
    }

    [Fact]
    public void A_user_alone_in_its_institution_gets_no_signal_from_its_own_items()
    {
        var signal = new InstitutionNeighbourhood([Train(0, 1, 2)], 5, 3);
        var scores = new double[5];
        Array.Fill(scores, 7.0);
        signal.Score(0, scores);
        Assert.All(scores, s => Assert.Equal(0.0, s));
    }

    [Fact]
    public void The_blend_reads_only_the_users_own_institution_and_an_institution_can_compute_it_alone()
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        var blend = new InstitutionBlendScorer(new IndexScorer(), Split.Train, partition, Split.ItemCount, 2, 3);

        // Another institution's data changed beyond recognition: the scores of institution 0's users do not move.
        var changed = Split.Train.Select((t, u) => partition.ClientOf(u) == 0 ? t : Train((u % 5) + 1, 50)).ToArray();
        var other = new InstitutionBlendScorer(new IndexScorer(), changed, partition, Split.ItemCount, 2, 3);

        // Institution 0 alone, holding only its own users (as a networked client does).
        var mine = partition.UsersOf(0);
        var alone = new InstitutionNeighbourhood(mine.Select(u => Split.Train[u]).ToArray(), Split.ItemCount, 3);
        var client = InstitutionBlendScorer.ForOneInstitution(new IndexScorer(), mine.Select(u => Split.Train[u]).ToArray(), Split.ItemCount, 2, 3);
        var (a, b, c, d) = (new double[Split.ItemCount], new double[Split.ItemCount], new double[Split.ItemCount], new double[Split.ItemCount]);
        for (var k = 0; k < mine.Count; k++)
        {
            blend.Score(mine[k], a);
            other.Score(mine[k], b);
            alone.Score(k, c);
            client.Score(k, d);
            Assert.Equal(a, b);
            Assert.Equal(a, d);
            for (var i = 0; i < a.Length; i++)
            {
                Assert.Equal((i / 100.0) + (2 * c[i]), a[i], 12);
            }
        }

        // …while a user of an institution whose data changed does see it.
        var moved = Enumerable.Range(0, Split.UserCount).First(u => partition.ClientOf(u) == 1);
        blend.Score(moved, a);
        other.Score(moved, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void The_local_part_never_changes_what_is_sent_and_weight_zero_serves_the_global_model_itself()
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        byte[][] Sent(ItemGramSettings s, out ItemGramResult result)
        {
            var recorder = new RecordingAggregator();
            result = ItemGramFederation.Train(Split, partition, s, recorder);
            return recorder.Inputs.SelectMany(round => round).Select(v => v.SelectMany(BitConverter.GetBytes).ToArray()).ToArray();
        }

        var baseline = new ItemGramSettings { Candidates = 30, DropoutRate = 0, LocalWeight = 0 };
        var without = Sent(baseline, out var global);
        var with = Sent(baseline with { LocalWeight = 5, LocalExponent = 1 }, out var blended);
        Assert.Equal(without.Length, with.Length);
        for (var x = 0; x < without.Length; x++)
        {
            Assert.Equal(without[x], with[x]);
        }

        Assert.Same(global.Scorer, ItemGramFederation.Serve(global, Split, partition, baseline));
        Assert.IsType<InstitutionBlendScorer>(ItemGramFederation.Serve(blended, Split, partition, baseline with { LocalWeight = 5 }));
    }

    [Fact]
    public void Under_dp_the_blend_beats_the_global_model_and_the_institutions_alone()
    {
        // 12 institutions of 10 users: each holds too few users to rank well alone, the DP global model (120 users) is
        // noisy. Every item is a candidate: with fewer, the global tiers (candidates above the rest, a gap of 2 + 2β)
        // outweigh w = 2 here, and a held-out item outside the noisy candidates cannot be lifted by the local part.
        var partition = UserPartition.Random(Split.UserCount, 12, 1);
        var settings = new ItemGramSettings { Candidates = Planted.Items, DropoutRate = 0, LocalWeight = 2, LocalExponent = 3 };
        // Averaged over four noise seeds: one DP draw alone decides a 120-user hit rate by a few users either way.
        double servedFull = 0, globalFull = 0, servedSampled = 0, globalSampled = 0;
        const int Seeds = 4;
        for (ulong seed = 1; seed <= Seeds; seed++)
        {
            var result = ItemGramFederation.Train(Split, partition, settings, new SecureRoundAggregator(new DpTarget(8, 1e-5, 2), seed, threads: 1));
            var served = RankingEvaluator.Evaluate(ItemGramFederation.Serve(result, Split, partition, settings), Split);
            var global = RankingEvaluator.Evaluate(result.Scorer, Split);
            servedFull += served.FullHr10 / Seeds;
            globalFull += global.FullHr10 / Seeds;
            servedSampled += served.SampledHr10 / Seeds;
            globalSampled += global.SampledHr10 / Seeds;
        }

        var local = RankingEvaluator.Evaluate(InstitutionBlendScorer.LocalOnly(Split.Train, partition, Split.ItemCount, 3), Split);
        Assert.True(servedFull > globalFull + 0.05, $"blend {servedFull} vs global {globalFull}");
        Assert.True(servedFull > local.FullHr10 + 0.05, $"blend {servedFull} vs local {local.FullHr10}");
        Assert.True(servedSampled > Math.Max(globalSampled, local.SampledHr10) + 0.02, $"blend {servedSampled} vs global {globalSampled}, local {local.SampledHr10}");
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_bad_exponent_is_refused(double gamma)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new InstitutionNeighbourhood([Train(0)], 3, gamma));
        Assert.Equal("exponent", e.ParamName);
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_bad_local_weight_is_refused(double w)
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new InstitutionBlendScorer(new IndexScorer(), Split.Train, partition, Split.ItemCount, w, 3));
        Assert.Equal("localWeight", e.ParamName);
    }

    [Fact]
    public void Bad_neighbourhood_inputs_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new InstitutionNeighbourhood([Train(0, 3)], 3, 1)); // item outside the catalogue
        var signal = new InstitutionNeighbourhood([Train(0), Train(1)], 3, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => signal.Score(2, new double[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => signal.Score(-1, new double[3]));
        Assert.Throws<ArgumentException>(() => signal.Score(0, new double[4]));
        Assert.Throws<ArgumentException>(() => new InstitutionBlendScorer(new IndexScorer(), Split.Train, UserPartition.Random(Split.UserCount - 1, 4, 1), Split.ItemCount, 1, 1));
    }

    [Theory]
    [InlineData(-1, 3, "--local-weight")]
    [InlineData(double.NaN, 3, "--local-weight")]
    [InlineData(2, -1, "--local-exponent")]
    [InlineData(2, double.PositiveInfinity, "--local-exponent")]
    public void Bad_local_settings_are_refused_naming_the_flag(double w, double gamma, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RankingOptions { Model = RankingModelKind.Knn, GramLocalWeight = w, GramLocalExponent = gamma }.Validate());
        Assert.Equal(name, e.ParamName);
        var s = Assert.Throws<ArgumentOutOfRangeException>(() => ItemGramFederation.Train(Split, UserPartition.Random(Split.UserCount, 4, 1), new ItemGramSettings { Candidates = 20, LocalWeight = w, LocalExponent = gamma }, new PlainAggregator()));
        Assert.Equal(name, s.ParamName);
    }

    [Fact]
    public void Simulate_knn_without_the_local_part_prints_the_global_rows_only()
    {
        var report = RankingSimulation.Run(new RankingOptions { Model = RankingModelKind.Knn, GramItems = 200, GramLocalWeight = 0 });
        Assert.Equal(7, report.Rows.Count);
        Assert.DoesNotContain(report.Rows, r => r.Setting.Contains("own institution", StringComparison.Ordinal));
    }
}
