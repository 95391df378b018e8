using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Graph;
using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;

namespace SecureFedRec.Bench;

/// <summary>Settings of <c>securefedrec bench secagg</c>.</summary>
/// <param name="Clients">n.</param>
/// <param name="Dimension">d.</param>
/// <param name="Bits">b.</param>
/// <param name="Dropout">Fraction of clients lost after ShareKeys (the coordinator must regenerate their pair masks).</param>
/// <param name="Graph">full or harary.</param>
/// <param name="Neighbors">Harary degree k (null: from the parameter finder at γ = 0.05, δ = max(dropout, 0.05) + 0.05).</param>
/// <param name="Threshold">t (null: from the parameter finder).</param>
/// <param name="Threads">Worker threads (0: all cores).</param>
/// <param name="Malicious">Malicious-coordinator mode.</param>
public sealed record SecAggBenchSettings(int Clients, int Dimension, int Bits, double Dropout, GraphKind Graph, int? Neighbors,
    int? Threshold, int Threads, bool Malicious = false);

/// <summary>
/// Runs one whole SecAgg round in process and reports per-client and coordinator time per phase, bytes per client,
/// coordinator peak memory, and the cost floor measured with <c>openssl speed</c> in the same run, with ratios.
/// </summary>
/// <remarks>
/// Floors (reference-numbers.md §"Cost floor"): a client ≈ 2k key agreements + (k+1)·d·4 bytes of AES-256-CTR keystream;
/// the coordinator ≈ (dropped × surviving neighbours + survivors) × d·4 bytes of keystream / cores (the survivors' term is
/// the self masks, which the reference formula leaves out). All clients run in this one process: with P threads, client
/// work is spread over P cores, and per-client time is the mean per client.
/// </remarks>
public static class SecAggBenchmark
{
    /// <summary>Runs the benchmark; returns the JSON report (also printed as text through <paramref name="output"/>).</summary>
    public static JsonObject Run(SecAggBenchSettings settings, Action<string> output)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        int n = settings.Clients;
        int k, t;
        string paramSource;
        if (settings.Graph == GraphKind.Full)
        {
            k = n - 1;
            t = settings.Threshold ?? Math.Max(2, n - (int)Math.Floor(Math.Max(settings.Dropout, 0.05) * n) - 1);
            paramSource = settings.Threshold is null ? "t = n - ⌊max(dropout, 0.05)·n⌋ - 1" : "given";
        }
        else if (settings.Neighbors is { } givenK && settings.Threshold is { } givenT)
        {
            (k, t, paramSource) = (givenK, givenT, "given");
        }
        else
        {
            double delta = Math.Min(0.5, Math.Max(settings.Dropout, 0.05) + 0.05);
            GraphParameters found = GraphParameterFinder.Find(n, 0.05, delta,
                settings.Malicious ? ThreatModel.SemiMalicious : ThreatModel.HonestButCurious);
            k = settings.Neighbors ?? found.Degree;
            t = settings.Threshold ?? found.Threshold;
            paramSource = $"GraphParameterFinder(n={n}, γ=0.05, δ={delta.ToString("0.00", CultureInfo.InvariantCulture)}) → {found}";
        }

        var config = new SecAggConfig(n, t, settings.Dimension, settings.Bits,
            settings.Malicious ? Protocol.Wire.ThreatMode.Malicious : Protocol.Wire.ThreatMode.HonestButCurious,
            settings.Graph, k, Threads: settings.Threads);
        int cores = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        output($"secagg: n={n} d={settings.Dimension} b={settings.Bits} graph={settings.Graph} k={k} t={t} dropout={settings.Dropout} threads={cores} mode={config.Mode}");
        output($"parameters: {paramSource}");

        CryptoOpenSslFloor floor = CryptoOpenSslFloor.Measure(2, output);

