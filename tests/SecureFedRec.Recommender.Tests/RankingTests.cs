using System.Text.Json;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Ranking;

namespace SecureFedRec.Recommender.Tests;

/// <summary>Planted structure: users in 3 groups, each group interacts with its own block of items, plus a few globally popular items.</summary>
internal static class Planted
{
    public const int Users = 120;
    public const int Groups = 3;
    public const int Block = 18;
    public const int Popular = 6;
    public const int Items = (Groups * Block) + Popular;

    public static ImplicitDataset Data()
    {
        var events = new List<InteractionEvent>();
        for (var u = 0; u < Users; u++)
        {
            var g = u % Groups;
            long t = 0;
            for (var p = 0; p < 3; p++)
            {
                events.Add(new InteractionEvent(u, (Groups * Block) + ((u + (p * 2)) % Popular), EventKind.View, 1, t++));
            }

            var chosen = new HashSet<int>();
            for (var j = 0; chosen.Count < 8; j++)
            {
                var item = (g * Block) + (((u * 7) + (j * 5)) % Block);
                if (chosen.Add(item))
                {
                    events.Add(new InteractionEvent(u, item, EventKind.Click, 2, t++));
                }
            }
        }

        return ImplicitDataset.FromEvents("planted", events, Users, Items);
    }

    public static RankingSplit Split() => RankingSplit.Create(Data(), HoldoutProtocol.LeaveLatestOut, 20, 3);

    public static RankingHyperparameters Hp => new() { Factors = 8, Hidden = 8, Lambda = 1, Alpha = 4, LearningRate = 0.05, Regularization = 0.001 };
}

/// <summary>Records the inputs it is given and sums them exactly.</summary>
internal sealed class RecordingAggregator : IUpdateAggregator
{
    public List<IReadOnlyList<double[]>> Inputs { get; } = [];

    public AggregationContext? Context { get; private set; }

    public string Name => "recording";

    public bool AddsNoise { get; init; }

    public AggregationResult Aggregate(int round, IReadOnlyList<double[]> inputs, IReadOnlyList<bool> dropped, AggregationContext context)
    {
        Inputs.Add(inputs.Select(x => x.ToArray()).ToArray());
        Context = context;
        return new PlainAggregator().Aggregate(round, inputs, dropped, context);
    }
}

public sealed class InteractionDataTests
{
    private static ImplicitDataset Parse(string text) => InteractionLoader.ParseEvents(text, "events.csv");

    [Fact]
    public void Events_csv_parses_kinds_weights_and_timestamps()
    {
        var d = Parse("user,item,kind,weight,timestamp\na,x,view,,10\na,y,purchase,3.5,11\nb,x,click,,12\n");
        Assert.Equal(2, d.UserCount);
        Assert.Equal(2, d.ItemCount);
        Assert.Equal(3, d.Count);
        Assert.Equal(new InteractionEvent(0, 0, EventKind.View, 1, 10), d.Events[0]);
        Assert.Equal(new InteractionEvent(0, 1, EventKind.Purchase, 3.5f, 11), d.Events[1]);
        Assert.Equal(new InteractionEvent(1, 0, EventKind.Click, 2, 12), d.Events[2]);
        Assert.Equal("b", d.UserId(1));
        Assert.Equal("y", d.ItemId(1));
    }

    [Fact]
    public void Events_csv_without_timestamps_uses_line_order()
    {
        var d = Parse("user,item,kind\nu,i,purchase\nu,j,view\n");
        Assert.Equal(2, d.Events[0].Timestamp);
        Assert.Equal(3, d.Events[1].Timestamp);
        Assert.Equal(4, d.Events[0].Weight);
    }

