using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using SecureFedRec.Client;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;
using SecureFedRec.Recommender.Ranking;
using Grpc.Core;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec client --config FILE</c>: enrols and takes part in rounds with the institution's local data — a
/// vector, or in recommender mode the local ratings or events, from which each round's update of the coordinator's
/// model (MF or a ranking model) is computed.
/// </summary>
internal static class ClientCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "JSON file (section \"Client\"), see docs/integrators.md.", Required = true };
        var rounds = new Option<int>("--rounds") { Description = "Rounds to take part in before exiting.", DefaultValueFactory = _ => 1 };
        var recommend = new Option<int?>("--recommend") { Description = "Recommender mode: at the end, print the top-N unseen items of every local user from the latest model (default: the top-N of the first user only; N from 1 to 1000)." };
        var command = new Command("client", "Run a client: enrol, check each round against the local privacy policy and ledger, contribute, fetch the model.");
        command.Options.Add(config);
        command.Options.Add(rounds);
        command.Options.Add(recommend);
        command.SetAction(async (parse, cancellationToken) =>
        {
            int wanted = parse.GetValue(rounds);
            if (wanted < 1)
            {
                Console.Error.WriteLine("error: --rounds must be at least 1.");
                return ExitCodes.Usage;
            }

            int? listLength = parse.GetValue(recommend);
            if (listLength is < 1 or > 1000)
            {
                Console.Error.WriteLine("error: --recommend must be a list length from 1 to 1000.");
                return ExitCodes.Usage;
            }

            FederationClientOptions options;
            double[] data = [];
            LocalRecommender? recommender = null;
            NetworkRankingRecommender? ranker = null;
            IReadOnlyList<Rating> heldOut = [];
            IReadOnlyList<(int User, int Item)> heldOutItems = [];
            IReadOnlyList<InteractionEvent> trainEvents = [];
            int topN = 10;
            Microsoft.Extensions.Configuration.IConfiguration configuration;
            try
            {
                string path = parse.GetValue(config)!.FullName;
                configuration = new Configuration.SettingsSources { JsonFile = path }.Build();
                ClientSettings settings = ClientSettings.Load(configuration, Path.GetDirectoryName(path));
                options = settings.ToOptions();
                if (settings.Recommender is { IsConfigured: true } rs)
                {
                    topN = rs.TopN;
                    if (rs.Model == "mf")
                    {
                        (IReadOnlyList<Rating> train, heldOut) = LocalRecommender.HoldOut(LocalRecommender.LoadRatings(rs.Ratings!, rs.Items), rs.HoldOutFraction);
                        var hp = new MfHyperparameters { Factors = rs.Factors, LearningRate = rs.LearningRate, Regularization = rs.Regularization };
                        recommender = new LocalRecommender(train, rs.Items, hp, rs.LocalEpochs, rs.Seed);
                    }
                    else
                    {
                        ranker = CreateRanker(rs, out trainEvents, out heldOutItems);
                    }
                }
                else
                {
                    data = settings.LoadData();
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or InvalidDataException or System.Text.Json.JsonException
                                           or System.Security.Cryptography.CryptographicException or DatasetFormatException)
            {
                return ex is IOException or DatasetFormatException or System.Text.Json.JsonException ? CliErrors.ReportAs(ex, ExitCodes.Usage) : CliErrors.Report(ex);
            }

            using ILoggerFactory loggers = LoggerFactory.Create(b => ConsoleLogging.Configure(b, configuration));
            using (options.Identity)
            using (options.TrustedCertificate)
            using (var client = new FederationClient(options, loggers.CreateLogger("SecureFedRec.Client")))
            {
                try
                {
                    await client.EnrolAsync(cancellationToken);
                    int completed = 0, declined = 0;
                    double initialScore = double.NaN;
                    if (recommender is not null || ranker is not null)
                    {
                        ModelSnapshot initial = await client.GetModelAsync(cancellationToken: cancellationToken);
                        if (Mismatch(initial.Values, recommender, ranker) is { } mismatch)
                        {
                            // Refused before any round: no key made, nothing contributed, nothing charged.
                            Console.Error.WriteLine("error: model mismatch: " + mismatch + " Nothing was contributed.");
                            return ExitCodes.ModelMismatch;
                        }

                        if (recommender is not null)
                        {
                            initialScore = recommender.Rmse(heldOut, initial.Values);
                            Console.WriteLine($"recommender: {recommender.RatingCount} training ratings, {heldOut.Count} held out; model version {initial.Version} held-out RMSE {initialScore.ToString("F4", Inv)}");
                        }
                        else
                        {
                            initialScore = ranker!.HitRate(heldOutItems, initial.Values);
                            Console.WriteLine($"recommender: {ranker.Spec} — {trainEvents.Count} training events of {ranker.Users.Count} users, {heldOutItems.Count} held out (each user's latest item); model version {initial.Version} held-out HR@10 {initialScore.ToString("F4", Inv)}");
                        }
                    }

                    for (int r = 0; r < wanted; r++)
                    {
                        ClientRoundResult result = await client.RunRoundAsync(context =>
                        {
                            if (recommender is not null)
                            {
                                return recommender.ComputeUpdate(context.Model.Values);
                            }

                            if (ranker is not null)
                            {
                                if (context.Mechanism.Dimension != ranker.Spec.UpdateDimension)
                                {
                                    throw new FormatException($"round {context.RoundId} sums {context.Mechanism.Dimension} values; {ranker.Spec} updates have {ranker.Spec.UpdateDimension} (the coordinator's Rounds:Dimension does not fit its model).");
                                }

                                return ranker.ComputeUpdate(context.Model.Values);
                            }

                            if (data.Length != context.Model.Values.Length)
                            {
                                throw new FormatException($"The local data has {data.Length} values; the model has {context.Model.Values.Length}.");
                            }

                            return data.Select((v, i) => v - context.Model.Values[i]).ToArray();
                        }, cancellationToken);
                        Console.WriteLine($"round {result.RoundId}: {result.Kind}{(result.Detail is null ? string.Empty : " (" + result.Detail + ")")}; local total ε {result.LocalTotalEpsilon:F4}");
                        completed += result.Kind == RoundOutcomeKind.Completed ? 1 : 0;
                        declined += result.Kind == RoundOutcomeKind.Declined ? 1 : 0;
                    }

                    ModelSnapshot model = await client.GetModelAsync(cancellationToken: cancellationToken);
                    if (recommender is not null)
                    {
                        double finalRmse = recommender.Rmse(heldOut, model.Values);
                        Console.WriteLine($"model version {model.Version} (round {model.RoundId}, coordinator total ε {model.TotalEpsilon:F4})");
                        Console.WriteLine($"recommender: held-out RMSE initial {initialScore.ToString("F4", Inv)} final {finalRmse.ToString("F4", Inv)}");
                        int[] users = listLength is null ? [.. heldOut.Select(r => r.User).Distinct().Order().Take(1)] : [.. heldOut.Select(r => r.User).Distinct().Order()];
                        foreach (int user in users)
                        {
                            PrintList(user, listLength ?? 5, recommender.Recommend(user, listLength ?? 5, model.Values));
                        }

                        return ExitCodes.ForRounds(wanted, completed, declined);
                    }

                    if (ranker is not null)
                    {
                        double final = ranker.HitRate(heldOutItems, model.Values);
                        Console.WriteLine($"model version {model.Version} (round {model.RoundId}, coordinator total ε {model.TotalEpsilon:F4})");
                        Console.WriteLine($"recommender: held-out HR@10 initial {initialScore.ToString("F4", Inv)} final {final.ToString("F4", Inv)} "
                            + $"(local popularity {LocalPopularityHitRate(trainEvents, heldOutItems, ranker.Spec.Items).ToString("F4", Inv)}, random {RandomHitRate(trainEvents, heldOutItems, ranker.Spec.Items).ToString("F4", Inv)}; {heldOutItems.Count} users, full ranking)");
                        IReadOnlyList<int> users = listLength is null ? [.. ranker.Users.Take(1)] : ranker.Users;
                        int n = listLength ?? topN;
                        var lists = ranker.Recommend(users, model.Values, n);
                        for (int j = 0; j < users.Count; j++)
                        {
                            PrintList(users[j], n, lists[j]);
                        }

                        return ExitCodes.ForRounds(wanted, completed, declined);
                    }

                    Console.WriteLine($"model version {model.Version} (round {model.RoundId}, coordinator total ε {model.TotalEpsilon:F4}): [{string.Join(", ", model.Values.Select(v => v.ToString("F4", Inv)))}]");
                    return ExitCodes.ForRounds(wanted, completed, declined);
                }
                catch (RpcException ex)
                {
                    return CliErrors.Report(ex);
                }
                catch (CoordinatorTlsException ex)
                {
                    return CliErrors.Report(ex);
                }
                catch (Exception ex) when (ex is FormatException or TimeoutException or ArgumentException or Roster.RosterRefusedException or InvalidDataException)
                {
                    return CliErrors.Report(ex);
                }
            }
        });
        return command;
    }

    private static NetworkRankingRecommender CreateRanker(RecommenderSettings rs, out IReadOnlyList<InteractionEvent> train, out IReadOnlyList<(int User, int Item)> heldOut)
    {
        RankingModelKind kind = rs.Model switch
        {
            "bpr" => RankingModelKind.Bpr,
            "ials" => RankingModelKind.Ials,
            "neural" => RankingModelKind.Neural,
            _ => RankingModelKind.Knn,
        };
        RankingModelSpec spec;
        try
        {
            spec = RankingModelSpec.Create(kind, rs.Items, kind == RankingModelKind.Knn ? rs.Candidates : rs.Factors, kind == RankingModelKind.Neural ? rs.Hidden : 0);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException("Client:Recommender: " + ex.Message, ex);
        }

        bool events = !string.IsNullOrEmpty(rs.Events);
        (train, heldOut) = NetworkRankingRecommender.HoldOutLatest(NetworkRankingRecommender.LoadEvents(events ? rs.Events! : rs.Ratings!, rs.Items, rs.Threshold, events));
        var hp = new RankingHyperparameters { LearningRate = rs.LearningRate, Regularization = rs.Regularization, Alpha = rs.Alpha, Lambda = rs.Lambda };
        return new NetworkRankingRecommender(spec, train, hp, rs.LocalEpochs, rs.Seed, rs.LocalWeight);
    }

    /// <summary>Why the coordinator's model is not the one this client is configured for, or null.</summary>
    private static string? Mismatch(double[] model, LocalRecommender? mf, NetworkRankingRecommender? ranker)
    {
        string theirs;
        RankingModelSpec? found;
        try
        {
            found = RankingModelSpec.FromModel(model);
            theirs = found is null ? $"a model of {model.Length} values without a ranking header (mf or zeros)" : found.ToString();
        }
        catch (FormatException ex)
        {
            return "the coordinator's model header is not readable: " + ex.Message;
        }

        if (ranker is not null)
        {
            return ranker.Spec.IsSameModel(found) ? null
                : $"the coordinator trains {theirs}; Client:Recommender describes {ranker.Spec} (Model, Items, Factors, Hidden, Candidates).";
        }

        ArgumentNullException.ThrowIfNull(mf);
        return found is null && model.Length == mf.Dimension ? null
            : $"the coordinator trains {theirs}; Client:Recommender describes mf:{mf.Items}:{mf.Factors} ({mf.Dimension} values: items·(factors + 1) + 1).";
    }

    private static void PrintList(int user, int n, IReadOnlyList<(int Item, double Score)> top) =>
        Console.WriteLine($"recommender: top-{n} for user {user}: {string.Join(", ", top.Select(t => t.Item.ToString(Inv) + " (" + t.Score.ToString("F2", Inv) + ")"))}");

    /// <summary>HR@10 of ranking the unseen items by this client's own training popularity (the baseline a learnt model must beat).</summary>
    private static double LocalPopularityHitRate(IReadOnlyList<InteractionEvent> train, IReadOnlyList<(int User, int Item)> heldOut, int items)
    {
        var count = new double[items];
        foreach (var pair in train.Select(e => (e.User, e.Item)).Distinct())
        {
            count[pair.Item]++;
        }

        var seen = train.GroupBy(e => e.User).ToDictionary(g => g.Key, g => g.Select(e => e.Item).ToHashSet());
        int hits = heldOut.Count(h => Enumerable.Range(0, items).Where(i => !seen[h.User].Contains(i))
            .OrderByDescending(i => count[i]).ThenBy(i => i).Take(10).Contains(h.Item));
        return heldOut.Count == 0 ? double.NaN : (double)hits / heldOut.Count;
    }

    /// <summary>Expected HR@10 of a random ranking of each user's unseen items.</summary>
    private static double RandomHitRate(IReadOnlyList<InteractionEvent> train, IReadOnlyList<(int User, int Item)> heldOut, int items)
    {
        var seen = train.GroupBy(e => e.User).ToDictionary(g => g.Key, g => g.Select(e => e.Item).Distinct().Count());
        return heldOut.Count == 0 ? double.NaN : heldOut.Average(h => Math.Min(1.0, 10.0 / (items - seen[h.User])));
    }
}