        // Warm-up: one small round through the same code paths, so JIT tiering and first-use costs (openssl self-test,
        // type loading) are not charged to the measured round. Its figures are discarded.
        {
            int nw = Math.Min(n, 30);
            var warmConfig = settings.Graph == GraphKind.Full || nw <= 8
                ? new SecAggConfig(nw, Math.Max(2, nw - 3), Math.Min(settings.Dimension, 4096), settings.Bits, config.Mode, GraphKind.Full, nw - 1, Threads: settings.Threads)
                : new SecAggConfig(nw, 4, Math.Min(settings.Dimension, 4096), settings.Bits, config.Mode, GraphKind.Harary, 6, Threads: settings.Threads);
            using var warmRng = DeterministicRandomSource.FromTestSeed(7);
            _ = InProcessRound.Run(warmConfig, new LazyInputs(nw, warmConfig.Dimension, settings.Bits),
                new RoundOptions { Dropouts = DropoutPlan.Random(nw, Math.Min(settings.Dropout, 0.1), DropPoint.AfterShareKeys, warmRng), Random = warmRng });
            output("warm-up round done (discarded)");
        }

        using var rng = DeterministicRandomSource.FromTestSeed(4242);
        var plan = DropoutPlan.Random(n, settings.Dropout, DropPoint.AfterShareKeys, rng);
        var inputs = new LazyInputs(n, settings.Dimension, settings.Bits);
        long before = GC.GetTotalAllocatedBytes();
        string loadBefore = LoadAverage();
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        SecAggOutcome outcome = InProcessRound.Run(config, inputs, new RoundOptions { Dropouts = plan, Random = rng });
        wall.Stop();
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        string loadAfter = LoadAverage();
        long allocated = GC.GetTotalAllocatedBytes() - before;

        bool verified = outcome.Completed && VerifySum(outcome, inputs, settings.Bits);
        SecAggMetrics m = outcome.Metrics;
        int dropped = n - outcome.Contributors.Count;
        double survivingNeighbours = dropped == 0 ? 0 : (double)k * outcome.Contributors.Count / (n - 1);

