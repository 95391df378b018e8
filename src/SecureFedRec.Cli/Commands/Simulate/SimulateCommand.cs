using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec simulate</c>: the main job. <c>--model mf</c> trains biased MF (explicit ratings) centrally and in three
/// federated settings (<see cref="MfSimulationRun"/>); <c>--model bpr|ials|neural|knn</c> (default <c>ials</c>, the best
/// non-private ranking model; <c>knn</c> is the DP one) runs the ranking comparison with popularity, centralized, federated, + secure aggregation, + DP at the
/// user and institution level and DP popularity (<see cref="RankingSimulationRun"/>). Both run the one round pipeline over
/// the in-process transport. Exit codes: 0 done, 1 a round failed, 2 bad arguments or data.
/// </summary>
internal static class SimulateCommand
{
    /// <summary>The accepted <c>--model</c> values, in the order the help and the error name them.</summary>
    internal static readonly string[] Models = ["mf", "bpr", "ials", "neural", "knn"];

    public static Command Create()
    {
        var f = new SimulateFlags();
        var command = new Command("simulate", "Federated recommendation with secure aggregation and distributed DP, compared with popularity and centralized training (--model mf|bpr|ials|neural|knn).");
        foreach (var o in f.All)
        {
            command.Options.Add(o);
        }

        command.SetAction(r =>
        {
            var model = r.GetValue(f.Model) ?? "ials";
            if (!SimulateFlags.TryParseSweep(r.GetValue(f.Sweep), out var sweep, out var sweepProblem))
            {
                Console.Error.WriteLine(sweepProblem);
                return 2;
            }

            if (model == "mf")
            {
                if (f.FirstExplicit(r, f.RankingOnly) is { } rankingFlag)
                {
                    Console.Error.WriteLine($"{rankingFlag} applies to the ranking models (--model bpr|ials|neural|knn), not to --model mf.");
                    return 2;
                }

                return MfSimulationRun.Run(r, f, sweep);
            }

            if (f.FirstExplicit(r, f.MfOnly) is { } mfFlag)
            {
                Console.Error.WriteLine($"{mfFlag} applies to --model mf only.");
                return 2;
            }

            return RankingSimulationRun.Run(r, f, model, sweep);
        });
        return command;
    }
}

/// <summary>The flags of <c>simulate</c>; model-specific defaults are resolved by the run that uses them.</summary>
internal sealed class SimulateFlags
{
    public Option<string?> Model { get; } = new("--model")
    {
        Description = "mf (biased MF on explicit ratings), bpr (BPR-MF), ials (implicit ALS, user factors solved locally), neural (two-tower MLP) or knn (item-kNN over a DP item Gram matrix, two secure-sum rounds, served by each institution with its own users' exact signal (--local-weight): the model above popularity under DP). Default: ials, the best ranking model without DP.",
        DefaultValueFactory = _ => "ials",
        Validators =
        {
            r =>
            {
                var v = r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Empty;
                if (!SimulateCommand.Models.Contains(v, StringComparer.Ordinal) && r.Tokens.Count > 0)
                {
                    r.AddError($"--model must be one of {string.Join(", ", SimulateCommand.Models)}, got '{v}'.");
                }
            },
        },
    };

    public Option<FileInfo?> Dataset { get; } = new("--dataset") { Description = "Ratings file: MovieLens ratings.csv (latest/-small), u.data (100K), ratings.dat (1M), or CSV user,item,rating[,timestamp]; ranking models also read an events CSV (user,item,kind,…). Default: the embedded synthetic dataset." };

    public Option<int> Clients { get; } = new("--clients") { Description = "Clients (silos); in the mf device shape, the cohort sampled per round.", DefaultValueFactory = _ => 10 };

    public Option<int?> Rounds { get; } = new("--rounds") { Description = "Federated rounds. Default: mf 30; ranking models 80 on --dataset, 10 on the synthetic data." };

