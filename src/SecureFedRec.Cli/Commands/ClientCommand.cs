using System.CommandLine;
using Microsoft.Extensions.Logging;
using SecureFedRec.Client;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;
using Grpc.Core;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Cli.Commands;

/// <summary><c>securefedrec client --config FILE</c>: enrols and takes part in rounds with the institution's local data.</summary>
internal static class ClientCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "JSON file (section \"Client\"), see docs/integrators.md.", Required = true };
        var rounds = new Option<int>("--rounds") { Description = "Rounds to take part in before exiting.", DefaultValueFactory = _ => 1 };
        var recommend = new Option<int?>("--recommend") { Description = "Recommender mode: print the top-5 unseen items for this local user id at the end (default: the first user)." };
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

            FederationClientOptions options;
            double[] data = [];
            LocalRecommender? recommender = null;
            IReadOnlyList<Rating> heldOut = [];
            Microsoft.Extensions.Configuration.IConfiguration configuration;
            try
            {
                string path = parse.GetValue(config)!.FullName;
                configuration = new Configuration.SettingsSources { JsonFile = path }.Build();
                ClientSettings settings = ClientSettings.Load(configuration, Path.GetDirectoryName(path));
                options = settings.ToOptions();
                if (settings.Recommender is { Ratings: { Length: > 0 } ratingsPath } rs)
                {
                    (IReadOnlyList<Rating> train, heldOut) = LocalRecommender.HoldOut(LocalRecommender.LoadRatings(ratingsPath, rs.Items), rs.HoldOutFraction);
                    var hp = new MfHyperparameters { Factors = rs.Factors, LearningRate = rs.LearningRate, Regularization = rs.Regularization };
                    recommender = new LocalRecommender(train, rs.Items, hp, rs.LocalEpochs, rs.Seed);
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
                    double initialRmse = double.NaN;
                    if (recommender is not null)
                    {
                        ModelSnapshot initial = await client.GetModelAsync(cancellationToken: cancellationToken);
                        if (initial.Values.Length != recommender.Dimension)
                        {
                            throw new FormatException($"The coordinator's model has {initial.Values.Length} values; {recommender.Items} items × {recommender.Factors} factors need {recommender.Dimension}.");
                        }

                        initialRmse = recommender.Rmse(heldOut, initial.Values);
                        Console.WriteLine($"recommender: {recommender.RatingCount} training ratings, {heldOut.Count} held out; model version {initial.Version} held-out RMSE {initialRmse.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)}");
                    }

                    for (int r = 0; r < wanted; r++)
                    {
                        ClientRoundResult result = await client.RunRoundAsync(context =>
                        {
                            if (recommender is not null)
                            {
                                return recommender.ComputeUpdate(context.Model.Values);
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
                        var inv = System.Globalization.CultureInfo.InvariantCulture;
                        double finalRmse = recommender.Rmse(heldOut, model.Values);
                        Console.WriteLine($"model version {model.Version} (round {model.RoundId}, coordinator total ε {model.TotalEpsilon:F4})");
                        Console.WriteLine($"recommender: held-out RMSE initial {initialRmse.ToString("F4", inv)} final {finalRmse.ToString("F4", inv)}");
                        int user = parse.GetValue(recommend) ?? heldOut.Select(r => r.User).DefaultIfEmpty(-1).Min();
                        if (user >= 0)
                        {
                            var top = recommender.Recommend(user, 5, model.Values);
                            Console.WriteLine($"recommender: top-5 for user {user}: {string.Join(", ", top.Select(t => t.Item.ToString(inv) + " (" + t.Score.ToString("F2", inv) + ")"))}");
                        }

                        return ExitCodes.ForRounds(wanted, completed, declined);
                    }

                    Console.WriteLine($"model version {model.Version} (round {model.RoundId}, coordinator total ε {model.TotalEpsilon:F4}): [{string.Join(", ", model.Values.Select(v => v.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}]");
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
}