        double? aes = floor.Aes256CtrBytesPerSecond;
        double? x25519 = floor.X25519OpsPerSecond;
        double? clientFloor = aes is null || x25519 is null ? null
            : (2.0 * k / x25519.Value) + ((k + 1.0) * settings.Dimension * 4 / aes.Value);
        double? serverFloor = aes is null ? null
            : ((dropped * survivingNeighbours) + outcome.Contributors.Count) * settings.Dimension * 4 / aes.Value / cores;
        double clientMean = m.ClientTimeTotal.Values.Sum(v => v.TotalSeconds) / n;
        // CPU per client: the process's CPU time less the coordinator's (its close CPU where measured, else its handling
        // wall time, an over-estimate that only makes the client figure smaller by at most that much).
        double coordinatorSeconds = m.CoordinatorTime.Sum(kv => m.CoordinatorCloseCpuTime.TryGetValue(kv.Key, out TimeSpan c) && kv.Key == Phase.Unmasking ? c.TotalSeconds : kv.Value.TotalSeconds);
        double clientCpu = Math.Max(0, cpuSeconds - coordinatorSeconds) / n;
        double vectorBytes = 4.0 * settings.Dimension;
        double allocatedVectors = allocated / vectorBytes;
        double beyondMessages = Math.Max(0, allocated - (outcome.Contributors.Count + dropped) * vectorBytes) / vectorBytes;
        double serverUnmask = m.CoordinatorTime.GetValueOrDefault(Phase.Unmasking).TotalSeconds;
        double serverUnmaskCpu = m.CoordinatorCloseCpuTime.GetValueOrDefault(Phase.Unmasking).TotalSeconds;

        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"completed: {outcome.Completed} ({outcome.Outcome}); contributors {outcome.Contributors.Count}/{n}; sum verified: {verified}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"wall time (whole round, in process): {wall.Elapsed.TotalSeconds:0.000} s");
        sb.AppendLine("client time per phase (mean per client | total over clients):");
        foreach (Phase phase in m.ClientTimeTotal.Keys.Order())
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {phase,-18} {Ms(m.ClientTimeMean[phase]),10} ms | {m.ClientTimeTotal[phase].TotalSeconds,8:0.000} s");
        }

        sb.AppendLine("coordinator time per phase:");
        foreach (Phase phase in m.CoordinatorTime.Keys.Order())
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {phase,-18} {m.CoordinatorTime[phase].TotalSeconds,8:0.000} s");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"bytes per client: sent mean {m.MeanBytesSent:N0} (max {m.MaxBytesSent:N0}), received mean {m.MeanBytesReceived:N0} (max {m.MaxBytesReceived:N0})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"coordinator peak memory (estimate): {m.CoordinatorPeakMemoryBytes / 1048576.0:0.0} MiB");
        sb.AppendLine(CultureInfo.InvariantCulture, $"allocations during the round (GC.GetTotalAllocatedBytes): {allocated / 1048576.0:0.0} MiB = {allocatedVectors:0.0} d-word vectors; beyond the n masked-input messages themselves (one d-word vector each, what the wire carries): {beyondMessages:0.0} vectors = {beyondMessages / cores:0.0} per thread");
        sb.AppendLine(CultureInfo.InvariantCulture, $"floor ({floor.Version}): AES-256-CTR {(aes ?? 0) / 1e9:0.00} GB/s, X25519 {(x25519 is null ? "n/a" : (1e6 / x25519.Value).ToString("0.0", CultureInfo.InvariantCulture))} µs/op");
        sb.AppendLine(CultureInfo.InvariantCulture, $"client: mean {clientMean * 1000:0.0} ms vs floor {(clientFloor ?? 0) * 1000:0.0} ms (2k agreements + (k+1)·d·4 B keystream) → ratio {Ratio(clientMean, clientFloor)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"client CPU per client (process CPU − coordinator): {clientCpu * 1000:0.0} ms vs floor {(clientFloor ?? 0) * 1000:0.0} ms → ratio {Ratio(clientCpu, clientFloor)} (CPU time, like openssl speed: robust to machine load)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"coordinator unmasking: {serverUnmask * 1000:0.0} ms vs floor {(serverFloor ?? 0) * 1000:0.0} ms ((dropped×surviving neighbours + survivors)·d·4 B / {cores} cores) → ratio {Ratio(serverUnmask, serverFloor)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"coordinator unmasking CPU (all threads): {serverUnmaskCpu * 1000:0.0} ms vs floor·cores {(serverFloor ?? 0) * cores * 1000:0.0} ms → ratio {Ratio(serverUnmaskCpu, serverFloor * cores)}");
        double? totalFloor = clientFloor is null || serverFloor is null ? null : (n * clientFloor.Value) + (serverFloor.Value * cores);
        sb.AppendLine(CultureInfo.InvariantCulture, $"process CPU time for the round: {cpuSeconds:0.00} s vs summed floor {totalFloor ?? 0:0.00} s (n·client floor + coordinator floor·cores) → ratio {Ratio(cpuSeconds, totalFloor)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"machine load average (1/5/15 min) before: {loadBefore}; after: {loadAfter} ({Environment.ProcessorCount} cores; wall-time ratios are inflated when the load exceeds the cores, openssl speed reports CPU time)");
        output(sb.ToString().TrimEnd());

        return new JsonObject
        {
            ["benchmark"] = "secagg",
            ["clients"] = n,
            ["dimension"] = settings.Dimension,
            ["bits"] = settings.Bits,
            ["graph"] = settings.Graph.ToString(),
            ["degree"] = k,
            ["threshold"] = t,
            ["dropout"] = settings.Dropout,
            ["threads"] = cores,
            ["mode"] = config.Mode.ToString(),
            ["parameterSource"] = paramSource,
            ["completed"] = outcome.Completed,
            ["sumVerified"] = verified,
            ["contributors"] = outcome.Contributors.Count,
            ["wallSeconds"] = wall.Elapsed.TotalSeconds,
            ["clientMeanSecondsPerPhase"] = new JsonObject(m.ClientTimeMean.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)kv.Value.TotalSeconds))),
            ["clientTotalSecondsPerPhase"] = new JsonObject(m.ClientTimeTotal.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)kv.Value.TotalSeconds))),
            ["coordinatorSecondsPerPhase"] = new JsonObject(m.CoordinatorTime.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)kv.Value.TotalSeconds))),
            ["bytesSentMean"] = m.MeanBytesSent,
            ["bytesSentMax"] = m.MaxBytesSent,
            ["bytesReceivedMean"] = m.MeanBytesReceived,
            ["bytesReceivedMax"] = m.MaxBytesReceived,
            ["coordinatorPeakMemoryBytes"] = m.CoordinatorPeakMemoryBytes,
            ["allocatedBytes"] = allocated,
            ["allocatedMiB"] = allocated / 1048576.0,
            ["allocatedVectors"] = allocatedVectors,
            ["allocatedVectorsBeyondMessages"] = beyondMessages,
            ["allocatedVectorsBeyondMessagesPerThread"] = beyondMessages / cores,
            ["clientCpuSecondsPerClient"] = clientCpu,
            ["clientCpuRatio"] = clientFloor is null ? null : clientCpu / clientFloor,
            ["openssl"] = floor.Version,
            ["aes256CtrBytesPerSecond"] = aes,
            ["x25519OpsPerSecond"] = x25519,
            ["clientMeanSeconds"] = clientMean,
            ["clientFloorSeconds"] = clientFloor,
            ["clientRatio"] = clientFloor is null ? null : clientMean / clientFloor,
            ["coordinatorUnmaskingSeconds"] = serverUnmask,
            ["coordinatorFloorSeconds"] = serverFloor,
            ["coordinatorRatio"] = serverFloor is null ? null : serverUnmask / serverFloor,
            ["coordinatorUnmaskingCpuSeconds"] = serverUnmaskCpu,
            ["coordinatorCpuRatio"] = serverFloor is null ? null : serverUnmaskCpu / (serverFloor * cores),
            ["processCpuSeconds"] = cpuSeconds,
            ["summedFloorSeconds"] = totalFloor,
            ["loadAverageBefore"] = loadBefore,
            ["loadAverageAfter"] = loadAfter,
        };
    }

    /// <summary>Writes the JSON report.</summary>
    public static void WriteJson(JsonObject report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        File.WriteAllText(path, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The 1/5/15-minute load average from /proc/loadavg, or "n/a".</summary>
    internal static string LoadAverage()
    {
        try
        {
            string[] parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return string.Join(' ', parts.Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
        catch (UnauthorizedAccessException)
        {
            return "n/a";
        }
    }

    private static string Ms(TimeSpan span) => (span.TotalMilliseconds).ToString("0.00", CultureInfo.InvariantCulture);

    private static string Ratio(double measured, double? floor) =>
        floor is null or <= 0 ? "n/a" : (measured / floor.Value).ToString("0.00", CultureInfo.InvariantCulture) + "×";

    private static bool VerifySum(SecAggOutcome outcome, LazyInputs inputs, int bits)
    {
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var sum = new uint[outcome.Sum.Length];
        foreach (int id in outcome.Contributors)
        {
            uint[] x = inputs.Fresh(id - 1);
            for (int j = 0; j < sum.Length; j++)
            {
                sum[j] = unchecked(sum[j] + x[j]) & mask;
            }
        }

        return sum.AsSpan().SequenceEqual(outcome.Sum);
    }

    /// <summary>
    /// Client inputs produced on demand (deterministic per index), so n·d words are never held at once. The vector is written
    /// into a per-thread buffer that the next call on the same thread overwrites: the client copies its input into the message
    /// at once, and the benchmark's data generator should not count as protocol allocation. <see cref="Fresh"/> gives a copy.
    /// </summary>
    private sealed class LazyInputs(int count, int dimension, int bits) : IReadOnlyList<uint[]>
    {
        [ThreadStatic]
        private static uint[]? t_buffer;

        public int Count => count;

        public uint[] this[int index]
        {
            get
            {
                uint[] v = t_buffer is { } b && b.Length == dimension ? b : (t_buffer = new uint[dimension]);
                Fill(index, v);
                return v;
            }
        }

        /// <summary>A fresh array with client <paramref name="index"/>'s input.</summary>
        public uint[] Fresh(int index)
        {
            var v = new uint[dimension];
            Fill(index, v);
            return v;
        }

        private void Fill(int index, uint[] v)
        {
            uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
            ulong state = 0x9E3779B97F4A7C15UL * (ulong)(index + 1);
            for (int j = 0; j < v.Length; j++)
            {
                // splitmix64: benchmark data, not randomness for any security purpose.
                state += 0x9E3779B97F4A7C15UL;
                ulong z = state;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                v[j] = (uint)(z ^ (z >> 31)) & mask;
            }
        }

        public IEnumerator<uint[]> GetEnumerator()
        {
            for (int i = 0; i < count; i++)
            {
                yield return Fresh(i);
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
