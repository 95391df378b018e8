using System.Globalization;
using System.Text;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>The ranking models <c>simulate --model</c> chooses between (<c>mf</c>, the explicit-rating model, stays on its own path).</summary>
public enum RankingModelKind
{
    /// <summary>BPR-MF with sampled negatives (<c>--model bpr</c>).</summary>
    Bpr = 0,

    /// <summary>Implicit ALS, federated with user factors solved locally (<c>--model ials</c>).</summary>
    Ials = 1,

    /// <summary>Two-tower neural model with MLP towers (<c>--model neural</c>).</summary>
    Neural = 2,

    /// <summary>
    /// Item-kNN over a differentially private item Gram matrix (<c>--model knn</c>): two secure-sum rounds (DP popularity
    /// selecting M candidate items, then each user's normalised candidate co-occurrence matrix and a second popularity
    /// measurement of the other items); the client scores from its own history. The DP model of the ranking family.
    /// </summary>
    Knn = 3,
}

/// <summary>
/// Options of <see cref="RankingSimulation.Run"/>; property names follow the <c>simulate</c> flags
/// (<c>--dataset --model --clients --rounds --local-epochs --epsilon --delta --dropout --seed --epsilon-sweep --plot
/// --factors --threshold --protocol --negatives --optimizer --server-lr --clip --gram-items --gram-rank --local-weight
/// --local-exponent --personalize --benchmark</c>), defaults are the
/// command's defaults. Immutable; <see cref="Validate"/> throws <see cref="ArgumentOutOfRangeException"/> naming the option.
/// </summary>
public sealed record RankingOptions
{
    /// <summary><c>--dataset</c>: a ratings file (MovieLens or generic CSV, binarized at <see cref="Threshold"/>), an events CSV (<c>user,item,kind,…</c>), or null for the embedded synthetic data.</summary>
    public string? Dataset { get; init; }

    /// <summary><c>--model</c>: the ranking model (default iALS, the best on the nested validation split of ml-latest-small).</summary>
    public RankingModelKind Model { get; init; } = RankingModelKind.Ials;

    /// <summary><c>--clients</c>: silos the users are dealt to.</summary>
    public int Clients { get; init; } = 10;

    /// <summary><c>--rounds</c>: federated rounds (non-DP settings).</summary>
    public int Rounds { get; init; } = 80;

    /// <summary><c>--local-epochs</c>: local passes per round (delta models).</summary>
    public int LocalEpochs { get; init; } = 2;

    /// <summary><c>--epsilon</c>: target ε of the DP rows, over <see cref="DpRounds"/> rounds.</summary>
    public double Epsilon { get; init; } = 8;

    /// <summary><c>--delta</c>: δ of every DP guarantee.</summary>
    public double Delta { get; init; } = 1e-5;

    /// <summary><c>--dropout</c>: fraction of clients dropping out of each round after sending their keys.</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary><c>--seed</c>: seed of the split, partition, initialisation, sampling and protocol randomness.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary><c>--epsilon-sweep</c>: ε values of the privacy–utility curve (ε = ∞ is always added); empty = no sweep.</summary>
    public IReadOnlyList<double> EpsilonSweep { get; init; } = [];

    /// <summary><c>--plot</c>: SVG file the sweep's curve is written to (default <c>epsilon-sweep.svg</c> beside the working directory).</summary>
    public string? Plot { get; init; }

    /// <summary><c>--factors</c>: embedding dimension k.</summary>
    public int Factors { get; init; } = 64;

    /// <summary><c>--threshold</c>: ratings ≥ this are positives (0 keeps every rating, as the NCF protocol does).</summary>
    public double Threshold { get; init; }

    /// <summary><c>--protocol</c>: which interaction is held out.</summary>
    public HoldoutProtocol Protocol { get; init; } = HoldoutProtocol.LeaveLatestOut;

    /// <summary><c>--negatives</c>: sampled negatives per test user.</summary>
    public int Negatives { get; init; } = 99;

    /// <summary><c>--optimizer</c>: server optimizer of the delta models.</summary>
    public ServerOptimizerKind Optimizer { get; init; } = ServerOptimizerKind.FedAvg;

    /// <summary><c>--server-lr</c>: server learning rate of the non-DP settings.</summary>
    public double ServerLearningRate { get; init; } = 1.0;

    /// <summary><c>--clip</c>: L2 clip C of one user's (or institution's) update in the DP settings.</summary>
    public double Clip { get; init; } = 2.0;

    /// <summary><c>--dp-rounds</c>: rounds of the DP settings (the budget is spread over them).</summary>
    public int DpRounds { get; init; } = 3;

    /// <summary><c>--dp-server-lr</c>: server learning rate of the DP settings (their deltas are clipped, so larger).</summary>
    public double DpServerLearningRate { get; init; } = 1.0;

    /// <summary>
    /// <c>--prior-weight</c>: iALS DP settings: weight β of the popularity prior learned in the same secure sums
    /// (<see cref="RankingHyperparameters.PopularityPrior"/>); 0 = the plain factor model. The non-DP rows never use it.
    /// </summary>
    public double PriorWeight { get; init; } = 4.0;

    /// <summary><c>--prior-share</c>: share φ of the squared DP clip norm given to the prior (the statistics get 1 − φ).</summary>
    public double PriorShare { get; init; } = 0.9;

