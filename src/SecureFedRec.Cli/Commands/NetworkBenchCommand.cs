using System.CommandLine;
using SecureFedRec.Bench;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec bench network</c>: one real round over TLS on loopback (a child coordinator process, SDK clients in
/// this process), beside the in-process round of the same parameters.
/// </summary>
internal static class NetworkBenchCommand
{
    public static Command Create()
    {
        var clients = new Option<int>("--clients") { Description = "Number of clients n (the cohort).", DefaultValueFactory = _ => 10 };
        var dim = new Option<int>("--dim") { Description = "Model dimension d.", DefaultValueFactory = _ => 100_000 };
        var dropout = new Option<double>("--dropout") { Description = "Fraction of clients that go silent after ShareKeys (MaskedInput then waits for its deadline).", DefaultValueFactory = _ => 0.0 };
        var phaseSeconds = new Option<double?>("--phase-seconds") { Description = "One phase deadline in seconds for every phase (default: the coordinator's own rule, Rounds:PhaseSeconds + n × Rounds:PhaseSecondsPerClient)." };
        var maxMessage = new Option<int>("--max-message-bytes") { Description = "gRPC message cap of the coordinator and the clients (default 4 MiB; d = 10^6 needs more).", DefaultValueFactory = _ => 4 * 1024 * 1024 };
        var threads = new Option<int>("--threads") { Description = "In-process round: clients computing at once (0: all cores).", DefaultValueFactory = _ => 0 };
        var honest = new Option<bool>("--honest-but-curious") { Description = "Run the honest-but-curious round over an allow-list (default: malicious mode with a signed roster, as every deployment)." };
        var skipInProcess = new Option<bool>("--skip-in-process") { Description = "Run the networked round only (no in-process round, no ratio): for memory measurements." };
        var json = new Option<string?>("--json") { Description = "Also write the report as JSON to this path." };

        var command = new Command("network", "Run one secure-aggregation round over TLS on loopback (coordinator process + SDK clients): per-phase wall time, wire bytes per client, coordinator CPU and peak RSS, and the ratio to the in-process round.");
        foreach (Option option in new Option[] { clients, dim, dropout, phaseSeconds, maxMessage, threads, honest, skipInProcess, json })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var settings = new NetworkBenchSettings(parseResult.GetValue(clients), parseResult.GetValue(dim), parseResult.GetValue(dropout),
                parseResult.GetValue(phaseSeconds), parseResult.GetValue(maxMessage), parseResult.GetValue(threads), Malicious: !parseResult.GetValue(honest),
                InProcess: !parseResult.GetValue(skipInProcess));
            try
            {
                var report = await NetworkBenchmark.RunAsync(settings, Console.WriteLine, cancellationToken);
                if (parseResult.GetValue(json) is { } path)
                {
                    NetworkBenchmark.WriteJson(report, path);
                    Console.WriteLine($"JSON report: {path}");
                }

                return report["completed"]!.GetValue<bool>() ? 0 : 1;
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
