using System.CommandLine;

namespace SecureFedRec.Cli.Commands;

/// <summary><c>securefedrec bench …</c>: measured figures beside the physical floor measured in the same run.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks that print the project's figure beside the floor measured in the same run (openssl speed), as a ratio.");
        // One line per benchmark family.
        bench.Subcommands.Add(CryptoBenchCommand.Create());
        bench.Subcommands.Add(SecAggBenchCommand.Create());
        bench.Subcommands.Add(NetworkBenchCommand.Create());
        return bench;
    }
}
