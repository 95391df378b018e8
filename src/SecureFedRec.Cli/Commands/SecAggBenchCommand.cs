using System.CommandLine;
using SecureFedRec.Bench;
using SecureFedRec.Protocol.Graph;

namespace SecureFedRec.Cli.Commands;

/// <summary><c>securefedrec bench secagg</c>: one whole secure-aggregation round in process, beside the openssl floor.</summary>
internal static class SecAggBenchCommand
{
    public static Command Create()
    {
        var clients = new Option<int>("--clients") { Description = "Number of clients n.", DefaultValueFactory = _ => 100 };
        var dim = new Option<int>("--dim") { Description = "Vector length d.", DefaultValueFactory = _ => 10_000 };
        var bits = new Option<int>("--bits") { Description = "Bits b of the modulus 2^b.", DefaultValueFactory = _ => 32 };
        var dropout = new Option<double>("--dropout") { Description = "Fraction of clients lost after ShareKeys.", DefaultValueFactory = _ => 0.1 };
        var graph = new Option<string>("--graph") { Description = "full | harary.", DefaultValueFactory = _ => "full" };
        var neighbors = new Option<int?>("--neighbors") { Description = "Harary degree k (default: parameter finder)." };
        var threshold = new Option<int?>("--threshold") { Description = "Shamir threshold t (default: parameter finder / n - dropped - 1)." };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0: all cores).", DefaultValueFactory = _ => 0 };
        var malicious = new Option<bool>("--malicious") { Description = "Malicious-coordinator mode (signatures, consistency check)." };
        var seed = new Option<ulong>("--seed")
        {
            Description = "Seed of the round's deterministic randomness (dropouts, keys, relabelling): another seed draws another graph and dropout set.",
            DefaultValueFactory = _ => SecAggBenchSettings.DefaultSeed,
        };
        var repeat = new Option<int>("--repeat")
        {
            Description = "Measured rounds (same seed): the first gives the per-phase figures, all give the median/min/max wall and CPU time.",
            DefaultValueFactory = _ => 1,
        };
        var json = new Option<string?>("--json") { Description = "Also write the report as JSON to this path." };

        var command = new Command("secagg", "Run one whole SecAgg round in process: per-phase client and coordinator time, bytes, peak memory, and the openssl floor.");
        foreach (Option option in new Option[] { clients, dim, bits, dropout, graph, neighbors, threshold, threads, malicious, seed, repeat, json })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult =>
        {
            string g = parseResult.GetValue(graph) ?? "full";
            GraphKind kind;
            switch (g.ToUpperInvariant())
            {
                case "FULL": kind = GraphKind.Full; break;
                case "HARARY": kind = GraphKind.Harary; break;
                default:
                    Console.Error.WriteLine($"--graph must be full or harary, got '{g}'.");
                    return 2;
            }

            var settings = new SecAggBenchSettings(parseResult.GetValue(clients), parseResult.GetValue(dim), parseResult.GetValue(bits),
                parseResult.GetValue(dropout), kind, parseResult.GetValue(neighbors), parseResult.GetValue(threshold),
                parseResult.GetValue(threads), parseResult.GetValue(malicious), parseResult.GetValue(seed), parseResult.GetValue(repeat));
            try
            {
                var report = SecAggBenchmark.Run(settings, Console.WriteLine);
                if (parseResult.GetValue(json) is { } path)
                {
                    SecAggBenchmark.WriteJson(report, path);
                    Console.WriteLine($"JSON report: {path}");
                }

                return report["completed"]!.GetValue<bool>() && report["sumVerified"]!.GetValue<bool>() ? 0 : 1;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"Invalid settings: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
