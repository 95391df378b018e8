using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Crypto;
using SecureFedRec.Roster;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Tls;
using ClientRoundResult = SecureFedRec.Client.ClientRoundResult;
using Phase = SecureFedRec.Protocol.Wire.Phase;

namespace SecureFedRec.Bench;

/// <summary>Settings of <c>securefedrec bench network</c>.</summary>
/// <param name="Clients">n (the cohort: the coordinator waits for all n).</param>
/// <param name="Dimension">d.</param>
/// <param name="Dropout">Fraction of clients that go silent after ShareKeys (the MaskedInput phase then waits for its deadline).</param>
/// <param name="PhaseSeconds">
/// The coordinator's phase deadline, the same for every phase and cohort size (null: the coordinator's default rule,
/// PhaseSeconds + n × PhaseSecondsPerClient, as a deployment that sets nothing gets).
/// </param>
/// <param name="MaxMessageBytes">The coordinator's and the clients' gRPC message cap.</param>
/// <param name="Threads">In-process round: clients computing at once (0: all cores).</param>
/// <param name="Malicious">
/// Malicious mode (the default of every deployment: a signed roster, every client verifying it and the cohort, signed
/// keys, the consistency check); false: the honest-but-curious round over an allow-list, opted in on both sides.
/// </param>
/// <param name="InProcess">Also run the in-process round of the same settings for the ratio (false: the networked round only,
/// for memory measurements; the report then has no ratio).</param>
public sealed record NetworkBenchSettings(int Clients, int Dimension, double Dropout, double? PhaseSeconds, int MaxMessageBytes, int Threads = 0, bool Malicious = true,
    bool InProcess = true)
{
    /// <summary>Refuses settings the benchmark cannot run.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (Clients < 3)
        {
            throw new ArgumentException("--clients must be at least 3.");
        }

        if (Dimension < 1)
        {
            throw new ArgumentException("--dim must be at least 1.");
        }

        if (Dropout is < 0 or >= 0.5 || double.IsNaN(Dropout))
        {
            throw new ArgumentException("--dropout must be in [0, 0.5).");
        }

        if (PhaseSeconds is { } seconds && (seconds <= 0 || double.IsNaN(seconds)))
        {
            throw new ArgumentException("--phase-seconds must be positive.");
        }

        if (MaxMessageBytes < 64 * 1024)
        {
            throw new ArgumentException("--max-message-bytes must be at least 65536.");
        }

        if (Threads < 0)
        {
            throw new ArgumentException("--threads must be 0 or positive.");
        }
    }
}

/// <summary>
/// One real secure-aggregation round over TLS on loopback with the production code: the coordinator is a child
/// <c>securefedrec coordinator</c> process (SQLite store in a temporary directory, development certificate, allow-list
/// of generated identities), the n clients are <see cref="FederationClient"/> instances in this process, each with its
/// own identity, ledger file and a permissive policy, connected through a counting TCP relay. The same round is run in
/// process (<see cref="InProcessRoundDriver"/> over the same <see cref="RoundHost"/> settings and <see cref="ClientRound"/>
/// code) in the same run, and the networked figures are printed beside it as ratios.
/// </summary>
/// <remarks>
/// Phase wall times come from the coordinator's PhaseClosed log events (event 2011); coordinator CPU is the child
/// process's utime + stime delta over the round (from /proc/PID/stat) and its peak RSS is VmHWM (/proc/PID/status),
/// so neither includes the clients. Bytes are counted on the wire (TLS records) by the relay, per connection: each
/// client holds one HTTP/2 connection, so the per-connection figures are per-client figures.
/// </remarks>
public static partial class NetworkBenchmark
{
    /// <summary>The coordinator process's environment as deployed (deploy/Dockerfile, deploy/securefedrec-coordinator.service).</summary>
    private static readonly (string Name, string Value)[] CoordinatorEnvironment =
    [
        ("DOTNET_gcServer", "0"),
        ("MALLOC_ARENA_MAX", "2"),
        ("DOTNET_GCgen0size", "0x1000000"),
    ];

    /// <summary>The memory settings the coordinator process runs with: each deployed default unless this process's own
    /// environment sets the variable (to measure another setting without a rebuild).</summary>
    private static IEnumerable<(string Name, string Value)> EffectiveCoordinatorEnvironment() => CoordinatorEnvironment.Select(e =>
        (e.Name, Environment.GetEnvironmentVariable(e.Name) is { Length: > 0 } own ? own : e.Value));

