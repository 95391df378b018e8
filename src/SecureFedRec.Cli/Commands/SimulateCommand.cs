using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Experiments;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;
using Spectre.Console;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec simulate</c>: the main job. Trains the centralized baseline and three federated settings (plain sum,
/// secure aggregation, secure aggregation + distributed DP at <c>--epsilon</c>) on one documented split
/// (docs/evaluation.md) of the embedded synthetic data or <c>--dataset</c>, shows per-round progress, and prints one
/// comparison table (also written to <c>--json</c>). Exit codes: 0 done, 1 a round failed, 2 bad arguments or data.
/// </summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var dataset = new Option<FileInfo?>("--dataset") { Description = "Ratings file: MovieLens ratings.csv (latest/-small), u.data (100K), ratings.dat (1M), or CSV user,item,rating[,timestamp]. Default: the embedded synthetic dataset." };
        var clients = new Option<int>("--clients") { Description = "Clients (silos); in the device shape, the cohort sampled per round.", DefaultValueFactory = _ => 10 };
        var rounds = new Option<int>("--rounds") { Description = "Federated rounds.", DefaultValueFactory = _ => Defaults.Rounds };
        var epsilon = new Option<double>("--epsilon")
        {
            Description = "Total user-level ε of the DP setting over all rounds ('inf' skips the DP setting).",
            DefaultValueFactory = _ => 8.0,
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (text.Equals("inf", StringComparison.OrdinalIgnoreCase) || text.Equals("infinity", StringComparison.OrdinalIgnoreCase) || text == "∞")
                {
                    return double.PositiveInfinity;
                }

                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0)
                {
                    return value;
                }

                result.AddError($"--epsilon must be a positive number or 'inf'; found '{text}'.");
                return 0;
            },
        };
        var delta = new Option<double>("--delta") { Description = "δ of the DP setting.", DefaultValueFactory = _ => 1e-5 };
        var dropout = new Option<double>("--dropout") { Description = "Fraction of each round's clients that drop out after advertising keys (0–0.3).", DefaultValueFactory = _ => 0.1 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of every random stream (data, split, partition, training, protocol, noise).", DefaultValueFactory = _ => 1UL };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the figures as JSON to this path." };
        var shape = new Option<string>("--shape") { Description = "silo (a client is an institution with many users) or device (a client is one user).", DefaultValueFactory = _ => "silo" };
        shape.AcceptOnlyFromAmong("silo", "device");
        var factors = new Option<int>("--factors") { Description = "Latent factors k.", DefaultValueFactory = _ => Defaults.Hyperparameters.Factors };
        var localEpochs = new Option<int>("--local-epochs") { Description = "Local epochs per round.", DefaultValueFactory = _ => Defaults.LocalEpochs };
        var clip = new Option<double>("--clip") { Description = "User-level L2 clip C of the DP setting.", DefaultValueFactory = _ => Defaults.UserClipNorm };
        var groups = new Option<FileInfo?>("--groups") { Description = "Partition by a column: a user,group CSV (user ids as in the dataset); each group is a silo (overrides --clients)." };
        var sweep = new Option<string?>("--epsilon-sweep") { Description = "Also print an ε–RMSE table: comma-separated ε values (e.g. 1,2,4,8), each a user-clipped secagg+DP run, plus the same run without noise (ε = ∞)." };

        var command = new Command("simulate", "Federated matrix factorization with secure aggregation and distributed DP, compared with centralized training.");
        foreach (var o in new Option[] { dataset, clients, rounds, epsilon, delta, dropout, seed, json, shape, factors, localEpochs, clip, groups, sweep })
        {
            command.Options.Add(o);
        }

        command.SetAction(r =>
        {
            var options = Defaults with
            {
                Hyperparameters = Defaults.Hyperparameters with { Factors = r.GetValue(factors) },
                Clients = r.GetValue(clients),
                Rounds = r.GetValue(rounds),
                LocalEpochs = r.GetValue(localEpochs),
                Epsilon = r.GetValue(epsilon),
                Delta = r.GetValue(delta),
                DropoutRate = r.GetValue(dropout),
                Seed = r.GetValue(seed),
                Shape = r.GetValue(shape) == "device" ? ClientShape.Device : ClientShape.Silo,
                UserClipNorm = r.GetValue(clip),
                GroupFile = r.GetValue(groups)?.FullName,
            };
            var sweepValues = new List<double>();
            foreach (var part in (r.GetValue(sweep) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var e) || !(e > 0) || double.IsInfinity(e))
                {
                    Console.Error.WriteLine($"--epsilon-sweep: '{part}' is not a positive finite number.");
                    return 2;
                }

                sweepValues.Add(e);
            }

            return Run(r.GetValue(dataset), options, r.GetValue(json), sweepValues);
        });
        return command;
    }

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
        var interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        Console.WriteLine($"dataset: {data.Name}: {data.UserCount} users, {data.ItemCount} items, {data.Count} ratings; train {split.Train.Count}, rating test {split.RatingTest.Count}");
        Console.WriteLine(Invariant($"shape {options.Shape.ToString().ToLowerInvariant()}, clients {options.Clients}, rounds {options.Rounds}, dropout {options.DropoutRate}, k {options.Hyperparameters.Factors}, seed {options.Seed}; DP: ε {options.Epsilon}, δ {options.Delta}, user clip {options.UserClipNorm}"));

        var results = new List<SettingResult>();
        var sweepResults = new List<SettingResult>();
        try
        {
            results.Add(Step(interactive, "centralized", options.Hyperparameters.Epochs, (_, _) => Experiment.RunCentralized(split, options)));
            results.Add(Federated(interactive, split, options, AggregationKind.Plain, "federated (plain sum)"));
            results.Add(Federated(interactive, split, options, AggregationKind.SecAgg, "federated + secagg"));
            if (double.IsFinite(options.Epsilon))
            {
                results.Add(Federated(interactive, split, options, AggregationKind.SecAggDp, Invariant($"federated + secagg + DP ε={options.Epsilon}")));
            }

            if (sweep.Count > 0)
            {
                sweepResults.Add(Step(interactive, "ε = ∞ (user-clipped, secagg, no noise)", options.Rounds, (progress, phase) =>
                    Experiment.RunFederated(split, options, AggregationKind.SecAgg, userClipped: true, double.PositiveInfinity, progress, phase)));
                foreach (var e in sweep.OrderDescending())
                {
                    sweepResults.Add(Step(interactive, Invariant($"ε = {e}"), options.Rounds, (progress, phase) =>
                        Experiment.RunFederated(split, options, AggregationKind.SecAggDp, userClipped: true, e, progress, phase)));
                }
            }
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"a round failed: {e.Message}");
            return 1;
        }

        PrintTable(results, options, interactive, Invariant($"SecureFedRec simulate: {options.Clients} clients, {options.Rounds} rounds, dropout {options.DropoutRate}, δ = {options.Delta}"));
        if (sweepResults.Count > 0)
        {
            PrintTable(sweepResults, options, interactive, Invariant($"ε–accuracy (user-level ε over {options.Rounds} rounds, δ = {options.Delta}, clip C = {options.UserClipNorm}, FedAdam)"));
        }

        if (jsonFile is not null)
        {
            File.WriteAllText(jsonFile.FullName, ToJson(data, split, options, [.. results, .. sweepResults]), new UTF8Encoding(false));
            Console.WriteLine($"figures written to {jsonFile.FullName}");
        }

        return 0;
    }

    private static SettingResult Federated(bool interactive, EvaluationSplit split, ExperimentOptions options, AggregationKind kind, string label) =>
        Step(interactive, label, options.Rounds, (progress, phase) =>
            Experiment.RunFederated(split, options, kind, userClipped: false, options.Epsilon, progress, phase));

    /// <summary>Runs one setting with a live progress line (interactive) or one plain line per round (redirected).</summary>
    private static SettingResult Step(bool interactive, string label, int total, Func<Action<RoundReport>, Action<int, string>, SettingResult> run)
    {
        string Line(RoundReport r) => Invariant(
            $"{label}: round {r.Round}/{total} · {r.Phase} · survivors {r.Survivors}/{r.Participants} · ε {r.EpsilonSpent:F3} · loss {r.TrainLoss:F4} · {r.Seconds:F2} s");
        if (!interactive)
        {
            Console.WriteLine($"{label}: training …");
            var result = run(r => Console.WriteLine(Line(r)), (_, _) => { });
            Console.WriteLine(Invariant($"{label}: RMSE {result.Metrics.Rmse:F4}, {result.TotalSeconds:F1} s"));
            return result;
        }

        SettingResult? outcome = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: total);
                var last = "";
                outcome = run(
                    r =>
                    {
                        last = Line(r);
                        task.Value = r.Round;
                        task.Description = Markup.Escape(last);
                    },
                    (round, phase) => task.Description = Markup.Escape(Invariant($"{label}: round {round}/{total} · {phase}")));
                task.Value = total;
                task.Description = Markup.Escape(Invariant($"{label}: RMSE {outcome.Metrics.Rmse:F4}") + (last.Length > 0 ? $" (last: {last[(label.Length + 2)..]})" : ""));
            });
        return outcome!;
    }

    private static void PrintTable(IReadOnlyList<SettingResult> results, ExperimentOptions options, bool interactive, string title)
    {
        // Redirected output: no colours or control codes, and wide enough that the table never wraps.
        var console = interactive ? AnsiConsole.Console : AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        if (!interactive)
        {
            console.Profile.Width = 200;
        }

        var table = new Table().Title(Markup.Escape(title));
        foreach (var h in new[] { "setting", "RMSE", "MAE", "HR@10 s", "NDCG@10 s", "HR@10 full", "NDCG@10 full", "ε spent", "s/round", "bytes/client" })
        {
            table.AddColumn(new TableColumn(h) { Alignment = h == "setting" ? Justify.Left : Justify.Right });
        }

        foreach (var r in results)
        {
            var m = r.Metrics;
            table.AddRow(
                Markup.Escape(r.Name),
                F(m.Rmse), F(m.Mae), F(m.HitRateSampled), F(m.NdcgSampled), F(m.HitRateFull), F(m.NdcgFull),
                r.EpsilonSpent > 0 ? Invariant($"{r.EpsilonSpent:F2}") : "∞",
                Invariant($"{r.SecondsPerRound:F3}"),
                r.BytesPerClient == 0 ? "–" : r.BytesPerClient.ToString("N0", CultureInfo.InvariantCulture));
        }

        console.Write(table);
        Console.WriteLine("HR/NDCG: leave-latest-out; 's' = against 99 sampled unseen items, 'full' = against every unseen item. centralized s/round = s/epoch.");
    }

    private static string F(double v) => double.IsNaN(v) ? "–" : v.ToString("F4", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string ToJson(RatingDataset data, EvaluationSplit split, ExperimentOptions o, IReadOnlyList<SettingResult> results)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            void Num(string name, double v)
            {
                if (double.IsFinite(v))
                {
                    w.WriteNumber(name, v);
                }
                else
                {
                    w.WriteNull(name);
                }
            }

            w.WriteStartObject();
            w.WriteString("dataset", data.Name);
            w.WriteNumber("users", data.UserCount);
            w.WriteNumber("items", data.ItemCount);
            w.WriteNumber("ratings", data.Count);
            w.WriteStartObject("split");
            w.WriteString("protocol", "per user: latest rating held out for ranking; 20% of the rest (seeded) held out for RMSE/MAE");
            w.WriteNumber("train", split.Train.Count);
            w.WriteNumber("ratingTest", split.RatingTest.Count);
            w.WriteEndObject();
            w.WriteStartObject("options");
            w.WriteString("shape", o.Shape.ToString().ToLowerInvariant());
            w.WriteNumber("clients", o.Clients);
            w.WriteNumber("rounds", o.Rounds);
            w.WriteNumber("localEpochs", o.LocalEpochs);
            w.WriteNumber("factors", o.Hyperparameters.Factors);
            w.WriteNumber("centralizedEpochs", o.Hyperparameters.Epochs);
            w.WriteNumber("learningRate", o.Hyperparameters.LearningRate);
            w.WriteNumber("regularization", o.Hyperparameters.Regularization);
            Num("epsilonTarget", o.Epsilon);
            w.WriteNumber("delta", o.Delta);
            w.WriteNumber("userClip", o.UserClipNorm);
            w.WriteNumber("dropout", o.DropoutRate);
            w.WriteNumber("seed", o.Seed);
            w.WriteEndObject();
            w.WriteStartArray("results");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("setting", r.Name);
                Num("rmse", r.Metrics.Rmse);
                Num("mae", r.Metrics.Mae);
                Num("hr10Sampled", r.Metrics.HitRateSampled);
                Num("ndcg10Sampled", r.Metrics.NdcgSampled);
                Num("hr10Full", r.Metrics.HitRateFull);
                Num("ndcg10Full", r.Metrics.NdcgFull);
                if (r.EpsilonSpent > 0)
                {
                    w.WriteNumber("epsilonSpent", r.EpsilonSpent);
                }
                else
                {
                    w.WriteNull("epsilonSpent");
                }

                w.WriteNumber("secondsPerRound", r.SecondsPerRound);
                w.WriteNumber("bytesPerClient", r.BytesPerClient);
                w.WriteNumber("totalSeconds", r.TotalSeconds);
                w.WriteStartArray("rounds");
                foreach (var x in r.Rounds)
                {
                    w.WriteStartObject();
                    w.WriteNumber("round", x.Round);
                    w.WriteNumber("participants", x.Participants);
                    w.WriteNumber("survivors", x.Survivors);
                    w.WriteNumber("epsilon", x.EpsilonSpent);
                    Num("trainLoss", x.TrainLoss);
                    w.WriteNumber("seconds", x.Seconds);
                    w.WriteNumber("aggregationSeconds", x.AggregationSeconds);
                    w.WriteNumber("bytesPerClient", x.BytesPerClient);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
