using System.CommandLine;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Experiments;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>simulate --model mf</c>: biased MF on explicit ratings, centralized and federated (plain sum, secure aggregation,
/// secure aggregation + distributed DP at <c>--epsilon</c>), optionally the ε–RMSE sweep, on one documented split
/// (docs/evaluation.md).
/// </summary>
internal static class MfSimulationRun
{
    /// <summary>The defaults (tuned as described in docs/evaluation.md).</summary>
    internal static readonly ExperimentOptions Defaults = new()
    {
        Hyperparameters = new MfHyperparameters { Factors = 16, Epochs = 40, LearningRate = 0.01, Regularization = 0.1 },
        Clients = 10,
        Rounds = 30,
        LocalEpochs = 2,
        ServerLearningRate = 1.0,
        DpServerLearningRate = 0.1,
        UserClipNorm = 0.1,
        Epsilon = 8,
        Delta = 1e-5,
        DropoutRate = 0.1,
    };

    public static int Run(ParseResult r, SimulateFlags f, List<double> sweep)
    {
        var options = Defaults with
        {
            Hyperparameters = Defaults.Hyperparameters with { Factors = r.GetValue(f.Factors) ?? Defaults.Hyperparameters.Factors },
            Clients = r.GetValue(f.Clients),
            Rounds = r.GetValue(f.Rounds) ?? Defaults.Rounds,
            LocalEpochs = r.GetValue(f.LocalEpochs),
            Epsilon = r.GetValue(f.Epsilon),
            Delta = r.GetValue(f.Delta),
            DropoutRate = r.GetValue(f.Dropout),
            Seed = r.GetValue(f.Seed),
            Shape = r.GetValue(f.Shape) == "device" ? ClientShape.Device : ClientShape.Silo,
            UserClipNorm = r.GetValue(f.Clip) ?? Defaults.UserClipNorm,
            GroupFile = r.GetValue(f.Groups)?.FullName,
        };
        return Run(r.GetValue(f.Dataset), options, r.GetValue(f.Json), sweep);
    }

    private static string? Check(ExperimentOptions o)
    {
        if (o.Clients < 2)
        {
            return "--clients must be at least 2 (secure aggregation needs two).";
        }

        if (o.Rounds < 1)
        {
            return "--rounds must be at least 1.";
        }

        if (!(o.DropoutRate is >= 0 and <= 0.3))
        {
            return "--dropout must be in [0, 0.3] (the SecAgg threshold is ⌊2n/3⌋ + 1).";
        }

        if (!(o.Epsilon > 0))
        {
            return "--epsilon must be positive (or inf).";
        }

        if (!(o.Delta is > 0 and < 1))
        {
            return "--delta must be in (0, 1).";
        }

        if (!(o.UserClipNorm > 0) || double.IsInfinity(o.UserClipNorm))
        {
            return "--clip must be positive and finite.";
        }

        try
        {
            o.Hyperparameters.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            return e.Message;
        }

        return o.LocalEpochs < 1 ? "--local-epochs must be at least 1." : null;
    }

    private static int Run(FileInfo? datasetFile, ExperimentOptions options, FileInfo? jsonFile, List<double> sweep)
    {
        if (Check(options) is { } problem)
        {
            Console.Error.WriteLine(problem);
            return 2;
        }

        RatingDataset data;
        try
        {
            data = datasetFile is null ? SyntheticDataset.Generate(new SyntheticOptions(), options.Seed) : DatasetLoader.Load(datasetFile.FullName);
        }
        catch (Exception e) when (e is DatasetFormatException or FileNotFoundException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"cannot load the dataset: {e.Message}");
            return 2;
        }

        if (options.GroupFile is { } groupFile)
        {
            if (options.Shape != ClientShape.Silo)
            {
                Console.Error.WriteLine("--groups applies to the silo shape only.");
                return 2;
            }

            try
            {
                options = options with { Clients = UserPartition.FromGroupFile(data, groupFile).ClientCount };
            }
            catch (Exception e) when (e is DatasetFormatException or FileNotFoundException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"cannot use the group file: {e.Message}");
                return 2;
            }

            if (options.Clients < 2)
            {
                Console.Error.WriteLine("--groups must define at least 2 groups.");
                return 2;
            }
        }

        if (options.Shape == ClientShape.Silo && options.Clients > data.UserCount)
        {
            Console.Error.WriteLine($"--clients {options.Clients} exceeds the {data.UserCount} users of the dataset.");
            return 2;
        }

        var split = EvaluationSplit.Create(data, options.TestFraction, options.Seed);
        var interactive = SimulateOutput.Interactive;
        Console.WriteLine($"dataset: {data.Name}: {data.UserCount} users, {data.ItemCount} items, {data.Count} ratings; train {split.Train.Count}, rating test {split.RatingTest.Count}");
        Console.WriteLine(SimulateOutput.Invariant($"model mf, shape {options.Shape.ToString().ToLowerInvariant()}, clients {options.Clients}, rounds {options.Rounds}, dropout {options.DropoutRate}, k {options.Hyperparameters.Factors}, seed {options.Seed}; DP: ε {options.Epsilon}, δ {options.Delta}, user clip {options.UserClipNorm}"));

        var results = new List<SettingResult>();
        var sweepResults = new List<SettingResult>();
        try
        {
            results.Add(SimulateOutput.Step(interactive, "centralized", options.Hyperparameters.Epochs, (_, _) => Experiment.RunCentralized(split, options)));
            results.Add(Federated(interactive, split, options, AggregationKind.Plain, "federated (plain sum)"));
            results.Add(Federated(interactive, split, options, AggregationKind.SecAgg, "federated + secagg"));
            if (double.IsFinite(options.Epsilon))
            {
                results.Add(Federated(interactive, split, options, AggregationKind.SecAggDp, SimulateOutput.Invariant($"federated + secagg + DP ε={options.Epsilon}")));
            }

            if (sweep.Count > 0)
            {
                sweepResults.Add(SimulateOutput.Step(interactive, "ε = ∞ (user-clipped, secagg, no noise)", options.Rounds, (progress, phase) =>
                    Experiment.RunFederated(split, options, AggregationKind.SecAgg, userClipped: true, double.PositiveInfinity, progress, phase)));
                foreach (var e in sweep.Distinct().OrderDescending())
                {
                    sweepResults.Add(SimulateOutput.Step(interactive, SimulateOutput.Invariant($"ε = {e}"), options.Rounds, (progress, phase) =>
                        Experiment.RunFederated(split, options, AggregationKind.SecAggDp, userClipped: true, e, progress, phase)));
                }
            }
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"a round failed: {e.Message}");
            return 1;
        }

        SimulateOutput.PrintMfTable(results, interactive, SimulateOutput.Invariant($"SecureFedRec simulate --model mf: {options.Clients} clients, {options.Rounds} rounds, dropout {options.DropoutRate}, δ = {options.Delta}"));
        if (sweepResults.Count > 0)
        {
            SimulateOutput.PrintMfTable(sweepResults, interactive, SimulateOutput.Invariant($"ε–accuracy (user-level ε over {options.Rounds} rounds, δ = {options.Delta}, clip C = {options.UserClipNorm}, FedAdam)"));
        }

        if (jsonFile is not null)
        {
            SimulateOutput.WriteJson(jsonFile, MfReport.From(data, split, options, [.. results, .. sweepResults]));
        }

        return 0;
    }

    private static SettingResult Federated(bool interactive, EvaluationSplit split, ExperimentOptions options, AggregationKind kind, string label) =>
        SimulateOutput.Step(interactive, label, options.Rounds, (progress, phase) =>
            Experiment.RunFederated(split, options, kind, userClipped: false, options.Epsilon, progress, phase));
}