    /// <summary>Prefixes of the runtime's and glibc's tuning variables (GC, tiering, ReadyToRun, thread pool, malloc; the
    /// legacy COMPlus_ spelling too) that the coordinator inherits from this process and that change what it measures.</summary>
    private static readonly string[] TuningPrefixes =
        ["DOTNET_GC", "DOTNET_Tiered", "DOTNET_TC_", "DOTNET_OSR", "DOTNET_ReadyToRun", "DOTNET_Thread", "DOTNET_System_", "MALLOC_", "COMPlus_"];

    /// <summary>Those settings and any other tuning variable (<see cref="TuningPrefixes"/>) the coordinator inherits, as one line.</summary>
    private static string CoordinatorEnvironmentText()
    {
        IEnumerable<string> set = EffectiveCoordinatorEnvironment().Select(e => e.Name + "=" + e.Value);
        IEnumerable<string> extra = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => TuningPrefixes.Any(p => k.StartsWith(p, StringComparison.OrdinalIgnoreCase)) && !CoordinatorEnvironment.Any(e => e.Name == k))
            .Order(StringComparer.Ordinal)
            .Select(k => k + "=" + Environment.GetEnvironmentVariable(k));
        return string.Join(' ', set.Concat(extra));
    }

    private static readonly Phase[] MeasuredPhases = [Phase.AdvertiseKeys, Phase.RelabelReveal, Phase.ShareKeys, Phase.MaskedInput, Phase.ConsistencyCheck, Phase.Unmasking];

    /// <summary>Runs the benchmark; returns the JSON report (also printed as text through <paramref name="output"/>).</summary>
    /// <exception cref="ArgumentException">Invalid settings.</exception>
    public static async Task<JsonObject> RunAsync(NetworkBenchSettings settings, Action<string> output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        settings.Validate();
        int n = settings.Clients;
        int d = settings.Dimension;
        int dropped = (int)Math.Floor(settings.Dropout * n);
        string loadBefore = SecAggBenchmark.LoadAverage();
        var defaults = new RoundOptions();
        double phaseSeconds = settings.PhaseSeconds ?? defaults.PhaseSeconds + (n * defaults.PhaseSecondsPerClient);
        string deadline = settings.PhaseSeconds is null
            ? string.Create(CultureInfo.InvariantCulture, $"default ({defaults.PhaseSeconds} s + n × {defaults.PhaseSecondsPerClient} s = {phaseSeconds} s)")
            : string.Create(CultureInfo.InvariantCulture, $"{phaseSeconds} s (--phase-seconds)");
        string mode = settings.Malicious ? "Malicious" : "HonestButCurious";
        output($"network: n={n} d={d} dropout={settings.Dropout.ToString(CultureInfo.InvariantCulture)} ({dropped} silent after ShareKeys) mode={mode} phase deadline {deadline} max-message-bytes={settings.MaxMessageBytes} cores={Environment.ProcessorCount}");
        output($"load average (1/5/15 min) before: {loadBefore}");

        // The machine's speed in this run (this 2-core VM has measured 3.7–7.2 GB/s for the same openssl AES figure on
        // different days): round times from different runs compare only beside it.
        CryptoOpenSslFloor floor = CryptoOpenSslFloor.Measure(1, _ => { });
        output(floor.Aes256CtrBytesPerSecond is { } aesFloor
            ? string.Create(CultureInfo.InvariantCulture, $"machine floor in this run (one core): {floor.AesSource} {aesFloor / 1e9:F2} GB/s; {floor.EcdsaSource} P-256 verify {floor.EcdsaVerifyPerSecond:F0}/s; {floor.EcdhSource} X25519 {floor.X25519OpsPerSecond:F0}/s")
            : $"machine floor in this run: {floor.Version}");

        var rounds = new RoundOptions
        {
            CohortSize = n,
            MinClients = n,
            Dimension = d,
            PhaseSeconds = settings.PhaseSeconds ?? defaults.PhaseSeconds,
            PhaseSecondsPerClient = settings.PhaseSeconds is null ? defaults.PhaseSecondsPerClient : 0,
            RecruitSeconds = 1,
            MaxRounds = 1,
            ThreatMode = mode,
            AllowHonestButCurious = !settings.Malicious,
        };
        using var consortium = new Consortium(n, settings.Malicious);

        // In process first (JIT warm-up round at n = 3, d = 16, then the measured round): the same round code.
        if (settings.InProcess)
        {
            using var warmUp = new Consortium(3, settings.Malicious);
            await RunInProcessAsync(new RoundOptions { CohortSize = 3, MinClients = 3, Dimension = 16, MaxRounds = 1, ThreatMode = mode, AllowHonestButCurious = !settings.Malicious },
                warmUp, 0, settings.Threads, cancellationToken).ConfigureAwait(false);
        }

        GC.Collect();
        (InProcessRoundResult local, RoundPlan? localPlan) = settings.InProcess
            ? await RunInProcessAsync(rounds, consortium, dropped, settings.Threads, cancellationToken).ConfigureAwait(false)
            : (new InProcessRoundResult([], [], [], TimeSpan.Zero), null);
        int localCompleted = local.Clients.Count(c => c.Outcome == ClientRoundOutcome.Completed);
        double localSeconds = local.Elapsed.TotalSeconds;
        output(settings.InProcess
            ? $"in-process round: {localSeconds:F3} s, {localCompleted} of {n} clients completed, graph {localPlan?.Graph} k = {localPlan?.Degree} t = {localPlan?.Threshold}, mean {Mean(local.BytesSent):F0} B sent / {Mean(local.BytesReceived):F0} B received per client (serialized protocol messages)"
            : "in-process round: skipped (--skip-in-process)");
        GC.Collect();

        var report = new JsonObject
        {
            ["benchmark"] = "network",
            ["clients"] = n,
            ["dimension"] = d,
            ["dropout"] = settings.Dropout,
            ["dropped"] = dropped,
            ["mode"] = mode,
            ["phaseSeconds"] = phaseSeconds,
            ["phaseSecondsOption"] = settings.PhaseSeconds,
            ["phaseDeadline"] = deadline,
            ["maxMessageBytes"] = settings.MaxMessageBytes,
            ["cores"] = Environment.ProcessorCount,
            ["coordinatorEnvironment"] = CoordinatorEnvironmentText(),
            ["loadAverageBefore"] = loadBefore,
            ["floor"] = new JsonObject
            {
                ["openssl"] = floor.Version,
                ["aes256CtrGBps"] = floor.Aes256CtrBytesPerSecond / 1e9,
                ["ecdsaP256VerifyPerSecond"] = floor.EcdsaVerifyPerSecond,
                ["x25519PerSecond"] = floor.X25519OpsPerSecond,
            },
            ["inProcess"] = !settings.InProcess ? null : new JsonObject
            {
                ["seconds"] = localSeconds,
                ["completed"] = localCompleted,
                ["graph"] = localPlan?.Graph.ToString(),
                ["degree"] = localPlan?.Degree,
                ["threshold"] = localPlan?.Threshold,
                ["meanBytesSent"] = Mean(local.BytesSent),
                ["meanBytesReceived"] = Mean(local.BytesReceived),
            },
        };

        await using var deployment = new Deployment(consortium, rounds, settings.MaxMessageBytes);
        JsonObject networked = await deployment.RunAsync(dropped, output, cancellationToken).ConfigureAwait(false);
        report["network"] = networked;
        bool completed = networked["completed"]!.GetValue<int>() == n - dropped;
        double roundSeconds = networked["roundSeconds"]!.GetValue<double>();
        bool bothCompleted = completed && (!settings.InProcess || localCompleted == n - dropped);
        double? ratio = bothCompleted && settings.InProcess ? roundSeconds / localSeconds : null;
        report["ratioNetworkToInProcess"] = ratio;
        report["completed"] = bothCompleted;
        string loadAfter = SecAggBenchmark.LoadAverage();
        report["loadAverageAfter"] = loadAfter;
        output(ratio is { } r
            ? $"ratio networked/in-process round: {r:F2}x ({roundSeconds:F3} s / {localSeconds:F3} s; target ≤ 1.5x at n = 100, d = 10^5 and n = 10, d = 10^6)"
            : $"ratio networked/in-process round: none (networked {networked["completed"]} of {n - dropped}, in process {localCompleted} of {n - dropped} completed)");
        output($"load average (1/5/15 min) after: {loadAfter}");
        return report;
    }

    /// <summary>Writes the report as indented JSON.</summary>
    public static void WriteJson(JsonObject report, string path) => SecAggBenchmark.WriteJson(report, path);

    private static double Mean(IReadOnlyList<long> values) => values.Count == 0 ? 0 : values.Average();

    private static ClientPrivacyPolicy Policy => new()
    {
        MaxTotalEpsilon = 1000,
        Delta = 1e-5,
        MinNoiseMultiplier = 0,
        MaxClip = 10,
        AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.CuriousServer, ThreatMode.SemiMalicious },
        AllowHonestButCurious = true,
        MinCohortSize = 2,
        MinThreshold = 2,
        MinDistinctOrganisations = 1,
        // Permissive: at large n the coordinator uses a SecAgg+ neighbour graph whose threshold is a fraction of the
        // degree k, not of n (t/n = 27/1000 at n = 1000); the benchmark measures speed, not a consent policy.
        MinThresholdFraction = 0,
    };

    /// <summary>Client i's local update: deterministic benchmark data (clipped by the mechanism like any update).</summary>
    private static double[] Update(int index, int d)
    {
        var v = new double[d];
        for (int j = 0; j < d; j++)
        {
            v[j] = 0.001 * (((index + j) % 7) - 3);
        }

        return v;
    }

    private static async Task<(InProcessRoundResult, RoundPlan?)> RunInProcessAsync(RoundOptions o, Consortium consortium, int dropped, int threads, CancellationToken cancellationToken)
    {
        var host = new RoundHost(new RoundHostOptions
        {
            Settings = RoundEngine.SettingsOf(o),
            CohortSize = o.CohortSize,
            MinClients = o.MinClients,
            MaxRounds = 1,
            Threads = 1,
            IdentityOf = consortium.Malicious ? consortium.IdentityOf : null,
        }, new ModelRelease(1, 0, new double[o.Dimension], 0, 0), new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), new FedAvgRule());
        int n = o.CohortSize;
        var clients = Enumerable.Range(0, n).Select(i => (Consortium.Caller(i), new ClientRound(new ClientRoundOptions
        {
            Guard = new ClientPrivacyGuard(Policy, new MemoryPrivacyLedger(new PrivacyBudget(Policy.MaxTotalEpsilon, Policy.Delta))),
            UpdateSource = (request, _) => Task.FromResult(LocalUpdate.FromTotal(Update(i, request.Contract.Dp.Dimension))),
            SilentAfter = i >= n - dropped ? Phase.ShareKeys : null,
            Identity = consortium.Malicious ? consortium.Key(i) : null,
            Self = consortium.Malicious ? Consortium.Name(i) : null,
            Roster = consortium.Malicious ? consortium.Roster : null,
            CohortPolicy = consortium.Malicious ? new CohortPolicy(1) : null,
        }))).ToList();
        InProcessRoundResult result = await InProcessRoundDriver.RunRoundAsync(host, clients, threads, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (result, host.LastPlan);
    }

    /// <summary>
    /// The benchmark's consortium: one Ed25519 identity per client (client i is <c>org-i/client-i</c>, each its own
    /// organisation) and, in malicious mode, an enrolment authority and the roster it signed; honest-but-curious: the keys
    /// only (an allow-list deployment).
    /// </summary>
    private sealed class Consortium : IDisposable
    {
        private readonly List<IdentitySigningKey> _keys = [];
        private readonly RosterVerifier? _verifier;

        public Consortium(int clients, bool malicious)
        {
            Malicious = malicious;
            for (int i = 0; i < clients; i++)
            {
                _keys.Add(IdentitySigningKey.Generate(IdentitySuite.Ed25519));
            }

            if (!malicious)
            {
                return;
            }

            using IdentitySigningKey authority = IdentitySigningKey.Generate(IdentitySuite.Ed25519);
            DateTimeOffset now = RosterAuthority.TruncateToSecond(DateTimeOffset.UtcNow);
            RosterContent draft = RosterAuthority.CreateDraft("bench-consortium", authority, now.AddHours(-1)) with { NotAfter = now.AddDays(1) };
            for (int i = 0; i < clients; i++)
            {
                MemberName name = Name(i);
                RosterCheck added = RosterAuthority.AddMember(draft, new RosterMember(name.Organisation, name.ClientId, IdentitySuite.Ed25519, _keys[i].ExportPublicKey(),
                    now.AddHours(-1), now.AddDays(1)), out draft);
                if (!added.Passed)
                {
                    throw new InvalidOperationException("The benchmark roster refused member " + name + ": " + added);
                }
            }

            RosterFileBytes = RosterFile.Format(RosterAuthority.Sign(draft, authority));
            AuthorityPin = IdentitySignature.NameOf(authority.Suite) + ":" + Convert.ToHexStringLower(authority.ExportPublicKey());
            _verifier = new RosterVerifier(authority.Suite, authority.ExportPublicKey());
        }

        public bool Malicious { get; }

        public int Count => _keys.Count;

        /// <summary>The signed roster file (malicious mode).</summary>
        public byte[] RosterFileBytes { get; } = [];

        /// <summary>The pinned authority, SUITE:HEX (malicious mode).</summary>
        public string AuthorityPin { get; } = string.Empty;

        public static string Caller(int i) => "bench-client-" + i.ToString(CultureInfo.InvariantCulture);

        public static MemberName Name(int i) => new("org-" + i.ToString(CultureInfo.InvariantCulture), "client-" + i.ToString(CultureInfo.InvariantCulture));

        public IdentitySigningKey Key(int i) => _keys[i];

        /// <summary>A client's roster provider (in process): verifies the signed file now.</summary>
        public Task<RosterVerification> Roster(CancellationToken cancellationToken) => Task.FromResult(_verifier!.Verify(RosterFileBytes, DateTimeOffset.UtcNow));

        /// <summary>The in-process coordinator's lookup of a <see cref="Caller"/> name.</summary>
        public Task<CohortIdentity?> IdentityOf(string caller, CancellationToken cancellationToken)
        {
            int i = int.Parse(caller["bench-client-".Length..], CultureInfo.InvariantCulture);
            MemberName name = Name(i);
            return Task.FromResult<CohortIdentity?>(new CohortIdentity(name.Organisation, name.ClientId, _keys[i].PublicIdentity));
        }

        public void Dispose()
        {
            foreach (IdentitySigningKey key in _keys)
            {
                key.Dispose();
            }
        }
    }

    [GeneratedRegex(@"opened: \d+ clients, threshold (\d+), graph (\w+) degree (\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex RoundOpenedLine();

    [GeneratedRegex(@"phase (\w+) closed after ([0-9.,]+) s with (\d+) of (\d+) answers", RegexOptions.CultureInvariant)]
    private static partial Regex PhaseClosedLine();

    /// <summary>A temporary deployment: certificate, identities, allow-list, store, the coordinator process, the relay.</summary>
    private sealed class Deployment : IAsyncDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("sfr-netbench-").FullName;
        private readonly List<ClientIdentity> _identities = [];
        private readonly X509Certificate2 _certificate;
        private readonly RoundOptions _rounds;
        private readonly int _maxMessageBytes;
        private readonly List<(Phase Phase, double Seconds, int Answered, int Expected)> _phases = [];
        private readonly List<string> _log = [];
        private readonly Dictionary<Phase, long> _peakAfter = [];
        private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Process? _coordinator;

        private readonly Consortium _consortium;

        public Deployment(Consortium consortium, RoundOptions rounds, int maxMessageBytes)
        {
            _consortium = consortium;
            _rounds = rounds;
            _maxMessageBytes = maxMessageBytes;
            using X509Certificate2 certificate = DevCertificate.Create(["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
            DevCertificate.WritePem(certificate, Path.Combine(_directory, "coordinator.crt"), Path.Combine(_directory, "coordinator.key"));
            _certificate = X509CertificateLoader.LoadCertificate(certificate.RawData);
            for (int i = 0; i < consortium.Count; i++)
            {
                // The consortium keeps the key (disposing both is harmless: a key's Dispose is idempotent).
                _identities.Add(ClientIdentity.FromKey(consortium.Key(i)));
            }
        }

        public async Task<JsonObject> RunAsync(int dropped, Action<string> output, CancellationToken cancellationToken)
        {
            int n = _identities.Count;
            _progress = output;
            var roundsConfig = new Dictionary<string, object?>
            {
                ["CohortSize"] = _rounds.CohortSize,
                ["MinClients"] = _rounds.MinClients,
                ["Dimension"] = _rounds.Dimension,
                ["RecruitSeconds"] = _rounds.RecruitSeconds,
                ["MaxRounds"] = _rounds.MaxRounds,
                ["ThreatMode"] = _rounds.ThreatMode,
                ["AllowHonestButCurious"] = _rounds.AllowHonestButCurious,
            };
            var defaults = new RoundOptions();
            if (_rounds.PhaseSeconds != defaults.PhaseSeconds || _rounds.PhaseSecondsPerClient != defaults.PhaseSecondsPerClient)
            {
                // --phase-seconds: one deadline for every phase at every size; otherwise the coordinator's own defaults.
                roundsConfig["PhaseSeconds"] = _rounds.PhaseSeconds;
                roundsConfig["PhaseSecondsPerClient"] = _rounds.PhaseSecondsPerClient;
                roundsConfig["WaitingExpirySeconds"] = Math.Max(30, 3 * _rounds.PhaseSeconds);
            }

            var coordinator = new Dictionary<string, object?>
            {
                ["Port"] = 0,
                ["CertificatePath"] = "coordinator.crt",
                ["CertificateKeyPath"] = "coordinator.key",
                ["Store"] = "coordinator.db",
                ["MaxMessageBytes"] = _maxMessageBytes,
                ["Rounds"] = roundsConfig,
            };
            if (_consortium.Malicious)
            {
                File.WriteAllBytes(Path.Combine(_directory, "roster.json"), _consortium.RosterFileBytes);
                coordinator["Roster"] = new { Path = "roster.json", Authority = _consortium.AuthorityPin };
            }
            else
            {
                File.WriteAllLines(Path.Combine(_directory, "allow-list.txt"),
                    _identities.Select((id, i) => Convert.ToHexString(id.PublicKey) + " bench client " + i.ToString(CultureInfo.InvariantCulture)));
                coordinator["AllowListPath"] = "allow-list.txt";
            }

            string config = Path.Combine(_directory, "coordinator.json");
            File.WriteAllText(config, JsonSerializer.Serialize(new { Coordinator = coordinator }));
            _coordinator = StartCoordinator(config);
            Uri address = await WaitListeningAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            output($"coordinator: pid {_coordinator.Id} listening on {address}; memory environment {CoordinatorEnvironmentText()}");

            await using var relay = new LoopbackProxy(address.Port);
            var via = new Uri($"https://127.0.0.1:{relay.Port.ToString(CultureInfo.InvariantCulture)}");
            var clients = Enumerable.Range(0, n).Select(i => new FederationClient(new FederationClientOptions
            {
                Coordinator = via,
                Identity = _identities[i],
                Policy = Policy,
                LedgerPath = Path.Combine(_directory, $"client-{i.ToString(CultureInfo.InvariantCulture)}.ledger"),
                TrustedCertificate = _certificate,
                DisplayName = "bench client " + i.ToString(CultureInfo.InvariantCulture),
                InitialBackoff = TimeSpan.FromMilliseconds(50),
                CallTimeout = TimeSpan.FromSeconds(Math.Max(15, 2 * (_rounds.PhaseSeconds + (n * _rounds.PhaseSecondsPerClient)))),
                RosterAuthority = _consortium.Malicious ? (RosterPin.TryParse(_consortium.AuthorityPin, out RosterPin pin) ? pin : null) : null,
                Organisation = _consortium.Malicious ? Consortium.Name(i).Organisation : null,
                ClientId = _consortium.Malicious ? Consortium.Name(i).ClientId : null,
                MaxMessageBytes = _maxMessageBytes,
            })).ToList();
            try
            {
                // Enrolment and the model download are not part of the round: a client holds the model it trains on
                // before it joins (the SDK keeps the version it fetched, so the round does not download it again).
                using (var gate = new SemaphoreSlim(32))
                {
                    await Task.WhenAll(clients.Select(async c =>
                    {
                        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                        try
                        {
                            await c.EnrolAsync(cancellationToken).ConfigureAwait(false);
                            await c.GetModelAsync(0, cancellationToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            gate.Release();
                        }
                    })).ConfigureAwait(false);
                }

                relay.Reset();
                (double cpuBefore, _) = ReadCpu(_coordinator.Id);
                TimeSpan clientCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                using var silence = new CancellationTokenSource();
                var shareKeysClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _onPhaseClosed = p =>
                {
                    if (p == Phase.ShareKeys)
                    {
                        shareKeysClosed.TrySetResult();
                    }
                };
                long start = Stopwatch.GetTimestamp();
                var tasks = clients.Select((c, i) => RunClientAsync(c, i, i >= n - dropped ? shareKeysClosed.Task : null, cancellationToken)).ToArray();
                ClientRoundResult?[] results = await Task.WhenAll(tasks).ConfigureAwait(false);
                double clientSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                (double cpuAfter, double ticks) = ReadCpu(_coordinator.Id);
                double clientCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - clientCpuBefore).TotalSeconds;
                double cpuSeconds = (cpuAfter - cpuBefore) / ticks;
                long hwmKiB = ReadStatusKiB(_coordinator.Id, "VmHWM:");
                long rssKiB = ReadStatusKiB(_coordinator.Id, "VmRSS:");
                IReadOnlyList<(long Up, long Down)> wire = relay.Snapshot();
                ModelSnapshot model = await clients[0].GetModelAsync(0, cancellationToken).ConfigureAwait(false);

                int completed = results.Count(r => r?.Kind == RoundOutcomeKind.Completed);
                List<(Phase Phase, double Seconds, int Answered, int Expected)> phases;
                lock (_log)
                {
                    phases = [.. _phases];
                }

                double roundSeconds = phases.Sum(p => p.Seconds);
                output($"networked round: {completed} of {n} clients completed ({string.Join(", ", results.Where(r => r is not null && r.Kind != RoundOutcomeKind.Completed).Select(r => r!.Kind + ": " + r.Detail).Distinct().Take(3))}), model version {model.Version}");
                var phaseJson = new JsonArray();
                foreach ((Phase phase, double seconds, int answered, int expected) in phases)
                {
                    long peakKiB;
                    lock (_log)
                    {
                        peakKiB = _peakAfter.GetValueOrDefault(phase, -1);
                    }

                    output($"  phase {phase,-16} {seconds,9:F3} s  ({answered} of {expected} answered); coordinator peak RSS when it closed {peakKiB / 1024.0:F1} MiB");
                    phaseJson.Add(new JsonObject
                    {
                        ["phase"] = phase.ToString(),
                        ["seconds"] = seconds,
                        ["answered"] = answered,
                        ["expected"] = expected,
                        ["coordinatorPeakRssMiBAtClose"] = peakKiB < 0 ? null : peakKiB / 1024.0,
                    });
                }

                output($"  round (sum of phases, coordinator clock) {roundSeconds:F3} s; clients' view (join to result) {clientSeconds:F3} s");
                long[] up = wire.Select(w => w.Up).Where(b => b > 0).ToArray();
                long[] down = wire.Select(w => w.Down).Where(b => b > 0).ToArray();
                double meanUp = up.Length == 0 ? 0 : up.Sum() / (double)n;
                double meanDown = down.Length == 0 ? 0 : down.Sum() / (double)n;
                output($"  wire bytes per client (TLS, {wire.Count(w => w.Up > 0)} active connections): sent mean {meanUp:F0} B (max {(up.Length == 0 ? 0 : up.Max())}), received mean {meanDown:F0} B (max {(down.Length == 0 ? 0 : down.Max())}); reference: one d-vector of 32-bit words = {(long)_rounds.Dimension * 4} B");
                output($"  coordinator process: CPU {cpuSeconds:F3} s over the round (utime+stime), peak RSS {hwmKiB / 1024.0:F1} MiB (VmHWM), RSS now {rssKiB / 1024.0:F1} MiB");
                output($"  clients' process (the {n} SDK clients and the relay): CPU {clientCpuSeconds:F3} s over the round; coordinator graph {_graph} k = {_degree} t = {_threshold}");
                return new JsonObject
                {
                    ["completed"] = completed,
                    ["modelVersion"] = model.Version,
                    ["roundSeconds"] = roundSeconds,
                    ["clientSeconds"] = clientSeconds,
                    ["phases"] = phaseJson,
                    ["wireConnections"] = wire.Count(w => w.Up > 0),
                    ["meanBytesSentPerClient"] = meanUp,
                    ["meanBytesReceivedPerClient"] = meanDown,
                    ["maxBytesSentPerConnection"] = up.Length == 0 ? 0 : up.Max(),
                    ["maxBytesReceivedPerConnection"] = down.Length == 0 ? 0 : down.Max(),
                    ["coordinatorCpuSeconds"] = cpuSeconds,
                    ["coordinatorPeakRssMiB"] = hwmKiB / 1024.0,
                    ["coordinatorCpuSource"] = "/proc/PID/stat utime+stime delta of the child securefedrec coordinator process",
                    ["clientsCpuSeconds"] = clientCpuSeconds,
                    ["clientsCpuSource"] = "process CPU time delta of the benchmark process (the SDK clients and the byte-counting relay)",
                    ["graph"] = _graph,
                    ["degree"] = _degree,
                    ["threshold"] = _threshold,
                };
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
            }
        }

        private Action<Phase>? _onPhaseClosed;
        private string? _graph;
        private int? _degree;
        private int? _threshold;
        private Action<string>? _progress;

        private async Task<ClientRoundResult?> RunClientAsync(FederationClient client, int index, Task? goSilent, CancellationToken cancellationToken)
        {
            int d = _rounds.Dimension;
            if (goSilent is null)
            {
                return await client.RunRoundAsync(_ => Update(index, d), cancellationToken).ConfigureAwait(false);
            }

            // A dropped client: its process "dies" once ShareKeys has closed (it never sends its masked input).
            using var kill = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _ = goSilent.ContinueWith(_ => kill.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                return await client.RunRoundAsync(_ => Update(index, d), kill.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
            {
                return null;
            }
        }

        private static Process StartCoordinator(string config)
        {
            string host = Environment.ProcessPath ?? "dotnet";
            var start = new ProcessStartInfo(host)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                WorkingDirectory = Path.GetDirectoryName(config)!,
            };
            if (string.Equals(Path.GetFileNameWithoutExtension(host), "dotnet", StringComparison.OrdinalIgnoreCase))
            {
                // Run through the muxer: the same securefedrec.dll this benchmark runs from.
                start.ArgumentList.Add(Assembly.GetEntryAssembly()?.Location ?? throw new InvalidOperationException("No entry assembly to start the coordinator from."));
            }

            start.ArgumentList.Add("coordinator");
            start.ArgumentList.Add("--config");
            start.ArgumentList.Add(config);
            // The deployment's process-memory settings (deploy/Dockerfile, deploy/securefedrec-coordinator.service), so the
            // peak RSS measured here is the deployed coordinator's.
            foreach ((string name, string value) in EffectiveCoordinatorEnvironment())
            {
                start.Environment[name] = value;
            }
            return Process.Start(start) ?? throw new InvalidOperationException("Could not start the coordinator process.");
        }

        private async Task<Uri> WaitListeningAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            Process p = _coordinator!;
            p.OutputDataReceived += (_, e) => OnLine(e.Data);
            p.ErrorDataReceived += (_, e) => OnLine(e.Data);
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            Task done = await Task.WhenAny(_listening.Task, Task.Delay(timeout, cancellationToken), p.WaitForExitAsync(cancellationToken)).ConfigureAwait(false);
            if (done != _listening.Task)
            {
                string log;
                lock (_log)
                {
                    log = string.Join('\n', _log);
                }

                throw new InvalidOperationException("The coordinator did not start:\n" + log);
            }

            return await _listening.Task.ConfigureAwait(false);
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            Phase? closed = null;
            lock (_log)
            {
                if (_log.Count < 10_000)
                {
                    _log.Add(line);
                }

                Match opened = RoundOpenedLine().Match(line);
                if (opened.Success)
                {
                    _threshold = int.Parse(opened.Groups[1].Value, CultureInfo.InvariantCulture);
                    _graph = opened.Groups[2].Value;
                    _degree = int.Parse(opened.Groups[3].Value, CultureInfo.InvariantCulture);
                }

                Match m = PhaseClosedLine().Match(line);
                if (m.Success && Enum.TryParse(m.Groups[1].Value, out Phase phase) && MeasuredPhases.Contains(phase))
                {
                    _peakAfter[phase] = _coordinator is { HasExited: false } running ? ReadStatusKiB(running.Id, "VmHWM:") : -1;
                    _phases.Add((phase, double.Parse(m.Groups[2].Value.Replace(',', '.'), CultureInfo.InvariantCulture),
                        int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture)));
                    closed = phase;
                }
            }

            if (closed is { } c)
            {
                // Live, so that a round cut short (a timeout, Ctrl+C) still shows where its time went.
                _progress?.Invoke($"  [coordinator] {line.Trim()}");
                _onPhaseClosed?.Invoke(c);
            }

            const string prefix = "listening on ";
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                _listening.TrySetResult(new Uri(line[prefix.Length..].Trim()));
            }
        }

        /// <summary>utime + stime of a process in clock ticks, and the ticks per second (USER_HZ, 100 on Linux).</summary>
        private static (double Ticks, double PerSecond) ReadCpu(int pid)
        {
            string stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture), 100.0);
        }

        private static long ReadStatusKiB(int pid, string key)
        {
            foreach (string line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }

            return -1;
        }

        public async ValueTask DisposeAsync()
        {
            if (_coordinator is { } p)
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync().ConfigureAwait(false);
                }

                p.Dispose();
            }

            foreach (ClientIdentity id in _identities)
            {
                id.Dispose(); // the consortium's key: disposed again by the consortium, harmlessly
            }

            _certificate.Dispose();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // The OS temp cleaner takes it.
            }
        }
    }
}
