using System.CommandLine;
using SecureFedRec.Cli.Commands;

namespace SecureFedRec.Cli;

/// <summary>Entry point of the <c>securefedrec</c> command.</summary>
/// <remarks>
/// Every command ends with a code from <see cref="ExitCodes"/>: parse errors (unknown flag, a value of the wrong type)
/// are <see cref="ExitCodes.Usage"/>, and any failure a command does not handle itself is mapped by
/// <see cref="CliErrors"/> to one line and its code, never a stack trace.
/// </remarks>
public static class Program
{
    /// <summary>Runs the command line <paramref name="args"/> and returns its exit code (also the in-process entry point of the tests).</summary>
    public static int Main(string[] args)
    {
        RootCommand root = CreateRoot();
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError error in parse.Errors)
            {
                Console.Error.WriteLine("error: " + error.Message);
            }

            Console.Error.WriteLine($"(usage: {UsageHint(parse)})");
            return ExitCodes.Usage;
        }

        if (OutputFolderProblem(parse) is { } problem)
        {
            Console.Error.WriteLine("error: " + problem);
            return ExitCodes.Usage;
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return CliErrors.Report(ex);
        }
    }

    /// <summary>The command tree (tests walk it to feed every flag a wrong value).</summary>
    public static RootCommand CreateRoot()
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
        root.Subcommands.Add(ConfigCommand.Create());
        root.Subcommands.Add(RosterCommand.Create());
        root.Subcommands.Add(LedgerCommand.Create());
        foreach (Command operatorCommand in OperatorCommands.Create())
        {
            root.Subcommands.Add(operatorCommand); // status, rounds, round, models, dashboard: a running coordinator's operator API
        }
        return root;
    }

    /// <summary>
    /// Output files (<c>--json FILE</c>, <c>--out FILE</c>) are written at the end of a command, possibly after minutes of
    /// work: their folder is checked before anything runs.
    /// </summary>
    private static string? OutputFolderProblem(ParseResult parse)
    {
        foreach (System.CommandLine.Parsing.SymbolResult child in parse.CommandResult.Children)
        {
            if (child is not System.CommandLine.Parsing.OptionResult { Option.Name: "--json" or "--out" } option || option.Implicit)
            {
                continue;
            }

            string? file = option.GetValueOrDefault<object?>() switch
            {
                FileInfo f => f.FullName,
                string s when s.Length > 0 => Path.GetFullPath(s),
                _ => null,
            };
            string? folder = file is null ? null : Path.GetDirectoryName(file);
            if (folder is not null && !Directory.Exists(folder))
            {
                return $"{option.Option.Name}: the folder {folder} does not exist.";
            }
        }

        return null;
    }

    private static string UsageHint(ParseResult parse)
    {
        var names = new List<string>();
        for (System.CommandLine.Parsing.SymbolResult? s = parse.CommandResult; s is not null; s = s.Parent)
        {
            if (s is System.CommandLine.Parsing.CommandResult c && c.Command is not RootCommand)
            {
                names.Insert(0, c.Command.Name);
            }
        }

        return "securefedrec " + string.Join(' ', names) + (names.Count > 0 ? " " : string.Empty) + "--help";
    }
}
