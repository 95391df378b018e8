using System.CommandLine;
using System.Diagnostics;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Ranking;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>simulate --model bpr|ials|neural|knn</c>: the ranking comparison of <see cref="RankingSimulation"/> (popularity, DP
/// popularity, centralized, federated, + secure aggregation, + DP with the user and the institution as the privacy unit),
/// printed as tables, with the privacy–utility curve as an SVG when <c>--epsilon-sweep</c> is given.
/// </summary>
internal static class RankingSimulationRun
{
    /// <summary>Rounds on <c>--dataset</c> when <c>--rounds</c> is not given (the library default).</summary>
    internal static readonly int DatasetRounds = new RankingOptions().Rounds;

    /// <summary>Rounds on the embedded synthetic data (600 users): enough to converge there, quick enough for a first run.</summary>
    internal const int SyntheticRounds = 10;

    /// <summary>Centralized epochs / ALS iterations on the synthetic data.</summary>
    internal const int SyntheticCentralEpochs = 10;

    public static int Run(ParseResult r, SimulateFlags f, string model, List<double> sweep)
    {
        var dataset = r.GetValue(f.Dataset);
        var json = r.GetValue(f.Json);
        var synthetic = dataset is null;
        var defaults = new RankingOptions();
        var epsilon = r.GetValue(f.Epsilon);
        if (!double.IsFinite(epsilon))
        {
            Console.Error.WriteLine("--epsilon inf applies to --model mf only: the ranking models' DP rows need a finite ε (the ε = ∞ point is part of --epsilon-sweep).");
            return 2;
        }

        string? plot = null;
        if (sweep.Count > 0)
        {
            plot = r.GetValue(f.Plot)?.FullName
                ?? Path.Combine(json?.DirectoryName ?? Directory.GetCurrentDirectory(), "epsilon-sweep.svg");
            var folder = Path.GetDirectoryName(plot);
            if (folder is not null && !Directory.Exists(folder))
            {
                Console.Error.WriteLine($"error: --plot: the folder {folder} does not exist.");
                return 2;
            }
        }
        else if (r.GetValue(f.Plot) is not null)
        {
            Console.Error.WriteLine("--plot needs --epsilon-sweep (the plot is the sweep's curve).");
            return 2;
        }

        var options = defaults with
        {
            Dataset = dataset?.FullName,
            Model = model switch
            {
                "bpr" => RankingModelKind.Bpr,
                "neural" => RankingModelKind.Neural,
                "knn" => RankingModelKind.Knn,
                _ => RankingModelKind.Ials,
            },
            Clients = r.GetValue(f.Clients),
            Rounds = r.GetValue(f.Rounds) ?? (synthetic ? SyntheticRounds : DatasetRounds),
            CentralEpochs = synthetic ? SyntheticCentralEpochs : defaults.CentralEpochs,
            LocalEpochs = r.GetValue(f.LocalEpochs),
            Epsilon = epsilon,
            Delta = r.GetValue(f.Delta),
            Dropout = r.GetValue(f.Dropout),
            Seed = r.GetValue(f.Seed),
            EpsilonSweep = sweep,
            Plot = plot,
            Factors = r.GetValue(f.Factors) ?? defaults.Factors,
            Threshold = r.GetValue(f.Threshold),
            Protocol = r.GetValue(f.Protocol) == "random" ? HoldoutProtocol.LeaveOneOutRandom : HoldoutProtocol.LeaveLatestOut,
            Negatives = r.GetValue(f.Negatives),
            Optimizer = r.GetValue(f.Optimizer) == "fedadam" ? ServerOptimizerKind.FedAdam : ServerOptimizerKind.FedAvg,
            Clip = r.GetValue(f.Clip) ?? defaults.Clip,
            DpRounds = r.GetValue(f.DpRounds) ?? defaults.DpRounds,
            DpFactors = r.GetValue(f.DpFactors) ?? defaults.DpFactors,
            PriorWeight = r.GetValue(f.PriorWeight) ?? defaults.PriorWeight,
            PriorShare = r.GetValue(f.PriorShare) ?? defaults.PriorShare,
            PriorWindow = r.GetValue(f.PriorWindow) ?? defaults.PriorWindow,
            GramItems = r.GetValue(f.GramItems) ?? defaults.GramItems,
            GramRank = r.GetValue(f.GramRank) ?? defaults.GramRank,
            GramPriorShare = (model == "knn" ? r.GetValue(f.PriorShare) : null) ?? defaults.GramPriorShare,
            GramPriorWeight = (model == "knn" ? r.GetValue(f.PriorWeight) : null) ?? defaults.GramPriorWeight,
            GramLocalWeight = r.GetValue(f.LocalWeight) ?? defaults.GramLocalWeight,
            GramLocalExponent = r.GetValue(f.LocalExponent) ?? defaults.GramLocalExponent,
            Personalize = r.GetValue(f.Personalize),
            Benchmark = r.GetValue(f.Benchmark),
        };

        try
        {
            options.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            Console.Error.WriteLine(SimulateOutput.Describe(e));
            return 2;
        }

        Console.WriteLine(options.Model == RankingModelKind.Knn
                ? SimulateOutput.Invariant($"model knn, clients {options.Clients}, 2 secure-sum rounds, dropout {options.Dropout}, seed {options.Seed}; M {options.GramItems}, rank {options.GramRank}, prior share φ {options.GramPriorShare}, prior weight β {options.GramPriorWeight}, local weight w {options.GramLocalWeight}, local exponent γ {options.GramLocalExponent}; DP: ε {options.Epsilon} over both rounds, δ {options.Delta}, user sensitivity 1{(synthetic ? "; embedded synthetic data" : string.Empty)}")
                : SimulateOutput.Invariant($"model {model}, clients {options.Clients}, rounds {options.Rounds} (DP rows {options.DpRounds}), centralized epochs {options.CentralEpochs}, local epochs {options.LocalEpochs}, k {options.Factors}, dropout {options.Dropout}, seed {options.Seed}; DP: ε {options.Epsilon}, δ {options.Delta}, clip {options.Clip}, k {options.DpFactors ?? options.Factors}{(options.Model == RankingModelKind.Ials ? $", popularity prior β {options.PriorWeight}, share {options.PriorShare}, window {options.PriorWindow}" : string.Empty)}{(synthetic ? "; embedded synthetic data (fewer rounds than on --dataset)" : string.Empty)}"));

        var clock = Stopwatch.StartNew();
        RankingReport report;
        try
        {
            report = RankingSimulation.Run(options, line => Console.WriteLine(SimulateOutput.Invariant($"[{clock.Elapsed.TotalSeconds,6:F1} s] {line}")));
        }
        catch (Exception e) when (e is DatasetFormatException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"cannot load the dataset: {e.Message}");
            return 2;
        }
        catch (ArgumentOutOfRangeException e)
        {
            // e.g. more clients than users: refused by the partition before any round.
            Console.Error.WriteLine(SimulateOutput.Describe(e));
            return 2;
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"a round failed: {e.Message}");
            return 1;
        }

        SimulateOutput.PrintRankingTables(report, options);
        if (report.PlotPath is { } written)
        {
            Console.WriteLine($"privacy–utility plot (SVG) written to {Path.GetFullPath(written)}");
        }

        if (json is not null)
        {
            SimulateOutput.WriteJson(json, new RankingJson(model, options, report, clock.Elapsed.TotalSeconds));
        }

        return 0;
    }
}
