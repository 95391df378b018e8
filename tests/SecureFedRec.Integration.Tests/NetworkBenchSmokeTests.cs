using System.Text.Json.Nodes;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// <c>securefedrec bench network</c> runs end to end at a tiny size (n = 3, d = 16): a child coordinator process, SDK
/// clients over TLS on loopback, the in-process round beside it. Only that it runs and prints its lines; the figures
/// belong to bench/results, not to the test suite.
/// </summary>
public sealed class NetworkBenchSmokeTests
{
    [Theory]
    [InlineData(false, "Malicious", new[] { "AdvertiseKeys", "ShareKeys", "MaskedInput", "ConsistencyCheck", "Unmasking" })]
    [InlineData(true, "HonestButCurious", new[] { "AdvertiseKeys", "ShareKeys", "MaskedInput", "Unmasking" })]
    public async Task Bench_network_completes_a_tiny_round_and_prints_every_figure(bool honestButCurious, string mode, string[] phases)
    {
        string json = Path.Combine(Path.GetTempPath(), "sfr-netbench-smoke-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            string[] args = ["bench", "network", "--clients", "3", "--dim", "16", "--phase-seconds", "20", "--json", json];
            using CliProcess bench = CliProcess.Start(honestButCurious ? [.. args, "--honest-but-curious"] : args);
            int code = await bench.WaitAsync(TimeSpan.FromMinutes(2));
            string output = bench.Output;
            Assert.True(code == 0, output);
            Assert.Contains("in-process round: ", output, StringComparison.Ordinal);
            Assert.Contains("networked round: 3 of 3 clients completed", output, StringComparison.Ordinal);
            Assert.Contains("mode=" + mode, output, StringComparison.Ordinal);
            foreach (string phase in phases)
            {
                Assert.Matches($@"phase {phase} +[0-9.]+ s +\(3 of 3 answered\)", output);
            }

            Assert.Matches(@"wire bytes per client \(TLS, 3 active connections\): sent mean [1-9][0-9]* B", output);
            Assert.Matches(@"coordinator process: CPU [0-9.]+ s over the round \(utime\+stime\), peak RSS [1-9][0-9.]* MiB", output);
            Assert.Matches(@"ratio networked/in-process round: [0-9.]+x", output);

            JsonObject report = JsonNode.Parse(File.ReadAllText(json))!.AsObject();
            Assert.Equal("network", report["benchmark"]!.GetValue<string>());
            Assert.True(report["completed"]!.GetValue<bool>());
            JsonObject network = report["network"]!.AsObject();
            Assert.Equal(2UL, network["modelVersion"]!.GetValue<ulong>());
            Assert.Equal(phases, network["phases"]!.AsArray().Select(p => p!["phase"]!.GetValue<string>()));
            Assert.Equal(mode, report["mode"]!.GetValue<string>());
            Assert.Equal("Full", network["graph"]!.GetValue<string>());
            Assert.Equal(2, network["degree"]!.GetValue<int>());
            Assert.True(network["clientsCpuSeconds"]!.GetValue<double>() > 0);
            Assert.True(network["meanBytesSentPerClient"]!.GetValue<double>() > 16 * 4, "a masked input of 16 words crossed the wire");
            Assert.True(network["coordinatorPeakRssMiB"]!.GetValue<double>() > 1);
            Assert.True(report["ratioNetworkToInProcess"]!.GetValue<double>() > 0);

            // The same-run machine floor (openssl is installed by the prerequisites; without it the row says why).
            JsonObject floor = report["floor"]!.AsObject();
            Assert.False(string.IsNullOrEmpty(floor["openssl"]!.GetValue<string>()));
            if (floor["aes256CtrGBps"] is { } aes)
            {
                Assert.True(aes.GetValue<double>() > 0);
                Assert.Matches(@"machine floor in this run \(one core\): .* [0-9.]+ GB/s", output);
            }
            else
            {
                Assert.Contains("machine floor in this run: ", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(json);
        }
    }
}
