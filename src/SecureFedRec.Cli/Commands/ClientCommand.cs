using System.CommandLine;
using Microsoft.Extensions.Logging;
using SecureFedRec.Client;
using SecureFedRec.Wire;

namespace SecureFedRec.Cli.Commands;

/// <summary><c>securefedrec client --config FILE</c>: enrols and takes part in rounds with the institution's local data.</summary>
internal static class ClientCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "JSON file (section \"Client\"), see docs/integrators.md.", Required = true };
        var rounds = new Option<int>("--rounds") { Description = "Rounds to take part in before exiting.", DefaultValueFactory = _ => 1 };
        var command = new Command("client", "Run a client: enrol, check each round against the local privacy policy and ledger, contribute, fetch the model.");
        command.Options.Add(config);
        command.Options.Add(rounds);
        command.SetAction(async (parse, cancellationToken) =>
        {
            int wanted = parse.GetValue(rounds);
            if (wanted < 1)
            {
                Console.Error.WriteLine("error: --rounds must be at least 1.");
                return 1;
            }

            FederationClientOptions options;
            double[] data;
            try
            {
                ClientSettings settings = ClientSettings.Load(parse.GetValue(config)!.FullName);
                options = settings.ToOptions();
                data = settings.LoadData();
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or InvalidDataException or System.Text.Json.JsonException
                                           or System.Security.Cryptography.CryptographicException)
            {
                Console.Error.WriteLine("error: " + ex.Message);
                return 1;
            }

            using ILoggerFactory loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            }));
            using (options.Identity)
            using (options.TrustedCertificate)
            using (var client = new FederationClient(options, loggers.CreateLogger("SecureFedRec.Client")))
            {
                try
                {
                    await client.EnrolAsync(cancellationToken);
                    int completed = 0;
                    for (int r = 0; r < wanted; r++)
                    {
                        ClientRoundResult result = await client.RunRoundAsync(context =>
                        {
                            if (data.Length != context.Model.Values.Length)
                            {
                                throw new FormatException($"The local data has {data.Length} values; the model has {context.Model.Values.Length}.");
                            }

                            return data.Select((v, i) => v - context.Model.Values[i]).ToArray();
                        }, cancellationToken);
                        Console.WriteLine($"round {result.RoundId}: {result.Kind}{(result.Detail is null ? string.Empty : " (" + result.Detail + ")")}; local total ε {result.LocalTotalEpsilon:F4}");
                        completed += result.Kind == RoundOutcomeKind.Completed ? 1 : 0;
                    }

                    ModelSnapshot model = await client.GetModelAsync(cancellationToken: cancellationToken);
                    Console.WriteLine($"model version {model.Version} (round {model.RoundId}, coordinator total ε {model.TotalEpsilon:F4}): [{string.Join(", ", model.Values.Select(v => v.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}]");
                    return completed == wanted ? 0 : 2;
                }
                catch (WireException ex)
                {
                    Console.Error.WriteLine($"error: {ex.StatusCode}: {ex.Detail}");
                    return 1;
                }
                catch (Exception ex) when (ex is FormatException or TimeoutException)
                {
                    Console.Error.WriteLine("error: " + ex.Message);
                    return 1;
                }
            }
        });
        return command;
    }
}
