using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
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
/// <param name="Seed">Seed of the deterministic randomness (dropout draw, client keys, relabelling seeds): the same seed
/// gives the same graph, dropouts and round; another seed another draw of them.</param>
/// <param name="Repeat">Measured rounds (≥ 1): the first gives every per-phase figure; all of them give the median, min and
/// max of the round's wall and process CPU time (a sub-second round on a shared 2-core VM varies by ±50% run to run).</param>
public sealed record SecAggBenchSettings(int Clients, int Dimension, int Bits, double Dropout, GraphKind Graph, int? Neighbors,
    int? Threshold, int Threads, bool Malicious = false, ulong Seed = SecAggBenchSettings.DefaultSeed, int Repeat = 1)
{
    /// <summary>The seed used unless one is given (every run of the same command draws the same round).</summary>
    public const ulong DefaultSeed = 4242;
}

/// <summary>
/// Runs one whole SecAgg round in process and reports per-client and coordinator time per phase, bytes per client,
/// coordinator peak memory, and the cost floor measured with <c>openssl speed</c> in the same run, with ratios.
/// </summary>
/// <remarks>
/// Floors (reference-numbers.md §"Cost floor"): a client ≈ 2k key agreements + (k+1)·d·4 bytes of AES-256-CTR keystream;
/// the coordinator ≈ (dropped × surviving neighbours + survivors) × d·4 bytes of keystream + dropped × surviving
/// neighbours key agreements, / cores. The survivors' term is the self masks, which the reference formula leaves out;
/// the agreements are the pair seeds of every dropped client with each surviving neighbour, which the coordinator cannot
/// regenerate the pair masks without (the reference formula, "dominated by" the keystream, leaves them out too; up to
/// session 4 this benchmark did as well, which overstated the coordinator ratio by ≈ 1/3 at n = 1,000, k = 42: the
/// keystream-only ratio is still reported as <c>coordinatorCpuRatioKeystreamOnly</c>). All clients run in this one
/// process: with P threads, client work is spread over P cores, and per-client time is the mean per client.
/// </remarks>
public static class SecAggBenchmark
{
    /// <summary>Warm-up rounds before the measured one.</summary>
    private const int WarmUpRounds = 6;

    /// <summary>Runs the benchmark; returns the JSON report (also printed as text through <paramref name="output"/>).</summary>
    public static JsonObject Run(SecAggBenchSettings settings, Action<string> output)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        if (settings.Repeat < 1)
        {
            throw new ArgumentException($"--repeat must be at least 1, got {settings.Repeat}.");
        }

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

        // Warm-up: small rounds (at most 30 clients) through the same code paths at the full d, one full-size round, then a pause for the
        // runtime's background tier-1 compilation, so JIT tiering and first-use costs (openssl self-test, type loading)
        // are not charged to the measured round. Their figures are discarded. (Up to session 4 the warm-up was one round at
        // d ≤ 4,096: the d-sized loops were still being tiered up during the measured round, which then took 2–3× the CPU
        // of the same round run again.)
        {
            int nw = Math.Min(n, 30);
            var warmConfig = settings.Graph == GraphKind.Full || nw <= 8
                ? new SecAggConfig(nw, Math.Max(2, nw - 3), settings.Dimension, settings.Bits, config.Mode, GraphKind.Full, nw - 1, Threads: settings.Threads)
                : new SecAggConfig(nw, 4, settings.Dimension, settings.Bits, config.Mode, GraphKind.Harary, 6, Threads: settings.Threads);
            for (int round = 0; round < WarmUpRounds; round++)
            {
                using var warmRng = DeterministicRandomSource.FromTestSeed(7 + (ulong)round);
                _ = InProcessRound.Run(warmConfig, new LazyInputs(nw, warmConfig.Dimension, settings.Bits),
                    new RoundOptions { Dropouts = DropoutPlan.Random(nw, Math.Min(settings.Dropout, 0.1), DropPoint.AfterShareKeys, warmRng), Random = warmRng });
            }

            // Then one round at the measured size (another seed): the first round of a size pays first-touch memory, pool and
            // thread-pool growth and the tier-up of the hot loops; a coordinator or a client process runs many rounds.
            using (var fullRng = DeterministicRandomSource.FromTestSeed(settings.Seed + 1))
            {
                _ = InProcessRound.Run(config, new LazyInputs(n, settings.Dimension, settings.Bits),
                    new RoundOptions { Dropouts = DropoutPlan.Random(n, settings.Dropout, DropPoint.AfterShareKeys, fullRng), Random = fullRng });
            }

            Thread.Sleep(500);
            output($"warm-up: {WarmUpRounds} rounds of {nw} clients and one of {n} clients at d = {settings.Dimension} done (discarded)");
        }

