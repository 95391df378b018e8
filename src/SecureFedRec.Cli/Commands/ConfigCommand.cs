using System.CommandLine;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec config check --coordinator FILE | --client FILE</c>: reads a configuration strictly (file, environment)
/// and reports every problem without starting anything; <c>config docs [--out FILE]</c>: writes the reference
/// (docs/configuration.md) generated from the settings types.
/// </summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var coordinator = new Option<FileInfo?>("--coordinator") { Description = "A coordinator configuration file (section \"Coordinator\")." };
        var client = new Option<FileInfo?>("--client") { Description = "A client configuration file (section \"Client\")." };
        var check = new Command("check", "Check a configuration file and the SECUREFEDREC_* environment strictly; exit 0 when usable, 2 with every problem otherwise.");
        check.Options.Add(coordinator);
        check.Options.Add(client);
        check.Validators.Add(result =>
        {
            if ((result.GetResult(coordinator) is null) == (result.GetResult(client) is null))
            {
                result.AddError("Give exactly one of --coordinator FILE or --client FILE.");
            }
        });
        check.SetAction(parse =>
        {
            if (parse.GetValue(coordinator) is { } c)
            {
                CoordinatorOptions options = CoordinatorConfiguration.Load(c.FullName);
                Console.WriteLine($"ok: {c.FullName}: coordinator on {options.ListenAddress}:{options.Port}, {(options.InsecureDev ? "no TLS (insecure-dev)" : "TLS")}, store {options.StoreProvider}, cohort {options.Rounds.CohortSize}");
            }
            else
            {
                FileInfo file = parse.GetValue(client)!;
                ClientSettings settings = ClientSettings.Load(file.FullName);
                Console.WriteLine($"ok: {file.FullName}: client of {settings.Coordinator}, policy ε ≤ {settings.Policy.MaxTotalEpsilon.ToString(System.Globalization.CultureInfo.InvariantCulture)} at δ = {settings.Policy.Delta.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            }

            return ExitCodes.Ok;
        });

        var output = new Option<FileInfo?>("--out") { Description = "File to write (default: standard output)." };
        var docs = new Command("docs", "Write the configuration reference (docs/configuration.md) generated from the settings types.");
        docs.Options.Add(output);
        docs.SetAction(parse =>
        {
            string text = ConfigurationDocument.Generate();
            if (parse.GetValue(output) is { } file)
            {
                File.WriteAllText(file.FullName, text);
                Console.WriteLine("wrote " + file.FullName);
            }
            else
            {
                Console.Write(text);
            }

            return ExitCodes.Ok;
        });

        var command = new Command("config", "Check configuration files; generate the configuration reference.");
        command.Subcommands.Add(check);
        command.Subcommands.Add(docs);
        return command;
    }
}