    /// <summary><c>--prior-window</c>: items of each user the DP popularity prior counts: its latest W (0 = all).</summary>
    public int PriorWindow { get; init; }

    /// <summary><c>--dp-factors</c>: embedding dimension k of the DP settings (fewer shared coordinates, less noise per signal); null = <see cref="Factors"/>.</summary>
    public int? DpFactors { get; init; } = 32;

    /// <summary><c>--gram-items</c>: item-kNN: M, the candidate items (the M most popular by the first round's DP popularity) the Gram covers.</summary>
    public int GramItems { get; init; } = 500;

    /// <summary><c>--gram-rank</c>: item-kNN: 0 scores with the noised Gram itself, R &gt; 0 with its rank-R positive part.</summary>
    public int GramRank { get; init; }

    /// <summary><c>--prior-share</c> with <c>--model knn</c>: share φ of the second round's squared norm given to the popularity of the non-candidate items (the Gram gets 1 − φ).</summary>
    public double GramPriorShare { get; init; } = 0.85;

    /// <summary><c>--prior-weight</c> with <c>--model knn</c>: weight β of the normalised popularity beside the neighbourhood score among the candidates.</summary>
    public double GramPriorWeight { get; init; } = 0.5;

    /// <summary>
    /// <c>--local-weight</c> with <c>--model knn</c>: weight w of each institution's own exact neighbourhood signal
    /// (user–user cosine over its users, computed locally and never sent) beside the DP global score; 0 = the global
    /// model alone.
    /// </summary>
    public double GramLocalWeight { get; init; } = 2;

    /// <summary><c>--local-exponent</c> with <c>--model knn</c>: power γ of the user–user cosine in that signal (0 = the institution's exact popularity).</summary>
    public double GramLocalExponent { get; init; } = 3;

    /// <summary><c>--personalize</c>: each client also learns private item-score offsets (PFedRec-style local head).</summary>
    public bool Personalize { get; init; }

    /// <summary><c>--benchmark</c>: also time a ≥ 1 M-parameter two-tower model through secure aggregation.</summary>
    public bool Benchmark { get; init; }

    /// <summary>Rounds of the benchmark run.</summary>
    public int BenchmarkRounds { get; init; } = 2;

    /// <summary>Model hyperparameters (k is taken from <see cref="Factors"/>).</summary>
    public RankingHyperparameters Hyperparameters { get; init; } = new();

    /// <summary>Centralized epochs (delta models) / ALS iterations (iALS).</summary>
    public int CentralEpochs { get; init; } = 30;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value outside its range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string message)
        {
            if (!ok)
            {
                throw new ArgumentOutOfRangeException(name, value, message);
            }
        }

        Check(Clients >= 2, "--clients", Clients, "at least 2 clients");
        Check(Rounds >= 1, "--rounds", Rounds, "at least 1 round");
        Check(DpRounds >= 1, "--dp-rounds", DpRounds, "at least 1 round");
        Check(LocalEpochs >= 1, "--local-epochs", LocalEpochs, "at least 1 local epoch");
        Check(Epsilon > 0 && double.IsFinite(Epsilon), "--epsilon", Epsilon, "ε must be positive and finite");
        Check(Delta is > 0 and < 1, "--delta", Delta, "δ must be in (0, 1)");
        Check(Dropout is >= 0 and <= 0.3, "--dropout", Dropout, "dropout must be in [0, 0.3] (the SecAgg threshold is 2n/3 + 1)");
        Check(Factors is >= 1 and <= 1024, "--factors", Factors, "factors must be in 1..1024");
        Check(double.IsFinite(Threshold), "--threshold", Threshold, "threshold must be finite");
        Check(Negatives >= 1, "--negatives", Negatives, "at least 1 negative");
        Check(ServerLearningRate > 0 && DpServerLearningRate > 0, "--server-lr", ServerLearningRate, "server learning rates must be positive");
        Check(Clip > 0 && double.IsFinite(Clip), "--clip", Clip, "clip must be positive and finite");
        Check(PriorWeight >= 0 && double.IsFinite(PriorWeight), "--prior-weight", PriorWeight, "the prior weight must be non-negative and finite");
        Check(PriorShare is > 0 and < 1, "--prior-share", PriorShare, "the prior share must be in (0, 1)");
        Check(PriorWindow >= 0, "--prior-window", PriorWindow, "the prior window must be 0 (all items) or positive");
        Check(DpFactors is null or (>= 1 and <= 1024), "--dp-factors", DpFactors ?? 0, "factors must be in 1..1024");
        Check(GramItems is >= 2 and <= ItemGramSettings.MaxCandidates, "--gram-items", GramItems, $"the Gram's candidate items must be in 2..{ItemGramSettings.MaxCandidates}");
        Check(GramRank >= 0 && GramRank <= GramItems, "--gram-rank", GramRank, "the Gram's rank must be 0 (full) or in 1..--gram-items");
        Check(GramPriorShare is > 0 and < 1, "--prior-share", GramPriorShare, "the prior share must be in (0, 1)");
        Check(GramPriorWeight >= 0 && double.IsFinite(GramPriorWeight), "--prior-weight", GramPriorWeight, "the prior weight must be non-negative and finite");
        Check(GramLocalWeight >= 0 && double.IsFinite(GramLocalWeight), "--local-weight", GramLocalWeight, "the local weight must be non-negative and finite");
        Check(GramLocalExponent >= 0 && double.IsFinite(GramLocalExponent), "--local-exponent", GramLocalExponent, "the local similarity exponent must be non-negative and finite");
        Check(CentralEpochs >= 1, nameof(CentralEpochs), CentralEpochs, "at least 1 epoch");
        Check(BenchmarkRounds >= 1, nameof(BenchmarkRounds), BenchmarkRounds, "at least 1 round");
        foreach (var e in EpsilonSweep)
        {
            Check(e > 0 && double.IsFinite(e), "--epsilon-sweep", e, "every ε must be positive and finite");
        }

        ArgumentNullException.ThrowIfNull(Hyperparameters);
        (Hyperparameters with { Factors = Factors }).Validate();
    }
}