    [Theory]
    [InlineData("user,item,rating\nu,i,1\n", 1)]
    [InlineData("user,item,kind\nu,i\n", 2)]
    [InlineData("user,item,kind\nu,i,view\n,i,view\n", 3)]
    [InlineData("user,item,kind\nu,,view\n", 2)]
    [InlineData("user,item,kind\nu,i,like\n", 2)]
    [InlineData("user,item,kind,weight\nu,i,view,0\n", 2)]
    [InlineData("user,item,kind,weight\nu,i,view,-1\n", 2)]
    [InlineData("user,item,kind,weight\nu,i,view,NaN\n", 2)]
    [InlineData("user,item,kind,weight,timestamp\nu,i,view,1,soon\n", 2)]
    [InlineData("user,item,kind\nu,i,view\n\nu,j,view\n", 3)]
    [InlineData("user,item,kind\n", 0)]
    [InlineData("", 1)]
    public void Events_csv_refuses_bad_lines_naming_the_line(string text, int line)
    {
        var e = Assert.Throws<DatasetFormatException>(() => Parse(text));
        Assert.Equal(line, e.LineNumber);
        Assert.Equal("events.csv", e.FilePath);
    }

    [Fact]
    public void Ratings_are_binarized_at_the_threshold()
    {
        var ratings = RatingDataset.FromRatings("r", [new Rating(0, 0, 5, 1), new Rating(0, 1, 2, 2), new Rating(1, 1, 4, 3)], 2, 2);
        var d = ImplicitDataset.FromRatings(ratings, 4);
        Assert.Equal(2, d.Count);
        Assert.All(d.Events.ToArray(), e => Assert.Equal(EventKind.Rating, e.Kind));
        Assert.Equal(2, d.UserCount);
        Assert.Equal(3, ImplicitDataset.FromRatings(ratings, 0).Count);
    }

    [Fact]
    public void Repeated_events_merge_into_one_interaction_with_summed_weight_and_latest_time()
    {
        var d = ImplicitDataset.FromEvents("e", [new(0, 1, EventKind.View, 1, 5), new(0, 0, EventKind.View, 1, 7), new(0, 1, EventKind.Purchase, 4, 9)], 1, 2);
        var byUser = d.ByUser();
        Assert.Equal(2, byUser[0].Length);
        Assert.Equal(0, byUser[0][0].Item);
        Assert.Equal(1, byUser[0][1].Item);
        Assert.Equal(5, byUser[0][1].Weight);
        Assert.Equal(9, byUser[0][1].Timestamp);
    }

    [Theory]
    [InlineData(2, 0, 1)]
    [InlineData(0, 2, 1)]
    [InlineData(0, 0, 0)]
    [InlineData(0, 0, -1)]
    public void FromEvents_refuses_out_of_range_events(int user, int item, float weight)
    {
        Assert.Throws<ArgumentException>(() => ImplicitDataset.FromEvents("e", [new(user, item, EventKind.View, weight, 0)], 2, 2));
    }
}

public sealed class RankingSplitTests
{
    [Fact]
    public void Leave_latest_out_holds_out_each_users_latest_interaction()
    {
        var data = Planted.Data();
        var split = RankingSplit.Create(data, HoldoutProtocol.LeaveLatestOut, 20, 1);
        var byUser = data.ByUser();
        for (var u = 0; u < split.UserCount; u++)
        {
            Assert.Equal(byUser[u][^1].Item, split.HeldOut(u));
            Assert.DoesNotContain(split.Train[u], x => x.Item == split.HeldOut(u));
            Assert.Equal(byUser[u].Length - 1, split.Train[u].Length);
        }
    }

    [Theory]
    [InlineData(HoldoutProtocol.LeaveLatestOut)]
    [InlineData(HoldoutProtocol.LeaveOneOutRandom)]
    public void Negatives_are_distinct_and_never_interacted(HoldoutProtocol protocol)
    {
        var data = Planted.Data();
        var split = RankingSplit.Create(data, protocol, 20, 2);
        var byUser = data.ByUser();
        for (var u = 0; u < split.UserCount; u++)
        {
            var negatives = split.Negatives(u);
            Assert.Equal(20, negatives.Count);
            Assert.Equal(20, negatives.Distinct().Count());
            Assert.DoesNotContain(negatives, j => byUser[u].Any(x => x.Item == j));
        }
    }

