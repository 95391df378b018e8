using System.CommandLine;
using SecureFedRec.Cli.Commands;

namespace SecureFedRec.Cli;

/// <summary>Entry point of the <c>securefedrec</c> command.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("SecureFedRec: secure aggregation with distributed differential privacy for federated recommendation.");
        // One line per command family; each family lives in its own file under Commands/.
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(VectorsCommand.Create());
        root.Subcommands.Add(PrivacyCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(KeygenCommand.Create());
        root.Subcommands.Add(CoordinatorCommand.Create());
        root.Subcommands.Add(ClientCommand.Create());
        root.Subcommands.Add(RosterCommand.Create());
        root.Subcommands.Add(LedgerCommand.Create());
        return root.Parse(args).Invoke();
    }
}