        using var rng = DeterministicRandomSource.FromTestSeed(settings.Seed);
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

        // Repeated measured rounds: the same seed, so the same graph, dropouts and keys; each one verified too.
        var walls = new List<double> { wall.Elapsed.TotalSeconds };
        var cpus = new List<double> { cpuSeconds };
        bool repeatsVerified = true;
        for (int again = 1; again < settings.Repeat; again++)
        {
            using var againRng = DeterministicRandomSource.FromTestSeed(settings.Seed);
            var againPlan = DropoutPlan.Random(n, settings.Dropout, DropPoint.AfterShareKeys, againRng);
            TimeSpan againCpu = Process.GetCurrentProcess().TotalProcessorTime;
            var againWall = Stopwatch.StartNew();
            SecAggOutcome repeated = InProcessRound.Run(config, inputs, new RoundOptions { Dropouts = againPlan, Random = againRng });
            againWall.Stop();
            cpus.Add((Process.GetCurrentProcess().TotalProcessorTime - againCpu).TotalSeconds);
            walls.Add(againWall.Elapsed.TotalSeconds);
            repeatsVerified &= repeated.Completed && VerifySum(repeated, inputs, settings.Bits);
        }

        bool verified = outcome.Completed && VerifySum(outcome, inputs, settings.Bits) && repeatsVerified;
        SecAggMetrics m = outcome.Metrics;
        int dropped = n - outcome.Contributors.Count;
        double survivingNeighbours = dropped == 0 ? 0 : (double)k * outcome.Contributors.Count / (n - 1);