    [Fact]
    public void Random_leave_one_out_differs_from_latest_and_is_seeded()
    {
        var data = Planted.Data();
        var a = RankingSplit.Create(data, HoldoutProtocol.LeaveOneOutRandom, 5, 7);
        var b = RankingSplit.Create(data, HoldoutProtocol.LeaveOneOutRandom, 5, 7);
        var latest = RankingSplit.Create(data, HoldoutProtocol.LeaveLatestOut, 5, 7);
        Assert.All(Enumerable.Range(0, a.UserCount), u => Assert.Equal(a.HeldOut(u), b.HeldOut(u)));
        Assert.Contains(Enumerable.Range(0, a.UserCount), u => a.HeldOut(u) != latest.HeldOut(u));
    }

    [Fact]
    public void Nested_validation_split_never_sees_the_test_item()
    {
        var split = Planted.Split();
        var nested = split.Nested();
        for (var u = 0; u < split.UserCount; u++)
        {
            var test = split.HeldOut(u);
            Assert.NotEqual(test, nested.HeldOut(u));
            Assert.DoesNotContain(nested.Train[u], x => x.Item == test);
            Assert.Equal(split.Train[u].Length - 1, nested.Train[u].Length);
        }
    }

    [Fact]
    public void Users_with_a_single_interaction_are_not_evaluated()
    {
        var d = ImplicitDataset.FromEvents("e", [new(0, 0, EventKind.View, 1, 0), new(1, 0, EventKind.View, 1, 0), new(1, 1, EventKind.View, 1, 1)], 2, 5);
        var split = RankingSplit.Create(d, HoldoutProtocol.LeaveLatestOut, 2, 1);
        Assert.Equal(-1, split.HeldOut(0));
        Assert.Equal(1, split.HeldOut(1));
        Assert.Equal(1, split.EvaluatedUsers);
    }

    [Fact]
    public void More_negatives_than_unseen_items_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RankingSplit.Create(Planted.Data(), HoldoutProtocol.LeaveLatestOut, Planted.Items, 1));
    }
}

public sealed class RankingMetricTests
{
    [Theory]
    [InlineData(0, 1.0, 1.0, 1.0, 1.0)]
    [InlineData(9, 1.0, 0.28906482631, 1.0, 0.1)]
    [InlineData(10, 0.0, 0.0, 1.0, 0.0909090909)]
    [InlineData(25, 0.0, 0.0, 0.0, 0.0384615385)]
    public void Metrics_follow_from_the_rank(int rank, double hr, double ndcg, double recall20, double mrr)
    {
        var m = RankingEvaluator.FromRanks([rank], [rank]);
        Assert.Equal(hr, m.SampledHr10, 9);
        Assert.Equal(ndcg, m.SampledNdcg10, 9);
        Assert.Equal(recall20, m.SampledRecall20, 9);
        Assert.Equal(mrr, m.SampledMrr, 9);
        Assert.Equal(hr, m.FullHr10, 9);
        Assert.Equal(1, m.Users);
    }

    private sealed class Oracle(RankingSplit split, bool constant) : IUserScorer
    {
        public void Score(int user, Span<double> scores)
        {
            scores.Clear();
            if (!constant)
            {
                scores[split.HeldOut(user)] = 1;
            }
        }
    }

    [Fact]
    public void An_oracle_hits_every_user_and_a_constant_scorer_none()
    {
        var split = Planted.Split();
        var oracle = RankingEvaluator.Evaluate(new Oracle(split, false), split);
        var constant = RankingEvaluator.Evaluate(new Oracle(split, true), split);
        Assert.Equal(1, oracle.FullHr10);
        Assert.Equal(1, oracle.SampledNdcg10);
        Assert.Equal(0, constant.SampledHr10);
        Assert.Equal(0, constant.FullHr10);
    }

