using System.CommandLine;
using SecureFedRec.Bench;

namespace SecureFedRec.Cli.Commands;

/// <summary><c>securefedrec bench crypto [--json PATH] [--seconds S] [--no-openssl]</c>: the crypto core beside openssl speed.</summary>
internal static class CryptoBenchCommand
{
    public static Command Create()
    {
        var json = new Option<FileInfo?>("--json") { Description = "Also write the figures as JSON to this path." };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per measured figure (and per openssl run).", DefaultValueFactory = _ => 2.0 };
        var noOpenSsl = new Option<bool>("--no-openssl") { Description = "Skip the openssl floor (ratios are then not printed)." };
        var command = new Command("crypto", "Mask PRG, key agreement, ECDSA, Shamir and discrete Gaussian throughput beside openssl speed (one core).");
        command.Options.Add(json);
        command.Options.Add(seconds);
        command.Options.Add(noOpenSsl);
        command.SetAction(parseResult =>
        {
            double s = parseResult.GetValue(seconds);
            if (s is <= 0 or > 60)
            {
                Console.Error.WriteLine("--seconds must be in (0, 60].");
                return 2;
            }

            CryptoBenchReport report = CryptoBenchmark.Run(new CryptoBenchOptions(s, !parseResult.GetValue(noOpenSsl)), line => Console.Error.WriteLine(line));
            Console.Write(CryptoBenchFormat.Table(report));
            FileInfo? path = parseResult.GetValue(json);
            if (path is not null)
            {
                File.WriteAllText(path.FullName, CryptoBenchFormat.Json(report));
                Console.WriteLine($"JSON written to {path.FullName}");
            }

            return 0;
        });
        return command;
    }
}