    public Option<double> Epsilon { get; } = new("--epsilon")
    {
        Description = "Total ε of the DP settings over all their rounds ('inf' skips the mf DP setting).",
        DefaultValueFactory = _ => 8.0,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
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

    public Option<double> Delta { get; } = new("--delta") { Description = "δ of the DP settings.", DefaultValueFactory = _ => 1e-5 };

    public Option<double> Dropout { get; } = new("--dropout") { Description = "Fraction of each round's clients that drop out after advertising keys (0–0.3).", DefaultValueFactory = _ => 0.1 };

    public Option<ulong> Seed { get; } = new("--seed") { Description = "Seed of every random stream (data, split, partition, training, protocol, noise).", DefaultValueFactory = _ => 1UL };

    public Option<FileInfo?> Json { get; } = new("--json") { Description = "Also write the figures as JSON to this path." };

    public Option<string> Shape { get; } = CreateShape();

    public Option<int?> Factors { get; } = new("--factors") { Description = "Latent factors / embedding dimension k. Default: mf 16, ranking models 64." };

    public Option<int> LocalEpochs { get; } = new("--local-epochs") { Description = "Local epochs per round.", DefaultValueFactory = _ => 2 };

    public Option<double?> Clip { get; } = new("--clip") { Description = "L2 clip C of one user's (or institution's) update in the DP settings. Default: mf 0.1, ranking models 2." };

    public Option<FileInfo?> Groups { get; } = new("--groups") { Description = "mf only: partition by a column: a user,group CSV (user ids as in the dataset); each group is a silo (overrides --clients)." };

    public Option<string?> Sweep { get; } = new("--epsilon-sweep") { Description = "Also run the privacy–utility curve: comma-separated ε values (e.g. 0.5,1,2,4,8), each a secagg + DP run, plus the same run without noise (ε = ∞). Ranking models also write it as an SVG (--plot)." };

    public Option<FileInfo?> Plot { get; } = new("--plot") { Description = "Ranking models: SVG file of the --epsilon-sweep curve. Default: epsilon-sweep.svg beside --json, else in the current folder." };

    public Option<int?> DpRounds { get; } = new("--dp-rounds") { Description = "Ranking models: rounds of the DP settings (the budget is spread over them). Default 3." };

    public Option<double> Threshold { get; } = new("--threshold") { Description = "Ranking models: ratings ≥ this are positives (0 keeps every rating, as the NCF protocol does).", DefaultValueFactory = _ => 0 };

    public Option<int> Negatives { get; } = new("--negatives") { Description = "Ranking models: sampled negatives per test user.", DefaultValueFactory = _ => 99 };

    public Option<string> Protocol { get; } = CreateChoice("--protocol", "Ranking models: held-out interaction: latest (leave-latest-out) or random (leave-one-out, seeded).", "latest", "latest", "random");

    public Option<string> Optimizer { get; } = CreateChoice("--optimizer", "Ranking models: server optimizer of the shared parameters: fedavg or fedadam.", "fedavg", "fedavg", "fedadam");

    public Option<int?> DpFactors { get; } = new("--dp-factors") { Description = "Ranking models: embedding dimension k of the DP settings (fewer shared coordinates under the same noise). Default 32." };

    public Option<double?> PriorWeight { get; } = new("--prior-weight") { Description = "iALS DP settings: weight β of the popularity prior learned in the same secure sums (0 = factors only), default 4; knn: weight β of popularity beside the neighbourhood score among the candidates, default 0.5." };

    public Option<double?> PriorShare { get; } = new("--prior-share") { Description = "iALS DP settings: share φ of the squared clip norm given to the popularity prior, in (0, 1), default 0.9; knn: share φ of the second round's squared norm given to the non-candidate items' popularity (the Gram gets 1 − φ), default 0.85." };

    public Option<int?> GramItems { get; } = new("--gram-items") { Description = "knn: M, the candidate items (the M most popular by the first round's DP popularity) the Gram covers, 2–2000. Default 500." };

    public Option<int?> GramRank { get; } = new("--gram-rank") { Description = "knn: 0 scores with the noised Gram itself, R > 0 with its rank-R positive part. Default 0." };

    public Option<int?> PriorWindow { get; } = new("--prior-window") { Description = "iALS DP settings: the prior counts each user's latest W training items (0 = all). Default 0." };

    public Option<bool> Personalize { get; } = new("--personalize") { Description = "Ranking models: each client also learns private item-score offsets (PFedRec-style local head)." };

    public Option<bool> Benchmark { get; } = new("--benchmark") { Description = "Ranking models: also time a ≥ 1 M-parameter two-tower model through secure aggregation." };

    public Option<double?> LocalWeight { get; } = new("--local-weight") { Description = "knn: weight w of each institution's own exact neighbourhood signal (user–user cosine over its own users, computed locally, never sent) beside the DP global score; 0 = the global model alone. Default 2." };

    public Option<double?> LocalExponent { get; } = new("--local-exponent") { Description = "knn: power γ of the user–user cosine in the institution's own signal (0 = its exact popularity). Default 3." };

    public IEnumerable<Option> All => [Model, Dataset, Clients, Rounds, Epsilon, Delta, Dropout, Seed, Json, Shape, Factors, LocalEpochs, Clip, Groups, Sweep, Plot, DpRounds, DpFactors, PriorWeight, PriorShare, PriorWindow, GramItems, GramRank, LocalWeight, LocalExponent, Threshold, Negatives, Protocol, Optimizer, Personalize, Benchmark];

    /// <summary>Flags that only the ranking models read.</summary>
    public IEnumerable<Option> RankingOnly => [Plot, DpRounds, DpFactors, PriorWeight, PriorShare, PriorWindow, GramItems, GramRank, LocalWeight, LocalExponent, Threshold, Negatives, Protocol, Optimizer, Personalize, Benchmark];

    /// <summary>Flags that only <c>--model mf</c> reads.</summary>
    public IEnumerable<Option> MfOnly => [Shape, Groups];

    /// <summary>The name of the first of <paramref name="options"/> given on the command line, or null.</summary>
    public string? FirstExplicit(ParseResult r, IEnumerable<Option> options) =>
        options.FirstOrDefault(o => r.GetResult(o) is OptionResult { Implicit: false })?.Name;

    /// <summary>Parses <c>--epsilon-sweep</c>: positive finite values, comma-separated.</summary>
    public static bool TryParseSweep(string? text, out List<double> values, out string? problem)
    {
        values = [];
        problem = null;
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var e) || !(e > 0) || double.IsInfinity(e))
            {
                problem = $"--epsilon-sweep: '{part}' is not a positive finite number.";
                return false;
            }

            values.Add(e);
        }

        return true;
    }

    private static Option<string> CreateShape()
    {
        var shape = new Option<string>("--shape") { Description = "mf only: silo (a client is an institution with many users) or device (a client is one user).", DefaultValueFactory = _ => "silo" };
        shape.AcceptOnlyFromAmong("silo", "device");
        return shape;
    }

    private static Option<string> CreateChoice(string name, string description, string defaultValue, params string[] allowed)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            var v = r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Empty;
            if (r.Tokens.Count > 0 && !allowed.Contains(v, StringComparer.Ordinal))
            {
                r.AddError($"{name} must be one of {string.Join(", ", allowed)}, got '{v}'.");
            }
        });
        return option;
    }
}