    [Fact]
    public void Full_ranking_excludes_training_items()
    {
        // Scores every training item above the held-out item: they must not count against it.
        var split = Planted.Split();
        var m = RankingEvaluator.Evaluate(new TrainFirst(split), split);
        Assert.Equal(1, m.FullHr10);
    }

    private sealed class TrainFirst(RankingSplit split) : IUserScorer
    {
        public void Score(int user, Span<double> scores)
        {
            scores.Clear();
            foreach (var x in split.Train[user])
            {
                scores[x.Item] = 10;
            }

            scores[split.HeldOut(user)] = 1;
        }
    }
}

public sealed class RankingModelTests
{
    private static readonly RankingSplit Split = Planted.Split();
    private static readonly RankingMetrics Popularity = RankingEvaluator.Evaluate(PopularityScorer.Fit(Split), Split);

    [Theory]
    [InlineData(RankingModelKind.Bpr, 40)]
    [InlineData(RankingModelKind.Ials, 10)]
    [InlineData(RankingModelKind.Neural, 40)]
    public void Centralized_model_beats_popularity_on_planted_groups(RankingModelKind kind, int epochs)
    {
        var m = RankingEvaluator.Evaluate(RankingSimulation.TrainCentral(kind, Split, Planted.Hp, epochs, 1), Split);
        Assert.True(m.FullHr10 > Popularity.FullHr10 + 0.2, $"{kind}: full HR@10 {m.FullHr10} vs popularity {Popularity.FullHr10}");
        Assert.True(m.SampledHr10 > Popularity.SampledHr10, $"{kind}: sampled HR@10 {m.SampledHr10} vs popularity {Popularity.SampledHr10}");
    }