/// <summary>One row of the comparison table.</summary>
/// <param name="Setting">What was run (e.g. "iALS, federated + secure aggregation").</param>
/// <param name="Metrics">Ranking metrics on the test split.</param>
/// <param name="Epsilon">ε spent (null without DP).</param>
/// <param name="PrivacyUnit">"user", "institution" or null.</param>
/// <param name="BytesPerClient">Bytes one client sent per round (null when not federated).</param>
/// <param name="SecondsPerRound">Mean wall time per round (null when not federated).</param>
public sealed record RankingRow(string Setting, RankingMetrics Metrics, double? Epsilon, string? PrivacyUnit, long? BytesPerClient, double? SecondsPerRound);

/// <summary>One point of the privacy–utility curve.</summary>
/// <param name="Epsilon">Target ε (∞ = secure aggregation with the same clipping, no noise).</param>
/// <param name="Model">The ranking model, federated + secagg + DP (user level).</param>
/// <param name="DpPopularity">DP popularity at the same ε.</param>
public sealed record SweepPoint(double Epsilon, RankingMetrics Model, RankingMetrics DpPopularity);

/// <summary>Speed of one ≥ 1 M-parameter neural model through secure aggregation.</summary>
/// <param name="SharedParameters">Shared (aggregated) parameters.</param>
/// <param name="Dimension">Update length d on the wire (with layout padding).</param>
/// <param name="Clients">Clients per round.</param>
/// <param name="Rounds">Rounds timed.</param>
/// <param name="LocalSecondsPerClient">Mean local training time per round and client.</param>
/// <param name="BytesPerClient">Bytes one client sends per round.</param>
/// <param name="AggregationSeconds">Mean wall time of the secure aggregation per round (all clients simulated in one process).</param>
/// <param name="RoundSeconds">Mean wall time of a round.</param>
/// <param name="SecAggShare">AggregationSeconds / RoundSeconds.</param>
public sealed record NeuralBenchmark(long SharedParameters, int Dimension, int Clients, int Rounds, double LocalSecondsPerClient, long BytesPerClient, double AggregationSeconds, double RoundSeconds, double SecAggShare);

/// <summary>Everything <see cref="RankingSimulation.Run"/> measured; JSON-serializable.</summary>
/// <param name="Dataset">Data set name.</param>
/// <param name="Split">Split description (protocol, seed, users, interactions, negatives).</param>
/// <param name="Seed">Seed of the run.</param>
/// <param name="Model">Ranking model name and size.</param>
/// <param name="Rows">The comparison table.</param>
/// <param name="Sweep">The privacy–utility curve (empty without <c>--epsilon-sweep</c>).</param>
/// <param name="PlotPath">Where the curve's SVG was written (null without a sweep).</param>
/// <param name="Benchmark">The neural speed figures (null without <c>--benchmark</c>).</param>
/// <param name="Rounds">Per-round reports of the federated + secure aggregation run.</param>
public sealed record RankingReport(string Dataset, string Split, ulong Seed, string Model, IReadOnlyList<RankingRow> Rows, IReadOnlyList<SweepPoint> Sweep, string? PlotPath, NeuralBenchmark? Benchmark, IReadOnlyList<RankingRoundReport> Rounds)
{
    /// <summary>The comparison table as Markdown.</summary>
    public string ToMarkdown()
    {
        var b = new StringBuilder();
        b.AppendLine(CultureInfo.InvariantCulture, $"{Dataset}; {Split}; model {Model}");
        b.AppendLine();
        b.AppendLine("| setting | HR@10 (sampled) | NDCG@10 (sampled) | HR@10 (full) | NDCG@10 (full) | Recall@20 (full) | MRR (full) | ε | unit |");
        b.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in Rows)
        {
            var m = r.Metrics;
            b.AppendLine(CultureInfo.InvariantCulture, $"| {r.Setting} | {m.SampledHr10:F3} | {m.SampledNdcg10:F3} | {m.FullHr10:F3} | {m.FullNdcg10:F3} | {m.FullRecall20:F3} | {m.FullMrr:F3} | {(r.Epsilon is { } e ? e.ToString("F2", CultureInfo.InvariantCulture) : "—")} | {r.PrivacyUnit ?? "—"} |");
        }

