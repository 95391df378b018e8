using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using SecureFedRec.Recommender.Experiments;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Ranking;
using Spectre.Console;

namespace SecureFedRec.Cli.Commands;

/// <summary>What <c>simulate</c> prints and writes: progress lines, the comparison tables, and the <c>--json</c> file.</summary>
internal static class SimulateOutput
{
    /// <summary>JSON of every report: camelCase, indented, ε = ∞ as the named literal <c>"Infinity"</c>, enums by name.</summary>
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>True when stdout is a terminal that takes live progress bars.</summary>
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>An option's range refusal as one line: "--clients: at least 2 clients; got 1."</summary>
    public static string Describe(ArgumentOutOfRangeException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        message = message.Split('\n')[0].TrimEnd();
        return e.ActualValue is null ? $"{e.ParamName}: {message}." : Invariant($"{e.ParamName}: {message}; got {e.ActualValue}.");
    }

    public static void WriteJson<T>(FileInfo file, T report)
    {
        File.WriteAllText(file.FullName, JsonSerializer.Serialize(report, Json), new UTF8Encoding(false));
        Console.WriteLine($"figures written to {file.FullName}");
    }

    /// <summary>Runs one MF setting with a live progress line (interactive) or one plain line per round (redirected).</summary>
    public static SettingResult Step(bool interactive, string label, int total, Func<Action<RoundReport>, Action<int, string>, SettingResult> run)
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
                var last = string.Empty;
                outcome = run(
                    r =>
                    {
                        last = Line(r);
                        task.Value = r.Round;
                        task.Description = Markup.Escape(last);
                    },
                    (round, phase) => task.Description = Markup.Escape(Invariant($"{label}: round {round}/{total} · {phase}")));
                task.Value = total;
                task.Description = Markup.Escape(Invariant($"{label}: RMSE {outcome.Metrics.Rmse:F4}") + (last.Length > 0 ? $" (last: {last[(label.Length + 2)..]})" : string.Empty));
            });
        return outcome!;
    }

    public static void PrintMfTable(IReadOnlyList<SettingResult> results, bool interactive, string title)
    {
        var table = NewTable(title, "setting", "RMSE", "MAE", "HR@10 s", "NDCG@10 s", "HR@10 full", "NDCG@10 full", "ε spent", "s/round", "bytes/client");
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

        Output(interactive).Write(table);
        Console.WriteLine("HR/NDCG: leave-latest-out; 's' = against 99 sampled unseen items, 'full' = against every unseen item. centralized s/round = s/epoch.");
    }

    public static void PrintRankingTables(RankingReport report, RankingOptions options)
    {
        var console = Output(Interactive);
        Console.WriteLine($"{report.Dataset}; {report.Split}; model {report.Model}");
        var table = NewTable(
            options.Model == RankingModelKind.Knn
                ? Invariant($"SecureFedRec simulate --model knn: {options.Clients} silos, 2 secure-sum rounds (DP: ε over both), dropout {options.Dropout}, δ = {options.Delta}")
                : Invariant($"SecureFedRec simulate --model {options.Model.ToString().ToLowerInvariant()}: {options.Clients} silos, {options.Rounds} rounds (DP: {options.DpRounds}), dropout {options.Dropout}, δ = {options.Delta}"),
            "setting", "HR@10 s", "NDCG@10 s", "HR@10 full", "NDCG@10 full", "Recall@20 full", "MRR full", "ε", "unit", "s/round", "bytes/client");
        foreach (var r in report.Rows)
        {
            var m = r.Metrics;
            table.AddRow(
                Markup.Escape(r.Setting),
                F(m.SampledHr10), F(m.SampledNdcg10), F(m.FullHr10), F(m.FullNdcg10), F(m.FullRecall20), F(m.FullMrr),
                r.Epsilon is { } e ? Invariant($"{e:F2}") : "–",
                r.PrivacyUnit ?? "–",
                r.SecondsPerRound is { } s ? Invariant($"{s:F3}") : "–",
                r.BytesPerClient is { } b ? b.ToString("N0", CultureInfo.InvariantCulture) : "–");
        }

        console.Write(table);
        Console.WriteLine(Invariant($"'s' = against {options.Negatives} sampled unseen items, 'full' = against every unseen item (each user's training items excluded)."));
        if (report.Sweep.Count > 0)
        {
            var sweep = NewTable(
                options.Model == RankingModelKind.Knn
                    ? Invariant($"privacy–utility (user-level ε over the 2 secure-sum rounds, δ = {options.Delta}, user sensitivity 1; DP popularity: 1 secure-sum round)")
                    : Invariant($"privacy–utility (user-level ε over {options.DpRounds} rounds, δ = {options.Delta}, clip C = {options.Clip}; DP popularity: 1 secure-sum round)"),
                "ε", "model HR@10 s", "model HR@10 full", "model NDCG@10 full", "DP popularity HR@10 s", "DP popularity HR@10 full");
            foreach (var p in report.Sweep)
            {
                sweep.AddRow(
                    double.IsPositiveInfinity(p.Epsilon) ? "∞" : p.Epsilon.ToString("G4", CultureInfo.InvariantCulture),
                    F(p.Model.SampledHr10), F(p.Model.FullHr10), F(p.Model.FullNdcg10), F(p.DpPopularity.SampledHr10), F(p.DpPopularity.FullHr10));
            }

            console.Write(sweep);
            Console.WriteLine("ε = ∞: the same clipped secure-aggregation run without noise, beside non-private popularity.");
        }

        if (report.Benchmark is { } n)
        {
            Console.WriteLine(Invariant($"neural benchmark: {n.SharedParameters:N0} shared parameters (d = {n.Dimension:N0}), {n.Clients} clients, {n.Rounds} rounds: local training {n.LocalSecondsPerClient:F2} s per client per round, {n.BytesPerClient:N0} bytes per client, secure aggregation {n.AggregationSeconds:F2} s of a {n.RoundSeconds:F2} s round ({n.SecAggShare:P0})"));
        }
    }

    private static Table NewTable(string title, params string[] headers)
    {
        var table = new Table().Title(Markup.Escape(title));
        foreach (var h in headers)
        {
            table.AddColumn(new TableColumn(Markup.Escape(h)) { Alignment = h is "setting" ? Justify.Left : Justify.Right });
        }

        return table;
    }

    /// <summary>Redirected output: no colours or control codes, and wide enough that a table never wraps.</summary>
    private static IAnsiConsole Output(bool interactive)
    {
        if (interactive)
        {
            return AnsiConsole.Console;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        console.Profile.Width = 220;
        return console;
    }

    private static string F(double v) => double.IsNaN(v) ? "–" : v.ToString("F4", CultureInfo.InvariantCulture);
}