    [Theory]
    [InlineData(RankingModelKind.Bpr)]
    [InlineData(RankingModelKind.Ials)]
    public void Federated_model_through_secure_aggregation_approaches_central(RankingModelKind kind)
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        var settings = new FederationSettings { Rounds = kind == RankingModelKind.Ials ? 20 : 15, LocalEpochs = 3, DropoutRate = 0.25, Seed = 2 };
        var (fed, rounds) = RankingSimulation.Federate(kind, Split, partition, Planted.Hp, settings, new SecureRoundAggregator(null, 1, threads: 1));
        var central = RankingEvaluator.Evaluate(RankingSimulation.TrainCentral(kind, Split, Planted.Hp, kind == RankingModelKind.Ials ? 10 : 40, 1), Split);
        Assert.All(rounds, r => Assert.Equal(3, r.Survivors));
        Assert.True(fed.FullHr10 > Popularity.FullHr10 + 0.2, $"{kind} federated {fed.FullHr10} vs popularity {Popularity.FullHr10}");
        Assert.True(fed.FullHr10 >= 0.8 * central.FullHr10, $"{kind} federated {fed.FullHr10} vs central {central.FullHr10}");
    }

    [Fact]
    public void Personalized_offsets_stay_with_their_client()
    {
        var partition = UserPartition.Random(Split.UserCount, 3, 1);
        var recorder = new RecordingAggregator();
        var federation = new RankingFederation(new BprModel(Split.ItemCount, Planted.Hp), Split, partition, new FederationSettings { Rounds = 2, Personalize = true, DropoutRate = 0 }, recorder);
        federation.Run();
        var offsets = federation.Clients.Select(c => c.ItemOffset!).ToArray();
        Assert.All(offsets, o => Assert.Contains(o, x => x != 0));
        Assert.NotEqual(offsets[0], offsets[1]);
        Assert.All(recorder.Inputs[0], x => Assert.Equal(recorder.Context!.Layout.Length, x.Length));
    }

    [Theory]
    [InlineData(PrivacyUnit.User, 0.05)]
    [InlineData(PrivacyUnit.Institution, 0.05)]
    [InlineData(PrivacyUnit.User, 0.5)]
    public void Clipping_bounds_each_users_or_institutions_contribution(PrivacyUnit unit, double clip)
    {
        var partition = UserPartition.Random(Split.UserCount, 3, 1);
        var recorder = new RecordingAggregator();
        var settings = new FederationSettings { Rounds = 1, Unit = unit, ClipNorm = clip, DropoutRate = 0 };
        new RankingFederation(new BprModel(Split.ItemCount, Planted.Hp), Split, partition, settings, recorder).Run();
        for (var c = 0; c < 3; c++)
        {
            var norm = Math.Sqrt(recorder.Inputs[0][c].Sum(x => x * x));
            var bound = unit == PrivacyUnit.User ? partition.UsersOf(c).Count * clip : clip;
            Assert.InRange(norm, 0.1 * clip, bound * (1 + 1e-9));
        }

        Assert.Equal(clip, recorder.Context!.UserClipNorm);
        Assert.Equal(unit == PrivacyUnit.User ? partition.UsersOf(0).Count : 1, recorder.Context.MaxUsersPerClient);
    }

    [Fact]
    public void A_noising_aggregator_without_a_privacy_unit_is_refused()
    {
        var partition = UserPartition.Random(Split.UserCount, 3, 1);
        Assert.Throws<ArgumentException>(() => new RankingFederation(new BprModel(Split.ItemCount, Planted.Hp), Split, partition, new FederationSettings(), new RecordingAggregator { AddsNoise = true }));
    }

    [Fact]
    public void Neural_model_reaches_a_million_shared_parameters_by_configuration()
    {
        var model = new TwoTowerModel(9742, new RankingHyperparameters { Factors = 128, Hidden = 64 });
        Assert.InRange(model.ParameterCount, 1_000_000, 2_000_000);
        Assert.True(model.SharedLength >= model.ParameterCount);
    }

    [Fact]
    public void Dp_popularity_at_large_epsilon_is_the_normalised_count_and_at_tiny_epsilon_is_not()
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        var (loose, eps) = RankingSimulation.DpPopularity(Split, partition, 1000, 1e-5, 0, 1);
        var (tight, _) = RankingSimulation.DpPopularity(Split, partition, 0.01, 1e-5, 0, 1);
        Assert.InRange(eps, 1, 1000);

        // Each user adds 1/√(its item count) to each of its items: L2 norm 1, so one user's sensitivity is 1.
        var expected = new double[Split.ItemCount];
        foreach (var t in Split.Train)
        {
            foreach (var x in t)
            {
                expected[x.Item] += 1 / Math.Sqrt(t.Length);
            }
        }

        var looseError = expected.Select((e, i) => Math.Abs(e - loose.Counts[i])).Max();
        var tightError = expected.Select((e, i) => Math.Abs(e - tight.Counts[i])).Max();
        Assert.True(looseError < 0.5, $"ε = 1000: max error {looseError}");
        Assert.True(tightError > 5, $"ε = 0.01: max error {tightError}");
    }
}

public sealed class LocalRankingRecommenderTests
{
    private static readonly RankingHyperparameters Hp = Planted.Hp;

    private static IEnumerable<InteractionEvent> Local(int group) =>
        Planted.Data().Events.ToArray().Where(e => e.User % Planted.Groups == group && e.User < 30);