        double? aes = floor.Aes256CtrBytesPerSecond;
        double? x25519 = floor.X25519OpsPerSecond;
        double? clientFloor = aes is null || x25519 is null ? null
            : (2.0 * k / x25519.Value) + ((k + 1.0) * settings.Dimension * 4 / aes.Value);
        double? serverKeystreamFloor = aes is null ? null
            : ((dropped * survivingNeighbours) + outcome.Contributors.Count) * settings.Dimension * 4 / aes.Value / cores;
        double? serverFloor = serverKeystreamFloor is null || x25519 is null ? null
            : serverKeystreamFloor + (dropped * survivingNeighbours / x25519.Value / cores);
        double clientMean = m.ClientTimeTotal.Values.Sum(v => v.TotalSeconds) / n;
        // CPU per client: the process's CPU time less the coordinator's (its close CPU where measured, else its handling
        // wall time, an over-estimate that only makes the client figure smaller by at most that much).
        double coordinatorSeconds = m.CoordinatorTime.Sum(kv => m.CoordinatorCloseCpuTime.TryGetValue(kv.Key, out TimeSpan c) && kv.Key == Phase.Unmasking ? c.TotalSeconds : kv.Value.TotalSeconds);
        double clientCpu = Math.Max(0, cpuSeconds - coordinatorSeconds) / n;
        double vectorBytes = 4.0 * settings.Dimension;
        double allocatedVectors = allocated / vectorBytes;
        // The masked-input messages: the buffers the round's pool allocated (about one per thread), or one per sender when
        // the round did not recycle them. (Up to session 5 this subtracted n vectors although the buffers were already
        // pooled, so "beyond messages" understated the rest by n vectors.)
        double messageBytes = m.MaskedInputBuffersAllocated is { } buffers ? buffers * vectorBytes : outcome.Contributors.Count * vectorBytes;
        double beyondMessages = Math.Max(0, allocated - messageBytes) / vectorBytes;
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
        sb.AppendLine(CultureInfo.InvariantCulture, $"allocations during the round (GC.GetTotalAllocatedBytes, all threads): {allocated / 1048576.0:0.0} MiB = {allocatedVectors:0.0} d-word vectors; {allocatedVectors / cores:0.0} per thread; {allocated / 1024.0 / n:0.0} KiB per client; masked-input message buffers allocated {(m.MaskedInputBuffersAllocated is { } mb ? mb.ToString(CultureInfo.InvariantCulture) : "one per sender")} (at most {m.MaskedInputBuffersPeak?.ToString(CultureInfo.InvariantCulture) ?? "n/a"} in use at once), {beyondMessages:0.0} vectors beyond them");
        long clientAllocated = m.ClientAllocatedBytes.Values.Sum();
        long coordinatorAllocated = m.CoordinatorAllocatedBytes.Values.Sum();
        sb.AppendLine(CultureInfo.InvariantCulture, $"  of which clients {clientAllocated / 1048576.0:0.0} MiB, coordinator {coordinatorAllocated / 1048576.0:0.0} MiB, driver and other {(allocated - clientAllocated - coordinatorAllocated) / 1048576.0:0.0} MiB; per phase (clients | coordinator, MiB):");
        foreach (Phase phase in m.ClientAllocatedBytes.Keys.Union(m.CoordinatorAllocatedBytes.Keys).Order())
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {phase,-18} {m.ClientAllocatedBytes.GetValueOrDefault(phase) / 1048576.0,8:0.00} | {m.CoordinatorAllocatedBytes.GetValueOrDefault(phase) / 1048576.0,8:0.00}");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"floor ({floor.Version}): AES-256-CTR {(aes ?? 0) / 1e9:0.00} GB/s, X25519 {(x25519 is null ? "n/a" : (1e6 / x25519.Value).ToString("0.0", CultureInfo.InvariantCulture))} µs/op");
        sb.AppendLine(CultureInfo.InvariantCulture, $"client: mean {clientMean * 1000:0.0} ms vs floor {(clientFloor ?? 0) * 1000:0.0} ms (2k agreements + (k+1)·d·4 B keystream) → ratio {Ratio(clientMean, clientFloor)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"client CPU per client (process CPU − coordinator): {clientCpu * 1000:0.0} ms vs floor {(clientFloor ?? 0) * 1000:0.0} ms → ratio {Ratio(clientCpu, clientFloor)} (CPU time, like openssl speed: robust to machine load)");
        sb.AppendLine(CultureInfo.InvariantCulture, $"coordinator unmasking: {serverUnmask * 1000:0.0} ms vs floor {(serverFloor ?? 0) * 1000:0.0} ms (((dropped×surviving neighbours + survivors)·d·4 B keystream + dropped×surviving neighbours agreements) / {cores} cores) → ratio {Ratio(serverUnmask, serverFloor)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"coordinator unmasking CPU (all threads): {serverUnmaskCpu * 1000:0.0} ms vs floor·cores {(serverFloor ?? 0) * cores * 1000:0.0} ms → ratio {Ratio(serverUnmaskCpu, serverFloor * cores)} (keystream-only floor, without the agreements: {Ratio(serverUnmaskCpu, serverKeystreamFloor * cores)})");
        double? totalFloor = clientFloor is null || serverFloor is null ? null : (n * clientFloor.Value) + (serverFloor.Value * cores);
        sb.AppendLine(CultureInfo.InvariantCulture, $"process CPU time for the round: {cpuSeconds:0.00} s vs summed floor {totalFloor ?? 0:0.00} s (n·client floor + coordinator floor·cores) → ratio {Ratio(cpuSeconds, totalFloor)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"machine load average (1/5/15 min) before: {loadBefore}; after: {loadAfter} ({Environment.ProcessorCount} cores; wall-time ratios are inflated when the load exceeds the cores, openssl speed reports CPU time)");
        if (settings.Repeat > 1)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{settings.Repeat} measured rounds: wall median {Median(walls):0.000} s (min {walls.Min():0.000}, max {walls.Max():0.000}); process CPU median {Median(cpus):0.000} s (min {cpus.Min():0.000}, max {cpus.Max():0.000}); the figures above are the first round's");
        }

        output(sb.ToString().TrimEnd());

        JsonObject? malicious = settings.Malicious ? MaliciousComparison(settings, config, plan, inputs, wall.Elapsed.TotalSeconds, cpuSeconds, floor, output) : null;
        return new JsonObject
        {
            ["maliciousVsHonest"] = malicious,
            ["benchmark"] = "secagg",
            ["clients"] = n,
            ["dimension"] = settings.Dimension,
            ["bits"] = settings.Bits,
            ["graph"] = settings.Graph.ToString(),
            ["degree"] = k,
            ["threshold"] = t,
            ["dropout"] = settings.Dropout,
            ["threads"] = cores,
            ["seed"] = settings.Seed,
            ["mode"] = config.Mode.ToString(),
            ["parameterSource"] = paramSource,
            ["completed"] = outcome.Completed,
            ["sumVerified"] = verified,
            ["contributors"] = outcome.Contributors.Count,
            ["wallSeconds"] = wall.Elapsed.TotalSeconds,
            ["repeat"] = settings.Repeat,
            ["wallSecondsPerRepeat"] = new JsonArray([.. walls.Select(w => (JsonNode?)w)]),
            ["wallSecondsMedian"] = Median(walls),
            ["processCpuSecondsPerRepeat"] = new JsonArray([.. cpus.Select(c => (JsonNode?)c)]),
            ["processCpuSecondsMedian"] = Median(cpus),
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
            ["clientAllocatedBytesPerPhase"] = new JsonObject(m.ClientAllocatedBytes.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)kv.Value))),
            ["coordinatorAllocatedBytesPerPhase"] = new JsonObject(m.CoordinatorAllocatedBytes.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)kv.Value))),
            ["driverAllocatedBytes"] = allocated - clientAllocated - coordinatorAllocated,
            ["allocatedBytesPerClient"] = (double)allocated / n,
            ["maskedInputBuffersAllocated"] = m.MaskedInputBuffersAllocated,
            ["maskedInputBuffersPeak"] = m.MaskedInputBuffersPeak,
            ["allocatedVectorsBeyondMessages"] = beyondMessages,
            ["allocatedVectorsBeyondMessagesPerThread"] = beyondMessages / cores,
            ["allocatedVectorsPerThread"] = allocatedVectors / cores,
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
            ["coordinatorKeystreamFloorSeconds"] = serverKeystreamFloor,
            ["coordinatorCpuRatioKeystreamOnly"] = serverKeystreamFloor is null ? null : serverUnmaskCpu / (serverKeystreamFloor * cores),
            ["processCpuSecondsPerClient"] = cpuSeconds / n,
            ["processCpuSeconds"] = cpuSeconds,
            ["summedFloorSeconds"] = totalFloor,
            ["loadAverageBefore"] = loadBefore,
            ["loadAverageAfter"] = loadAfter,
        };
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

    /// <summary>
    /// Malicious mode's cost against honest-but-curious: the same round (parameters, dropouts, inputs) in honest-but-curious
    /// mode in the same run, and the identity-signature rates of both suites (this implementation, one thread, CPU time)
    /// beside <c>openssl speed ed25519 ecdsap256</c> of the same run.
    /// </summary>
    private static JsonObject MaliciousComparison(SecAggBenchSettings settings, SecAggConfig config, DropoutPlan plan, LazyInputs inputs,
        double maliciousWall, double maliciousCpu, CryptoOpenSslFloor floor, Action<string> output)
    {
        // The first malicious round ran right after a small warm-up; code paths still being re-jitted would be charged to
        // it alone. So: honest-but-curious, then malicious again, both after it, and the ratio of those two.
        SecAggConfig honest = config with { Mode = Protocol.Wire.ThreatMode.HonestButCurious };
        (SecAggOutcome outcome, double honestWall, double cpu) = Timed(honest);
        bool verified = outcome.Completed && VerifySum(outcome, inputs, settings.Bits);
        (SecAggOutcome again, double againWall, double againCpu) = Timed(config);
        bool againVerified = again.Completed && VerifySum(again, inputs, settings.Bits);
        (SecAggOutcome Outcome, double Wall, double Cpu) Timed(SecAggConfig c)
        {
            using var rng = DeterministicRandomSource.FromTestSeed(settings.Seed);
            _ = DropoutPlan.Random(settings.Clients, settings.Dropout, DropPoint.AfterShareKeys, rng); // same draws as the first round
            TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            SecAggOutcome o = InProcessRound.Run(c, inputs, new RoundOptions { Dropouts = plan, Random = rng });
            sw.Stop();
            return (o, sw.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
        }

        floor.MeasureEd25519(2, output);
        (double edSign, double edVerify) = SignatureRates(IdentitySuite.Ed25519);
        (double pSign, double pVerify) = SignatureRates(IdentitySuite.EcdsaP256Sha256);
        output(string.Create(CultureInfo.InvariantCulture,
            $"malicious vs honest-but-curious (same parameters, same run, measured after the first malicious round): wall {againWall:0.000} s vs {honestWall:0.000} s → {againWall / honestWall:0.00}×; process CPU {againCpu:0.00} s vs {cpu:0.00} s → {againCpu / cpu:0.00}× (goal ≤ 1.2×; first malicious round {maliciousCpu:0.00} s CPU); honest completed {outcome.Completed} / verified {verified}, malicious again {again.Completed} / {againVerified}"));
        output(string.Create(CultureInfo.InvariantCulture,
            $"identity signatures per CPU second (one thread): Ed25519 sign {edSign:0} / verify {edVerify:0} (openssl {floor.Ed25519SignPerSecond ?? 0:0} / {floor.Ed25519VerifyPerSecond ?? 0:0}); ECDSA P-256 sign {pSign:0} / verify {pVerify:0} (openssl {floor.EcdsaSignPerSecond ?? 0:0} / {floor.EcdsaVerifyPerSecond ?? 0:0})"));
        return new JsonObject
        {
            ["honestCompleted"] = outcome.Completed,
            ["honestSumVerified"] = verified,
            ["honestWallSeconds"] = honestWall,
            ["honestProcessCpuSeconds"] = cpu,
            ["firstMaliciousWallSeconds"] = maliciousWall,
            ["firstMaliciousProcessCpuSeconds"] = maliciousCpu,
            ["maliciousAgainCompleted"] = again.Completed,
            ["maliciousAgainSumVerified"] = againVerified,
            ["maliciousWallSeconds"] = againWall,
            ["maliciousProcessCpuSeconds"] = againCpu,
            ["wallRatio"] = againWall / honestWall,
            ["cpuRatio"] = againCpu / cpu,
            ["ed25519SignPerSecond"] = edSign,
            ["ed25519VerifyPerSecond"] = edVerify,
            ["opensslEd25519SignPerSecond"] = floor.Ed25519SignPerSecond,
            ["opensslEd25519VerifyPerSecond"] = floor.Ed25519VerifyPerSecond,
            ["p256SignPerSecond"] = pSign,
            ["p256VerifyPerSecond"] = pVerify,
            ["opensslEcdsaP256SignPerSecond"] = floor.EcdsaSignPerSecond,
            ["opensslEcdsaP256VerifyPerSecond"] = floor.EcdsaVerifyPerSecond,
        };
    }

    /// <summary>Signs and verifies 64-byte messages (the size class of the advertise message hash input) for ≈ 1 s of CPU each.</summary>
    private static (double Sign, double Verify) SignatureRates(IdentitySuite suite)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(99);
        using IdentitySigningKey key = IdentitySigningKey.Generate(suite, rng);
        byte[] message = new byte[180]; // ≈ an X25519 advertise message with its commitment
        rng.Fill(message);
        byte[] signature = new byte[IdentitySignature.SignatureLength(suite)];
        IdentityPublicKey identity = key.PublicIdentity;
        double Rate(Action op)
        {
            for (int i = 0; i < 50; i++)
            {
                op();
            }

            int count = 0;
            TimeSpan start = Process.GetCurrentProcess().TotalProcessorTime;
            TimeSpan elapsed;
            do
            {
                for (int i = 0; i < 100; i++)
                {
                    op();
                }

                count += 100;
                elapsed = Process.GetCurrentProcess().TotalProcessorTime - start;
            }
            while (elapsed.TotalSeconds < 1.0);
            return count / elapsed.TotalSeconds;
        }

        double sign = Rate(() => key.Sign(message, signature));
        bool ok = true;
        double verify = Rate(() => ok &= IdentitySignature.Verify(identity, message, signature));
        return ok ? (sign, verify) : throw new InvalidOperationException("A benchmark signature did not verify.");
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

        /// <summary>
        /// v[j] = fmix32(seed_index + j·0x9E3779B9) (MurmurHash3's finaliser) AND the value mask, eight words per step: the
        /// client's input is data it already holds, so generating it should cost next to nothing beside the protocol
        /// (the splitmix64 generator of earlier sessions took ≈ 0.15 ms per client at d = 10^5, a quarter of a Flower-size
        /// client's floor, and was charged to the client). Benchmark data, not randomness for any security purpose.
        /// </summary>
        private void Fill(int index, uint[] v)
        {
            uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
            uint seed = unchecked((uint)(index + 1) * 0x85EBCA77u);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var step = Vector256.Create(unchecked(8u * 0x9E3779B9u));
                var z0 = Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u) * 0x9E3779B9u
                    + Vector256.Create(seed);
                var m = Vector256.Create(mask);
                for (; j <= v.Length - 8; j += 8)
                {
                    var z = z0;
                    z ^= z >>> 16;
                    z *= 0x85EBCA6Bu;
                    z ^= z >>> 13;
                    z *= 0xC2B2AE35u;
                    z ^= z >>> 16;
                    (z & m).CopyTo(v.AsSpan(j));
                    z0 += step;
                }
            }

            for (; j < v.Length; j++)
            {
                uint z = unchecked(seed + ((uint)j * 0x9E3779B9u));
                z ^= z >> 16;
                z = unchecked(z * 0x85EBCA6Bu);
                z ^= z >> 13;
                z = unchecked(z * 0xC2B2AE35u);
                z ^= z >> 16;
                v[j] = z & mask;
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