        if (Sweep.Count > 0)
        {
            b.AppendLine();
            b.AppendLine("| ε | model HR@10 (sampled) | model HR@10 (full) | DP popularity HR@10 (sampled) | DP popularity HR@10 (full) |");
            b.AppendLine("|---|---|---|---|---|");
            foreach (var p in Sweep)
            {
                b.AppendLine(CultureInfo.InvariantCulture, $"| {(double.IsPositiveInfinity(p.Epsilon) ? "∞" : p.Epsilon.ToString("G4", CultureInfo.InvariantCulture))} | {p.Model.SampledHr10:F3} | {p.Model.FullHr10:F3} | {p.DpPopularity.SampledHr10:F3} | {p.DpPopularity.FullHr10:F3} |");
            }
        }

        if (Benchmark is { } n)
        {
            b.AppendLine();
            b.AppendLine(CultureInfo.InvariantCulture, $"neural benchmark: {n.SharedParameters:N0} shared parameters (d = {n.Dimension:N0}), {n.Clients} clients, {n.Rounds} rounds: local training {n.LocalSecondsPerClient:F2} s per client per round, {n.BytesPerClient:N0} bytes per client, secure aggregation {n.AggregationSeconds:F2} s of a {n.RoundSeconds:F2} s round ({n.SecAggShare:P0})");
        }

        return b.ToString();
    }
}

/// <summary>
/// The ranking comparison behind <c>securefedrec simulate --model bpr|ials|neural</c>: loads implicit data, splits it
/// (<see cref="RankingSplit"/>), deals users to silos, and evaluates popularity, DP popularity, the model trained
/// centrally, federated (plain sum), federated + secure aggregation, and + distributed DP at ε with the user and the
/// institution as the privacy unit, all on the same split and seed; optionally the ε sweep (with its SVG) and the
/// neural speed benchmark. Deterministic for a seed apart from timings. Not thread-safe.
/// </summary>
public static class RankingSimulation
{
    /// <summary>Runs the comparison; <paramref name="progress"/> receives one line per step.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="DatasetFormatException">The data file is malformed.</exception>
    public static RankingReport Run(RankingOptions options, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var log = progress ?? (_ => { });
        var data = Load(options);
        var split = RankingSplit.Create(data, options.Protocol, options.Negatives, options.Seed);
        var partition = UserPartition.Random(split.UserCount, options.Clients, options.Seed);
        log($"{data.Name}: {data.UserCount} users, {data.ItemCount} items, {data.Count} events; {split.Description}");
        var hp = options.Hyperparameters with { Factors = options.Factors };
        var rows = new List<RankingRow>();

        var popularity = RankingEvaluator.Evaluate(PopularityScorer.Fit(split), split);
        rows.Add(new RankingRow("most popular", popularity, null, null, null, null));
        log(Line("most popular", popularity));

        var (dpPop, dpPopEps) = DpPopularity(split, partition, options.Epsilon, options.Delta, options.Dropout, options.Seed);
        var dpPopMetrics = RankingEvaluator.Evaluate(dpPop, split);
        rows.Add(new RankingRow($"DP popularity (1 secure-sum round), ε = {options.Epsilon}", dpPopMetrics, dpPopEps, "user", null, null));
        log(Line("DP popularity", dpPopMetrics));

        if (options.Model == RankingModelKind.Knn)
        {
            return RunItemGram(options, data.Name, split, partition, rows, popularity, log);
        }

        var modelName = Create(options.Model, split.ItemCount, hp).Name;
        var central = Central(options, split, hp);
        rows.Add(new RankingRow($"{modelName}, centralized", central, null, null, null, null));
        log(Line($"{modelName} centralized", central));

        var settings = new FederationSettings
        {
            Rounds = options.Rounds,
            LocalEpochs = options.LocalEpochs,
            Optimizer = options.Optimizer,
            ServerLearningRate = options.ServerLearningRate,
            DropoutRate = options.Dropout,
            Personalize = options.Personalize,
            ClipNorm = options.Clip,
            Seed = options.Seed,
        };

        var (plain, plainRounds) = Federate(options.Model, split, partition, hp, settings, new PlainAggregator());
        rows.Add(Row($"{modelName}, federated ({options.Clients} silos, {options.Dropout:P0} dropout)", plain, plainRounds, null));
        log(Line($"{modelName} federated", plain));

        var (secagg, secaggRounds) = Federate(options.Model, split, partition, hp, settings, new SecureRoundAggregator(null, options.Seed, threads: 1));
        rows.Add(Row($"{modelName}, federated + secure aggregation", secagg, secaggRounds, null));
        log(Line($"{modelName} federated + secagg", secagg));

        var dpSettings = settings with { Rounds = options.DpRounds, ServerLearningRate = options.DpServerLearningRate, Unit = PrivacyUnit.User, PriorShare = options.PriorShare };
        var dpHp = options.Model == RankingModelKind.Ials
            ? hp with { Factors = options.DpFactors ?? hp.Factors, PopularityPrior = options.PriorWeight, PriorWindow = options.PriorWindow }
            : hp with { Factors = options.DpFactors ?? hp.Factors };
        var dpName = DpName(modelName, dpHp);
        var dpTarget = new DpTarget(options.Epsilon, options.Delta, options.DpRounds);
        var (dpUser, dpUserRounds) = Federate(options.Model, split, partition, dpHp, dpSettings, new SecureRoundAggregator(dpTarget, options.Seed, threads: 1));
        rows.Add(Row($"{dpName}, federated + secagg + DP, ε = {options.Epsilon}", dpUser, dpUserRounds, "user"));
        log(Line($"{dpName} + DP (user)", dpUser));

        var (dpInst, dpInstRounds) = Federate(options.Model, split, partition, dpHp, dpSettings with { Unit = PrivacyUnit.Institution }, new SecureRoundAggregator(dpTarget, options.Seed, threads: 1));
        rows.Add(Row($"{dpName}, federated + secagg + DP, ε = {options.Epsilon}", dpInst, dpInstRounds, "institution"));
        log(Line($"{dpName} + DP (institution)", dpInst));

        var sweep = new List<SweepPoint>();
        string? plot = null;
        if (options.EpsilonSweep.Count > 0)
        {
            var (inf, _) = Federate(options.Model, split, partition, dpHp, dpSettings, new SecureRoundAggregator(null, options.Seed, threads: 1));
            sweep.Add(new SweepPoint(double.PositiveInfinity, inf, popularity));
            foreach (var e in options.EpsilonSweep.Distinct().OrderByDescending(x => x))
            {
                var (m, _) = Federate(options.Model, split, partition, dpHp, dpSettings, new SecureRoundAggregator(new DpTarget(e, options.Delta, options.DpRounds), options.Seed, threads: 1));
                var (pop, _) = DpPopularity(split, partition, e, options.Delta, options.Dropout, options.Seed);
                var point = new SweepPoint(e, m, RankingEvaluator.Evaluate(pop, split));
                sweep.Add(point);
                log($"ε = {e}: {dpName} full HR@10 {m.FullHr10:F3}, sampled {m.SampledHr10:F3}; DP popularity full {point.DpPopularity.FullHr10:F3}, sampled {point.DpPopularity.SampledHr10:F3}");
            }

            plot = options.Plot ?? "epsilon-sweep.svg";
            File.WriteAllText(plot, SweepPlot.Svg(sweep, dpHp.PopularityPrior > 0 ? $"{modelName} + prior" : modelName));
            log($"privacy–utility curve written to {plot}");
        }

        NeuralBenchmark? bench = null;
        if (options.Benchmark)
        {
            bench = Bench(split, partition, options);
            log($"neural benchmark: {bench.SharedParameters:N0} parameters, local {bench.LocalSecondsPerClient:F2} s/client/round, {bench.BytesPerClient:N0} B/client, secagg share {bench.SecAggShare:P0}");
        }

        return new RankingReport(data.Name, split.Description, options.Seed, $"{modelName} (k = {hp.Factors})", rows, sweep, plot, bench, secaggRounds);
    }