    [Theory]
    [InlineData(RankingModelKind.Bpr)]
    [InlineData(RankingModelKind.Ials)]
    [InlineData(RankingModelKind.Neural)]
    public void Recommends_unseen_items_best_first_after_federated_rounds(RankingModelKind kind)
    {
        var clients = Enumerable.Range(0, Planted.Groups).Select(g => new LocalRankingRecommender(kind, Local(g), Planted.Items, Hp, 3, (ulong)g)).ToArray();
        var global = LocalRankingRecommender.InitialModel(kind, Planted.Items, Hp, 1);
        for (var round = 0; round < 25; round++)
        {
            var updates = clients.Select(c => c.ComputeUpdate(global)).ToArray();
            var sum = new double[updates[0].Length];
            foreach (var u in updates)
            {
                for (var x = 0; x < sum.Length; x++)
                {
                    sum[x] += u[x];
                }
            }

            LocalRankingRecommender.ApplyAggregate(kind, Planted.Items, Hp, global, sum, clients.Length);
        }

        var client = clients[1];
        var user = client.Users[0];
        var list = client.Recommend(user, global, 5);
        Assert.Equal(5, list.Count);
        var seen = Local(1).Where(e => e.User == user).Select(e => e.Item).ToHashSet();
        Assert.All(list, x => Assert.DoesNotContain(x.Item, seen));
        Assert.Equal(list.OrderByDescending(x => x.Score).Select(x => x.Item), list.Select(x => x.Item));

        // The group structure is learned: more of the top 5 come from the user's own block than from the other
        // groups' blocks together (block items are equally popular, so popularity alone would pick 2 : 1 the other way).
        var own = list.Count(x => x.Item is >= Planted.Block and < 2 * Planted.Block);
        var other = list.Count(x => x.Item < Planted.Groups * Planted.Block) - own;
        Assert.True(own > other, $"{kind}: {string.Join(",", list.Select(x => x.Item))}");
    }

    [Fact]
    public void Refuses_unknown_users_and_models_of_the_wrong_length()
    {
        var client = new LocalRankingRecommender(RankingModelKind.Bpr, Local(0), Planted.Items, Hp, 1, 1);
        var global = LocalRankingRecommender.InitialModel(RankingModelKind.Bpr, Planted.Items, Hp, 1);
        Assert.Throws<ArgumentException>(() => client.Recommend(1, global, 3));
        Assert.Throws<ArgumentException>(() => client.Recommend(0, global.AsSpan(1).ToArray(), 3));
        Assert.Throws<ArgumentException>(() => client.ComputeUpdate(new double[3]));
        Assert.Throws<ArgumentException>(() => new LocalRankingRecommender(RankingModelKind.Bpr, [new(0, Planted.Items, EventKind.View, 1, 0)], Planted.Items, Hp, 1, 1));
    }
}

public sealed class RankingSimulationTests
{
    private static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    [Theory]
    [InlineData(nameof(RankingOptions.Clients))]
    [InlineData(nameof(RankingOptions.Rounds))]
    [InlineData(nameof(RankingOptions.Epsilon))]
    [InlineData(nameof(RankingOptions.Delta))]
    [InlineData(nameof(RankingOptions.Dropout))]
    [InlineData(nameof(RankingOptions.Factors))]
    [InlineData(nameof(RankingOptions.Clip))]
    [InlineData(nameof(RankingOptions.EpsilonSweep))]
    public void Options_refuse_out_of_range_values(string option)
    {
        var bad = option switch
        {
            nameof(RankingOptions.Clients) => new RankingOptions { Clients = 1 },
            nameof(RankingOptions.Rounds) => new RankingOptions { Rounds = 0 },
            nameof(RankingOptions.Epsilon) => new RankingOptions { Epsilon = double.PositiveInfinity },
            nameof(RankingOptions.Delta) => new RankingOptions { Delta = 1 },
            nameof(RankingOptions.Dropout) => new RankingOptions { Dropout = 0.5 },
            nameof(RankingOptions.Factors) => new RankingOptions { Factors = 0 },
            nameof(RankingOptions.Clip) => new RankingOptions { Clip = -1 },
            _ => new RankingOptions { EpsilonSweep = [1, 0] },
        };
        Assert.Throws<ArgumentOutOfRangeException>(bad.Validate);
        new RankingOptions().Validate();
    }

    [Fact]
    public void Run_reports_every_setting_the_sweep_plot_and_the_benchmark()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var events = Path.Combine(dir.FullName, "events.csv");
            File.WriteAllLines(events, ["user,item,kind,weight,timestamp", .. Planted.Data().Events.ToArray().Select(e => $"u{e.User},i{e.Item},{e.Kind.ToString().ToLowerInvariant()},{e.Weight},{e.Timestamp}")]);
            var plot = Path.Combine(dir.FullName, "sweep.svg");
            var options = new RankingOptions
            {
                Dataset = events,
                Model = RankingModelKind.Ials,
                Clients = 4,
                Rounds = 8,
                DpRounds = 1,
                Factors = 8,
                Negatives = 20,
                CentralEpochs = 5,
                EpsilonSweep = [4, 1],
                Plot = plot,
                Benchmark = true,
                BenchmarkRounds = 1,
                Dropout = 0.25,
                Hyperparameters = Planted.Hp,
            };
            var lines = new List<string>();
            var report = RankingSimulation.Run(options, lines.Add);
            Assert.Equal(7, report.Rows.Count);
            Assert.Contains(report.Rows, r => r.PrivacyUnit == "institution");
            Assert.All(report.Rows.Where(r => r.PrivacyUnit is not null), r => Assert.InRange(r.Epsilon!.Value, 0.1, options.Epsilon));
            Assert.Equal(3, report.Sweep.Count);
            Assert.True(double.IsPositiveInfinity(report.Sweep[0].Epsilon));
            var svg = File.ReadAllText(plot);
            Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
            Assert.Equal(4, svg.Split("<polyline").Length - 1);
            Assert.Contains("∞", svg, StringComparison.Ordinal);
            Assert.NotNull(report.Benchmark);
            Assert.True(report.Benchmark!.BytesPerClient > 0 && report.Benchmark.SecAggShare is > 0 and < 1);
            Assert.Contains("| most popular |", report.ToMarkdown(), StringComparison.Ordinal);
            var json = JsonSerializer.Serialize(report, JsonOptions);
            Assert.Contains("\"Sweep\"", json, StringComparison.Ordinal);
            var central = report.Rows.Single(r => r.Setting.Contains("centralized", StringComparison.Ordinal)).Metrics;
            var popularity = report.Rows[0].Metrics;
            Assert.True(central.FullHr10 > popularity.FullHr10, $"central {central.FullHr10} vs popularity {popularity.FullHr10}");
        }
        finally
        {
            dir.Delete(true);
        }
    }
}

public sealed class RankingKernelTests
{
    [Fact]
    public void Cholesky_solves_a_symmetric_positive_definite_system()
    {
        double[] a = [4, 2, 0.6, 2, 5, 1, 0.6, 1, 3];
        double[] x = [1, -2, 0.5];
        var b = new double[3];
        for (var i = 0; i < 3; i++)
        {
            b[i] = (a[i * 3] * x[0]) + (a[(i * 3) + 1] * x[1]) + (a[(i * 3) + 2] * x[2]);
        }

        Kernels.SolveSpd(a.ToArray(), b, 3);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(x[i], b[i], 12);
        }
    }

    [Fact]
    public void Ials_server_step_from_a_noised_indefinite_gram_stays_finite_and_bounded()
    {
        var hp = new RankingHyperparameters { Factors = 4, Lambda = 2 };
        var model = new IalsModel(5, hp);
        var shared = Enumerable.Range(0, model.SharedLength).Select(i => 0.1 * ((i % 3) - 1)).ToArray();
        var sum = new double[model.UpdateRows * model.UpdateWidth];
        for (var x = 0; x < sum.Length; x++)
        {
            sum[x] = (x % 7) - 3;
        }

        // The Gram block (after the item rows): strongly negative diagonal, as heavy DP noise can make it.
        var gram = 5 * model.UpdateWidth;
        for (var x = 0; x < 4; x++)
        {
            sum[gram + (x * 4) + x] = -100;
        }

        var direction = new double[model.SharedLength];
        model.Direction(shared, sum, direction);
        Assert.All(direction, d => Assert.True(double.IsFinite(d) && Math.Abs(d) < 1e4, $"{d}"));
    }
}