    /// <summary>Loads the configured data set (events CSV when the header says so, else ratings binarized at the threshold).</summary>
    internal static ImplicitDataset Load(RankingOptions options)
    {
        if (options.Dataset is null)
        {
            return ImplicitDataset.FromRatings(SyntheticDataset.Generate(new SyntheticOptions(), options.Seed), options.Threshold);
        }

        using (var reader = new StreamReader(options.Dataset))
        {
            var first = reader.ReadLine() ?? string.Empty;
            if (first.StartsWith("user,item,kind", StringComparison.OrdinalIgnoreCase))
            {
                reader.Close();
                return InteractionLoader.LoadEvents(options.Dataset);
            }
        }

        return InteractionLoader.LoadRatings(options.Dataset, options.Threshold);
    }

    internal static RankingModel Create(RankingModelKind kind, int items, RankingHyperparameters hp) => kind switch
    {
        RankingModelKind.Bpr => new BprModel(items, hp),
        RankingModelKind.Ials => new IalsModel(items, hp),
        RankingModelKind.Neural => new TwoTowerModel(items, hp),
        RankingModelKind.Knn => throw new ArgumentException("the item-kNN model is not a factor model: it is trained by its two secure-sum rounds (simulate --model knn), not round by round", nameof(kind)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown model"),
    };

    /// <summary>The item-Gram settings of the options at a privacy unit.</summary>
    internal static ItemGramSettings GramSettings(RankingOptions options, PrivacyUnit unit) => new()
    {
        Candidates = options.GramItems,
        Rank = options.GramRank,
        PriorShare = options.GramPriorShare,
        PriorWeight = options.GramPriorWeight,
        LocalWeight = options.GramLocalWeight,
        LocalExponent = options.GramLocalExponent,
        Unit = unit,
        DropoutRate = options.Dropout,
        Seed = options.Seed,
    };

    /// <summary>
    /// <c>--model knn</c>: item-kNN over the item Gram, exact (centralized: one party; federated: plain sum and secure
    /// aggregation) and under distributed DP at ε over its two rounds (user and institution level), with the sweep.
    /// Every institution serves its users the DP global score blended with its own exact neighbourhood signal
    /// (<see cref="ItemGramFederation.Serve"/>, w = <c>--local-weight</c>); at user level the two parts are also
    /// reported alone.
    /// </summary>
    private static RankingReport RunItemGram(RankingOptions options, string dataName, RankingSplit split, UserPartition partition, List<RankingRow> rows, RankingMetrics popularity, Action<string> log)
    {
        const string Name = "item-kNN (DP item Gram)";
        var blended = options.GramLocalWeight > 0;
        var localName = string.Create(CultureInfo.InvariantCulture, $" + own institution's users (w = {options.GramLocalWeight}, γ = {options.GramLocalExponent})");
        var name = blended ? Name + localName : Name;
        var exact = GramSettings(options, PrivacyUnit.None);
        exact.Validate(split.ItemCount);
        var everyone = UserPartition.ByKey(split.UserCount, _ => "all");
        var central = ItemGramFederation.Train(split, everyone, exact with { DropoutRate = 0 }, new PlainAggregator());
        var centralMetrics = RankingEvaluator.Evaluate(ItemGramFederation.Serve(central, split, everyone, exact), split);
        rows.Add(new RankingRow($"{name}, centralized (exact Gram{(blended ? "; one party holds every user" : string.Empty)})", centralMetrics, null, null, null, null));
        log(Line($"{Name} centralized", centralMetrics));

        (RankingMetrics, IReadOnlyList<RankingRoundReport>) Fit(ItemGramSettings s, IUpdateAggregator aggregator) =>
            FitParts(s, aggregator).Served;

        ((RankingMetrics, IReadOnlyList<RankingRoundReport>) Served, RankingMetrics GlobalOnly) FitParts(ItemGramSettings s, IUpdateAggregator aggregator)
        {
            var result = ItemGramFederation.Train(split, partition, s, aggregator);
            var served = RankingEvaluator.Evaluate(ItemGramFederation.Serve(result, split, partition, s), split);
            var globalOnly = blended ? RankingEvaluator.Evaluate(result.Scorer, split) : served;
            return ((served, result.Rounds), globalOnly);
        }

        var (plain, plainRounds) = Fit(exact, new PlainAggregator());
        rows.Add(Row($"{name}, federated ({options.Clients} silos, {options.Dropout:P0} dropout)", plain, plainRounds, null));
        log(Line($"{Name} federated", plain));

        var (secagg, secaggRounds) = Fit(exact, new SecureRoundAggregator(null, options.Seed, threads: 1));
        rows.Add(Row($"{name}, federated + secure aggregation", secagg, secaggRounds, null));
        log(Line($"{Name} federated + secagg", secagg));

        // Both rounds are planned together: the accountant composes them (RDP) to ε at δ.
        DpTarget Target(double e) => new(e, options.Delta, 2);
        var dpName = string.Create(CultureInfo.InvariantCulture, $"{Name} (M = {options.GramItems}{(options.GramRank > 0 ? $", rank {options.GramRank}" : string.Empty)}, φ = {options.GramPriorShare}, β = {options.GramPriorWeight}, 2 rounds)");
        var ((dpUser, dpUserRounds), dpGlobal) = FitParts(GramSettings(options, PrivacyUnit.User), new SecureRoundAggregator(Target(options.Epsilon), options.Seed, threads: 1));
        rows.Add(Row($"{dpName}{(blended ? localName : string.Empty)}, federated + secagg + DP, ε = {options.Epsilon}", dpUser, dpUserRounds, "user"));
        log(Line($"{Name} + DP (user)", dpUser));
        if (blended)
        {
            rows.Add(Row($"{dpName}, global part alone (w = 0), ε = {options.Epsilon}", dpGlobal, dpUserRounds, "user"));
            log(Line($"{Name} + DP (user), global part alone", dpGlobal));
            var own = RankingEvaluator.Evaluate(InstitutionBlendScorer.LocalOnly(split.Train, partition, split.ItemCount, options.GramLocalExponent), split);
            rows.Add(new RankingRow(string.Create(CultureInfo.InvariantCulture, $"each institution's own users alone (user-kNN, γ = {options.GramLocalExponent}; nothing sent)"), own, null, null, null, null));
            log(Line("own institution alone", own));
        }

        var (dpInst, dpInstRounds) = Fit(GramSettings(options, PrivacyUnit.Institution), new SecureRoundAggregator(Target(options.Epsilon), options.Seed, threads: 1));
        rows.Add(Row($"{dpName}{(blended ? localName : string.Empty)}, federated + secagg + DP, ε = {options.Epsilon}", dpInst, dpInstRounds, "institution"));
        log(Line($"{Name} + DP (institution)", dpInst));

        var sweep = new List<SweepPoint>();
        string? plot = null;
        if (options.EpsilonSweep.Count > 0)
        {
            var (inf, _) = Fit(GramSettings(options, PrivacyUnit.User), new SecureRoundAggregator(null, options.Seed, threads: 1));
            sweep.Add(new SweepPoint(double.PositiveInfinity, inf, popularity));
            foreach (var e in options.EpsilonSweep.Distinct().OrderByDescending(x => x))
            {
                var (m, _) = Fit(GramSettings(options, PrivacyUnit.User), new SecureRoundAggregator(Target(e), options.Seed, threads: 1));
                var (pop, _) = DpPopularity(split, partition, e, options.Delta, options.Dropout, options.Seed);
                var point = new SweepPoint(e, m, RankingEvaluator.Evaluate(pop, split));
                sweep.Add(point);
                log($"ε = {e}: {Name} full HR@10 {m.FullHr10:F3}, sampled {m.SampledHr10:F3}; DP popularity full {point.DpPopularity.FullHr10:F3}, sampled {point.DpPopularity.SampledHr10:F3}");
            }

            plot = options.Plot ?? "epsilon-sweep.svg";
            File.WriteAllText(plot, SweepPlot.Svg(sweep, blended ? "item-kNN + own institution" : "item-kNN"));
            log($"privacy–utility curve written to {plot}");
        }

        var bench = options.Benchmark ? Bench(split, partition, options) : null;
        return new RankingReport(dataName, split.Description, options.Seed, string.Create(CultureInfo.InvariantCulture, $"{Name} (M = {options.GramItems}{(blended ? $", local w = {options.GramLocalWeight}, γ = {options.GramLocalExponent}" : string.Empty)})"), rows, sweep, plot, bench, secaggRounds);
    }

    /// <summary>The model trained on all training data at once, evaluated on <paramref name="split"/>.</summary>
    internal static RankingMetrics Central(RankingOptions options, RankingSplit split, RankingHyperparameters hp) =>
        RankingEvaluator.Evaluate(TrainCentral(options.Model, split, hp, options.CentralEpochs, options.Seed), split);

    internal static FactorScorer TrainCentral(RankingModelKind kind, RankingSplit split, RankingHyperparameters hp, int epochs, ulong seed)
    {
        var model = Create(kind, split.ItemCount, hp);
        var all = new LocalUsers(Enumerable.Range(0, split.UserCount).ToArray(), split.Train, model.UserWidth, model.ItemCount, personalize: false);
        var shared = new double[model.SharedLength];
        using (var rng = Rng.ForPurpose(seed, "ranking-init-shared"))
        {
            model.InitShared(shared, rng);
        }

        using (var rng = Rng.ForPurpose(seed, "ranking-init-central-users"))
        {
            model.InitUsers(all, rng);
        }

        using (var rng = Rng.ForPurpose(seed, "ranking-central-train"))
        {
            model.TrainCentral(shared, all, epochs, rng);
        }

        return model.Export(shared, [all], split.UserCount);
    }

    internal static (RankingMetrics Metrics, IReadOnlyList<RankingRoundReport> Rounds) Federate(RankingModelKind kind, RankingSplit split, UserPartition partition, RankingHyperparameters hp, FederationSettings settings, IUpdateAggregator aggregator)
    {
        var federation = new RankingFederation(Create(kind, split.ItemCount, hp), split, partition, settings, aggregator);
        var rounds = federation.Run();
        return (RankingEvaluator.Evaluate(federation.Export(), split), rounds);
    }

    /// <summary>
    /// DP popularity: one secure-sum round in which each user contributes its training items' indicator vector
    /// divided by √(its item count) (L2 norm 1, so one user's sensitivity is 1), through
    /// <see cref="SecureRoundAggregator"/> calibrated to (ε, δ) for one round. Dense over the catalogue.
    /// </summary>
    internal static (PopularityScorer Scorer, double Epsilon) DpPopularity(RankingSplit split, UserPartition partition, double epsilon, double delta, double dropout, ulong seed)
    {
        const int Width = 64;
        var items = split.ItemCount;
        var rows = (items + Width - 1) / Width;
        var layout = UpdatePacking.Layout(rows, Width);
        var n = partition.ClientCount;
        var inputs = new double[n][];
        var maxUsers = 0;
        for (var c = 0; c < n; c++)
        {
            var vector = new double[rows * Width];
            var users = partition.UsersOf(c);
            maxUsers = Math.Max(maxUsers, users.Count);
            foreach (var u in users)
            {
                var t = split.Train[u];
                if (t.Length == 0)
                {
                    continue;
                }

                var w = 1 / Math.Sqrt(t.Length);
                foreach (var x in t)
                {
                    vector[x.Item] += w;
                }
            }

            inputs[c] = new double[layout.Length];
            UpdatePacking.Pack(vector, ReadOnlySpan<int>.Empty, Width, inputs[c], 1);
        }

        var dropped = new bool[n];
        var drop = (int)Math.Floor(dropout * n);
        var order = Enumerable.Range(0, n).ToArray();
        using (var rng = Rng.ForPurpose(seed, "dp-popularity-dropouts"))
        {
            rng.Shuffle(order.AsSpan());
        }

        for (var j = 0; j < drop; j++)
        {
            dropped[order[j]] = true;
        }

        var context = new AggregationContext(layout, maxUsers, 0, 0, 0, 1.0, maxUsers);
        var result = new SecureRoundAggregator(new DpTarget(epsilon, delta, 1), seed, threads: 1).Aggregate(1, inputs, dropped, context);
        var sum = new double[rows * Width];
        UpdatePacking.Unpack(result.Sum, Width, sum, Span<double>.Empty);
        return (new PopularityScorer(sum.AsSpan(0, items).ToArray()), result.EpsilonSpent);
    }

    private static NeuralBenchmark Bench(RankingSplit split, UserPartition partition, RankingOptions options)
    {
        var hp = options.Hyperparameters with { Factors = 128, Hidden = 64 };
        var model = new TwoTowerModel(split.ItemCount, hp);
        var settings = new FederationSettings { Rounds = options.BenchmarkRounds, LocalEpochs = 1, DropoutRate = options.Dropout, Seed = options.Seed };
        var federation = new RankingFederation(model, split, partition, settings, new SecureRoundAggregator(null, options.Seed, threads: 1));
        var rounds = federation.Run();
        var agg = rounds.Average(r => r.AggregationSeconds);
        var total = rounds.Average(r => r.RoundSeconds);
        return new NeuralBenchmark(model.ParameterCount, federation.Dimension, options.Clients, rounds.Count, rounds.Average(r => r.LocalSecondsPerClient), rounds[^1].BytesPerClient, agg, total, agg / total);
    }

    /// <summary>The DP rows' model name: the k they use when it differs, and the popularity prior when it is on.</summary>
    private static string DpName(string modelName, RankingHyperparameters dp) =>
        dp.PopularityPrior > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{modelName} + DP popularity prior (k = {dp.Factors}, β = {dp.PopularityPrior}{(dp.PriorWindow > 0 ? $", latest {dp.PriorWindow} items" : string.Empty)})")
            : string.Create(CultureInfo.InvariantCulture, $"{modelName} (k = {dp.Factors})");

    private static RankingRow Row(string name, RankingMetrics m, IReadOnlyList<RankingRoundReport> rounds, string? unit) =>
        new(name, m, unit is null ? null : rounds[^1].EpsilonSpent, unit, rounds[^1].BytesPerClient, rounds.Average(r => r.RoundSeconds));

    private static string Line(string name, RankingMetrics m) =>
        string.Create(CultureInfo.InvariantCulture, $"{name}: HR@10 sampled {m.SampledHr10:F3}, NDCG@10 sampled {m.SampledNdcg10:F3}, HR@10 full {m.FullHr10:F3}, NDCG@10 full {m.FullNdcg10:F3}, Recall@20 full {m.FullRecall20:F3}, MRR full {m.FullMrr:F4}");
}

/// <summary>Writes the privacy–utility curve as a self-contained SVG (full-ranking and sampled HR@10 against ε, log scale). Pure.</summary>
internal static class SweepPlot
{
    public static string Svg(IReadOnlyList<SweepPoint> points, string modelName)
    {
        const double W = 640, H = 400, L = 60, R = 200, T = 30, B = 50;
        var finite = points.Where(p => double.IsFinite(p.Epsilon)).Select(p => p.Epsilon).ToArray();
        var min = finite.Length == 0 ? 0.5 : finite.Min();
        var max = finite.Length == 0 ? 8 : finite.Max();
        var lmin = Math.Log2(min);
        var lmax = Math.Log2(max) + 1; // ∞ is drawn one octave right of the largest ε
        double X(double e) => L + ((double.IsFinite(e) ? Math.Log2(e) - lmin : lmax - lmin) / Math.Max(1e-9, lmax - lmin) * (W - L - R));
        var top = Math.Max(0.05, points.Max(p => Math.Max(Math.Max(p.Model.SampledHr10, p.DpPopularity.SampledHr10), Math.Max(p.Model.FullHr10, p.DpPopularity.FullHr10))));
        double Y(double v) => H - B - (v / top * (H - T - B));
        var ordered = points.OrderBy(p => double.IsFinite(p.Epsilon) ? p.Epsilon : double.MaxValue).ToArray();
        var s = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        s.Append(ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        s.Append(ci, $"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n<text x=\"{L}\" y=\"18\">HR@10 vs ε (δ fixed; ∞ = secure aggregation without noise)</text>\n");
        s.Append(ci, $"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"black\"/><line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"black\"/>\n");
        for (var t = 0; t <= 4; t++)
        {
            var v = top * t / 4;
            s.Append(ci, $"<text x=\"{L - 45}\" y=\"{Y(v) + 4:F1}\">{v:F3}</text><line x1=\"{L}\" y1=\"{Y(v):F1}\" x2=\"{W - R}\" y2=\"{Y(v):F1}\" stroke=\"#ddd\"/>\n");
        }

        foreach (var p in ordered)
        {
            var label = double.IsFinite(p.Epsilon) ? p.Epsilon.ToString("G3", ci) : "∞";
            s.Append(ci, $"<text x=\"{X(p.Epsilon) - 8:F1}\" y=\"{H - B + 18}\">{label}</text>\n");
        }

        s.Append(ci, $"<text x=\"{(W - R + L) / 2 - 10}\" y=\"{H - 12}\">ε</text>\n");
        var series = new (string Name, string Color, string Dash, Func<SweepPoint, double> Value)[]
        {
            ($"{modelName} HR@10 full", "#1f77b4", string.Empty, p => p.Model.FullHr10),
            ($"{modelName} HR@10 sampled", "#1f77b4", "5,3", p => p.Model.SampledHr10),
            ("DP popularity HR@10 full", "#d62728", string.Empty, p => p.DpPopularity.FullHr10),
            ("DP popularity HR@10 sampled", "#d62728", "5,3", p => p.DpPopularity.SampledHr10),
        };
        var legend = 0;
        foreach (var (name, color, dash, value) in series)
        {
            var pts = string.Join(' ', ordered.Select(p => string.Create(ci, $"{X(p.Epsilon):F1},{Y(value(p)):F1}")));
            s.Append(ci, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\" points=\"{pts}\"/>\n");
            foreach (var p in ordered)
            {
                s.Append(ci, $"<circle cx=\"{X(p.Epsilon):F1}\" cy=\"{Y(value(p)):F1}\" r=\"3\" fill=\"{color}\"/>\n");
            }

            var ly = T + 10 + (legend++ * 18);
            s.Append(ci, $"<line x1=\"{W - R + 10}\" y1=\"{ly}\" x2=\"{W - R + 35}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/><text x=\"{W - R + 40}\" y=\"{ly + 4}\">{System.Security.SecurityElement.Escape(name)}</text>\n");
        }

        s.Append("</svg>\n");
        return s.ToString();
    }
}
