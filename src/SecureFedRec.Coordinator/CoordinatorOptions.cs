using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using SecureFedRec.Configuration;

namespace SecureFedRec.Coordinator;

/// <summary>
/// Configuration of a coordinator, bound from the <c>Coordinator</c> section of <c>appsettings.json</c>, then
/// environment variables (<c>SECUREFEDREC_Coordinator__Rounds__CohortSize=20</c>), then command-line flags.
/// Documented for operators in docs/operators.md.
/// </summary>
/// <remarks>
/// Read strictly by <see cref="CoordinatorConfiguration.Load(string?, IEnumerable{KeyValuePair{string, string?}}?, IReadOnlyList{string}?)"/> (an unknown key or an unreadable value is an error naming
/// the setting and the nearest known key) and validated once at start-up by <see cref="Validate"/>, which reports every
/// broken rule at once; immutable afterwards. The reference table in docs/configuration.md is generated from this type.
/// </remarks>
public sealed class CoordinatorOptions : ISettingsRules
{
    /// <summary>Address to listen on (default 127.0.0.1).</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>TCP port (0: any free port, printed at start-up).</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 7443;

    /// <summary>PEM certificate of the coordinator (required unless <see cref="InsecureDev"/>).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM PKCS#8 private key of the certificate.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>Plaintext HTTP/2 (h2c) for local development only. Off by default; set by <c>--insecure-dev</c>.</summary>
    public bool InsecureDev { get; set; }

    /// <summary>Store: <c>sqlite</c> (default) or <c>postgres</c>.</summary>
    [AllowedValues("sqlite", "postgres")]
    public string StoreProvider { get; set; } = "sqlite";

    /// <summary>SQLite: the database file (default <c>coordinator.db</c>); PostgreSQL: the Npgsql connection string.</summary>
    [Required]
    public string Store { get; set; } = "coordinator.db";

    /// <summary>
    /// Allow-list (roster-less development deployments only, honest-but-curious threat model): file with one client per
    /// line, <c>HEX_PUBLIC_KEY [display name]</c> (Ed25519 32 bytes or SEC1 P-256 65 bytes). Not allowed together with
    /// <see cref="Roster"/>: with a roster, the roster alone decides who may call.
    /// </summary>
    public string? AllowListPath { get; set; }

    /// <summary>Allow-list entries given inline (hex 32-byte Ed25519 or 65-byte SEC1 P-256 public keys).</summary>
    public IList<string> AllowList { get; } = [];

    /// <summary>The signed roster this coordinator admits clients from and serves (Membership/GetRoster).</summary>
    public RosterOptions Roster { get; set; } = new();

    /// <summary>Transport limits: connections, streams, replay-nonce quotas.</summary>
    public LimitOptions Limits { get; set; } = new();

    /// <summary>Accepted clock difference for request signatures, seconds (default 120).</summary>
    [Range(1, 3600)]
    public int AuthWindowSeconds { get; set; } = 120;

    /// <summary>Largest gRPC message, bytes (default 4 MiB).</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Round settings.</summary>
    public RoundOptions Rounds { get; set; } = new();

    /// <summary>Chunked transfer of large client messages (protocol-spec/coordinator.md §7): upload size and memory bounds.</summary>
    public Transfer.TransferOptions Transfer { get; set; } = new();

    /// <summary>Operator keys (operator API) and the dashboard (docs/operators.md, "Run management").</summary>
    public Operations.OperatorOptions Operators { get; set; } = new();

    /// <summary>Trace export (OTLP) of round and phase spans.</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>
    /// Checks every rule of these settings and of <see cref="Rounds"/>; throws <see cref="ArgumentException"/> whose message
    /// lists each broken rule on its own line with its path (<c>Coordinator:Rounds:MinClients: …</c>). (Reading a
    /// configuration with <see cref="CoordinatorConfiguration"/> reports the same rules as a <see cref="ConfigurationException"/>.)
    /// </summary>
    public void Validate()
    {
        var problems = new SettingsProblems();
        StrictSettings.CheckRules(this, SettingNode.Describe(typeof(CoordinatorOptions), "Coordinator"), problems);
        if (!problems.IsEmpty)
        {
            // Exactly ArgumentException (the documented contract of Validate); one line per problem.
            throw new ArgumentException(string.Join(Environment.NewLine, problems.All));
        }
    }

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        problems.Require(IPAddress.TryParse(ListenAddress, out _), path + ":ListenAddress", $"'{ListenAddress}' is not an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::).");
        if (!InsecureDev)
        {
            problems.Require(!string.IsNullOrEmpty(CertificatePath), path + ":CertificatePath", "is required: TLS is on by default (set CertificatePath and CertificateKeyPath, or --insecure-dev for local development).");
            problems.Require(!string.IsNullOrEmpty(CertificateKeyPath), path + ":CertificateKeyPath", "is required: TLS is on by default (set CertificatePath and CertificateKeyPath, or --insecure-dev for local development).");
            problems.RequireFile(path + ":CertificatePath", CertificatePath);
            problems.RequireFile(path + ":CertificateKeyPath", CertificateKeyPath);
        }

        problems.RequireFile(path + ":AllowListPath", AllowListPath);
        for (int i = 0; i < AllowList.Count; i++)
        {
            string entry = AllowList[i];
            bool hex = ((entry.Length == 130 && entry.StartsWith("04", StringComparison.Ordinal)) || entry.Length == 64) && entry.All(Uri.IsHexDigit);
            problems.Require(hex, path + ":AllowList:" + i.ToString(CultureInfo.InvariantCulture), "is not an identity public key (64 hex digits Ed25519, or 130 hex digits starting 04 uncompressed P-256).");
        }

        if (Roster.IsConfigured && (!string.IsNullOrEmpty(AllowListPath) || AllowList.Count > 0))
        {
            problems.Add(path + ":AllowListPath", "cannot be combined with Coordinator:Roster: with a roster, only its current members are admitted (the allow-list is for roster-less development deployments).");
        }

        if (StoreProvider == "sqlite" && !string.IsNullOrEmpty(Store))
        {
            problems.RequireParentFolder(path + ":Store", Store);
        }
        else if (StoreProvider == "postgres" && !string.IsNullOrEmpty(Store))
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(Store);
            }
            catch (ArgumentException ex)
            {
                problems.Add(path + ":Store", "is not an Npgsql connection string (Host=…;Username=…;Database=…): " + ex.Message);
            }
        }
    }
}

/// <summary>
/// The signed roster (<c>protocol-spec/roster.md</c>) a coordinator admits clients from and serves: verified at start-up
/// against the pinned <see cref="Authority"/> (a bad roster stops the start with the refusal named, exit code 8).
/// </summary>
public sealed class RosterOptions : ISettingsRules
{
    /// <summary>The signed roster file (JSON, <c>securefedrec roster sign</c>). Set together with <see cref="Authority"/>.</summary>
    public string? Path { get; set; }

    /// <summary>The enrolment authority's public key, <c>SUITE:HEX</c> (what <c>securefedrec roster init</c> printed), pinned:
    /// a roster signed by any other key is refused.</summary>
    public string? Authority { get; set; }

    /// <summary>Allow only <c>ecdsa-p256-sha256</c> keys (authority and members), for a FIPS deployment.</summary>
    public bool Fips { get; set; }

    /// <summary>Whether a roster is configured (<see cref="Path"/> set).</summary>
    public bool IsConfigured => !string.IsNullOrEmpty(Path);

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        bool hasPath = !string.IsNullOrEmpty(Path);
        bool hasAuthority = !string.IsNullOrEmpty(Authority);
        problems.Require(hasPath || !hasAuthority, path + ":Path", "is required when Authority is set (the signed roster file).");
        problems.Require(hasAuthority || !hasPath, path + ":Authority", "is required when Path is set: the pinned authority key, " + SecureFedRec.Roster.RosterPin.Rule + ".");
        problems.RequireFile(path + ":Path", Path);
        if (hasAuthority)
        {
            bool ok = SecureFedRec.Roster.RosterPin.TryParse(Authority, out SecureFedRec.Roster.RosterPin pin);
            problems.Require(ok, path + ":Authority", $"'{Authority}' is not {SecureFedRec.Roster.RosterPin.Rule}.");
            problems.Require(!ok || !Fips || pin.Suite == Crypto.IdentitySuite.EcdsaP256Sha256, path + ":Authority", "is an ed25519 key, but Fips allows only ecdsa-p256-sha256.");
        }
    }
}

/// <summary>Transport limits of the coordinator's listener and of request authentication.</summary>
public sealed class LimitOptions
{
    /// <summary>Most concurrent TCP connections (Kestrel MaxConcurrentConnections; default 1000). One more is closed at accept.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 1000;

    /// <summary>Most concurrent HTTP/2 streams per connection (default 100; a stream above it is refused, UNAVAILABLE to gRPC).</summary>
    [Range(1, 10_000)]
    public int MaxStreamsPerConnection { get; set; } = 100;

    /// <summary>Most live replay nonces one client id holds, i.e. signed requests per client within the ±AuthWindowSeconds
    /// window (default 4096; above: RESOURCE_EXHAUSTED until old nonces age out).</summary>
    [Range(16, 10_000_000)]
    public int NoncesPerClient { get; set; } = 4096;

    /// <summary>Most live replay nonces in all (default 1,000,000; above: UNAVAILABLE).</summary>
    [Range(16, 100_000_000)]
    public int NonceCapacity { get; set; } = 1_000_000;

    /// <summary>
    /// Upload admission: most declared bytes of large request bodies (masked inputs, chunks; anything above 64 KiB) the
    /// coordinator reads and processes at once, at most one per client (default 8 MiB). Further uploads wait, in arrival
    /// order, until earlier ones are answered; they are never refused for it. One message larger than this is admitted
    /// alone. Bounds the coordinator's memory when a whole cohort uploads at the same moment.
    /// </summary>
    [Range(1_048_576, int.MaxValue)]
    public int MaxBufferedUploadBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Response admission: most bytes of large responses (anything above 64 KiB: a relayed key list, a model, a model
    /// range, the roster) the coordinator writes at once (default 16 MiB). Further such responses wait, in arrival order,
    /// until earlier ones have been handed to their connections; none is refused for it. One response larger than this is
    /// written alone. Bounds the coordinator's stream buffers when a whole cohort fetches the same broadcast at once.
    /// </summary>
    [Range(1_048_576, int.MaxValue)]
    public int MaxBufferedResponseBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// HTTP/2 receive window per stream, bytes (Kestrel InitialStreamWindowSize; default 65,535, the protocol's initial
    /// value): what the coordinator buffers of a request body that is waiting for upload admission. Raise it for clients
    /// on high-latency links (upload throughput per stream is about window / round-trip time), at the cost of up to this
    /// many bytes per waiting upload; the connection window is twice this.
    /// </summary>
    [Range(65_535, 16 * 1024 * 1024)]
    public int StreamReceiveWindowBytes { get; set; } = 65_535;
}

/// <summary>Round orchestration settings (cohort, threshold, deadlines, vector, DP target).</summary>
/// <remarks>Checked by <see cref="CoordinatorOptions.Validate"/>; <see cref="Validate"/> checks this section alone.</remarks>
public sealed class RoundOptions : ISettingsRules
{
    /// <summary>Most clients in a round's cohort (n).</summary>
    [Range(2, 1_000_000)]
    public int CohortSize { get; set; } = 10;

    /// <summary>Fewest waiting clients that open a round once <see cref="RecruitSeconds"/> passed (≥ threshold).</summary>
    [Range(2, 1_000_000)]
    public int MinClients { get; set; } = 3;

    /// <summary>Shamir threshold t as a fraction of the cohort, rounded up (default 0.6); at least 2.</summary>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double ThresholdFraction { get; set; } = 0.6;

    /// <summary>Model dimension d.</summary>
    [Range(1, 100_000_000)]
    public int Dimension { get; set; } = 16;

    /// <summary>
    /// The model stored as version 1 on a fresh store, which fixes the model the rounds train (docs/operators.md,
    /// "Recommender models"): <c>zeros</c> (default: d zeros); <c>mf:ITEMS:FACTORS[:MEAN]</c>, a matrix-factorization
    /// item model (LocalRecommender layout) with item factors drawn N(0, 0.1²) from the system CSPRNG, item biases 0 and
    /// μ = MEAN (default 0), with <see cref="Dimension"/> = ITEMS·(FACTORS + 1) + 1; or a ranking model —
    /// <c>bpr:ITEMS:K</c>, <c>ials:ITEMS:K</c>, <c>neural:ITEMS:K[:HIDDEN]</c>, <c>knn:ITEMS:M</c> (the
    /// <c>simulate --model</c> family; a model header names it to the clients) — with <see cref="Dimension"/> = the
    /// model's update length, which a start-up error states.
    /// </summary>
    [Required]
    public string InitialModel { get; set; } = "zeros";

    /// <summary>
    /// Server rule of the delta models (mf, bpr, neural): <c>FedAvg</c> (default: model + η·mean update) or <c>FedAdam</c>
    /// (Reddi et al. 2021). iALS and knn have their own rule (item factors solved from the summed statistics; the two
    /// item-Gram rounds) and accept only the default.
    /// </summary>
    [AllowedValues("FedAvg", "FedAdam")]
    public string ModelRule { get; set; } = "FedAvg";

    /// <summary>Server learning rate η of <see cref="ModelRule"/> (unset: 1 for FedAvg, 0.01 for FedAdam).</summary>
    [Range(0.0, 100.0, MinimumIsExclusive = true)]
    public double? ServerLearningRate { get; set; }

    /// <summary>The ranking model <see cref="InitialModel"/> names, or null (zeros, mf) (call <see cref="Validate"/> first).</summary>
    public Recommender.Federated.RankingModelSpec? RankingModel =>
        Recommender.Federated.RankingModelSpec.IsRankingForm(InitialModel) ? Recommender.Federated.RankingModelSpec.Parse(InitialModel) : null;

    /// <summary>Creates the initial model described by <see cref="InitialModel"/> (call <see cref="Validate"/> first).</summary>
    public double[] CreateInitialModel()
    {
        if (RankingModel is { } ranking)
        {
            return ranking.CreateInitialModel(Crypto.RandomSource.System);
        }

        if (TryParseMf(out int items, out int factors, out double mean))
        {
            return Recommender.Federated.LocalRecommender.InitialModel(items, factors, Crypto.RandomSource.System, mean);
        }

        return new double[Dimension];
    }

    /// <summary>The server's model-update rule for <see cref="InitialModel"/> and <see cref="ModelRule"/> (call <see cref="Validate"/> first).</summary>
    public Rounds.Server.IModelUpdateRule CreateModelRule()
    {
        Rounds.Server.IModelUpdateRule delta = ModelRule == "FedAdam"
            ? new Rounds.Server.FedAdamRule(ServerLearningRate ?? 0.01)
            : new Rounds.Server.FedAvgRule(ServerLearningRate ?? 1.0);
        if (RankingModel is { } ranking)
        {
            return ranking.CreateRule(ranking.IsDeltaModel ? delta : null);
        }

        return delta;
    }

    /// <summary>
    /// Why <paramref name="model"/> (the store's latest) is not a model of <see cref="InitialModel"/>, or null when it is:
    /// a coordinator restarted on an existing store with another model setting refuses to start.
    /// </summary>
    public string? ModelProblem(IReadOnlyList<double> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        double[] values = [.. model];
        Recommender.Federated.RankingModelSpec? found;
        try
        {
            found = Recommender.Federated.RankingModelSpec.FromModel(values);
        }
        catch (FormatException ex)
        {
            return "the store's model is not readable: " + ex.Message;
        }

        Recommender.Federated.RankingModelSpec? wanted = RankingModel;
        if (!Equals(found, wanted))
        {
            return $"the store's model is {(found is null ? "not a ranking model" : found.ToString())} ({values.Length} values), but InitialModel is {InitialModel}: use a fresh store for another model.";
        }

        return null;
    }

    private bool TryParseMf(out int items, out int factors, out double mean)
    {
        items = factors = 0;
        mean = 0;
        string[] parts = InitialModel.Split(':');
        if (parts[0] != "mf")
        {
            return false;
        }

        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length is < 3 or > 4
            || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, inv, out items) || items < 1
            || !int.TryParse(parts[2], System.Globalization.NumberStyles.None, inv, out factors) || factors is < 1 or > 1024
            || (parts.Length == 4 && (!double.TryParse(parts[3], System.Globalization.NumberStyles.Float, inv, out mean) || !double.IsFinite(mean))))
        {
            throw new ArgumentException($"'{InitialModel}' must be zeros or mf:ITEMS:FACTORS[:MEAN] (ITEMS ≥ 1, FACTORS in 1..1024, MEAN a finite number).");
        }

        return true;
    }

    /// <summary>Bits b of the aggregation modulus 2^b.</summary>
    [Range(8, 32)]
    public int Bits { get; set; } = 20;

    /// <summary>L2 clip norm of each client's update.</summary>
    [Range(0.0, double.PositiveInfinity, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double Clip { get; set; } = 1.0;

    /// <summary>Target total ε over <see cref="PlannedRounds"/> rounds (planner input).</summary>
    [Range(0.0, double.PositiveInfinity, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double TargetEpsilon { get; set; } = 10.0;

    /// <summary>δ of the DP guarantee.</summary>
    [Range(0.0, 1.0, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double Delta { get; set; } = 1e-5;

    /// <summary>Rounds the DP budget is planned for.</summary>
    [Range(1, 1_000_000)]
    public int PlannedRounds { get; set; } = 10;

    /// <summary>
    /// <c>Malicious</c> (default: every advertised key signed by its member's roster identity, the consistency round,
    /// 2t &gt; k + 1) or <c>HonestButCurious</c>, which does not protect inputs against a coordinator that lies about
    /// dropouts or the cohort and needs <see cref="AllowHonestButCurious"/> (logged as a warning every round).
    /// </summary>
    [AllowedValues("HonestButCurious", "Malicious")]
    public string ThreatMode { get; set; } = "Malicious";

    /// <summary>
    /// Explicit opt-in to <see cref="ThreatMode"/> = <c>HonestButCurious</c> (default false). Clients must opt in too
    /// (their policy's <c>allowHonestButCurious</c>), or they decline such rounds.
    /// </summary>
    public bool AllowHonestButCurious { get; set; }

    /// <summary>
    /// Base deadline of each protocol phase, seconds (default 10). The deadline of a phase in a round of n clients is
    /// its per-phase setting (<see cref="AdvertiseKeysSeconds"/> … <see cref="UnmaskingSeconds"/>) when set, else
    /// PhaseSeconds + n × <see cref="PhaseSecondsPerClient"/>.
    /// </summary>
    [Range(0.0, 86_400.0, MinimumIsExclusive = true)]
    public double PhaseSeconds { get; set; } = 10;

    /// <summary>
    /// Seconds added to every phase's deadline per cohort member (default 0.1: +100 s at n = 1,000; 0: fixed deadlines).
    /// Generous on purpose: a phase closes as soon as every expected client has answered, or after
    /// <see cref="EarlyCloseIdleSeconds"/> of quiet once only the planned dropout is missing, so the deadline is only
    /// reached when more clients than planned are silent or slow.
    /// </summary>
    [Range(0.0, 3_600.0)]
    public double PhaseSecondsPerClient { get; set; } = 0.1;

    /// <summary>Deadline of the AdvertiseKeys phase, seconds (unset: the PhaseSeconds rule).</summary>
    [Range(0.0, 86_400.0, MinimumIsExclusive = true)]
    public double? AdvertiseKeysSeconds { get; set; }

    /// <summary>Deadline of the ShareKeys phase, seconds (unset: the PhaseSeconds rule).</summary>
    [Range(0.0, 86_400.0, MinimumIsExclusive = true)]
    public double? ShareKeysSeconds { get; set; }

    /// <summary>Deadline of the MaskedInput phase, seconds (unset: the PhaseSeconds rule).</summary>
    [Range(0.0, 86_400.0, MinimumIsExclusive = true)]
    public double? MaskedInputSeconds { get; set; }

    /// <summary>Deadline of the ConsistencyCheck phase (malicious mode), seconds (unset: the PhaseSeconds rule).</summary>
    [Range(0.0, 86_400.0, MinimumIsExclusive = true)]
    public double? ConsistencyCheckSeconds { get; set; }

    /// <summary>Deadline of the Unmasking phase, seconds (unset: the PhaseSeconds rule).</summary>
    [Range(0.0, 86_400.0, MinimumIsExclusive = true)]
    public double? UnmaskingSeconds { get; set; }

    /// <summary>
    /// Early close after quiet, seconds (default 2; 0: never): a phase from ShareKeys on (AdvertiseKeys and RelabelReveal
    /// always wait for every member: one missing there aborts a Harary round's relabelling) closes before its deadline once no client message
    /// has arrived for this long and the clients that would then be out of the round (those that have not answered the
    /// phase and those dropped before it) are at most ⌊<see cref="DropoutFraction"/> × n⌋, the dropout the round's graph
    /// and threshold are planned for. With that many silent clients a phase then waits this long, not a whole deadline.
    /// </summary>
    [Range(0.0, 3_600.0)]
    public double EarlyCloseIdleSeconds { get; set; } = 2;

    /// <summary>
    /// Neighbour graph: <c>Auto</c> (default: the complete graph below <see cref="HararyFromClients"/> clients, a SecAgg+
    /// Harary graph from the graph parameter finder at or above it), <c>Full</c> (always complete) or <c>Harary</c>
    /// (always the finder's choice, which falls back to the complete graph where no sparser graph is secure).
    /// </summary>
    [AllowedValues("Auto", "Full", "Harary")]
    public string Graph { get; set; } = "Auto";

    /// <summary>With <see cref="Graph"/> Auto, cohorts of at least this many clients use a Harary graph (default 500).</summary>
    [Range(2, 1_000_000)]
    public int HararyFromClients { get; set; } = 500;

    /// <summary>Harary graphs: largest fraction of clients assumed to collude with the coordinator (γ, default 0.1).</summary>
    [Range(0.0, 1.0, MaximumIsExclusive = true)]
    public double CollusionFraction { get; set; } = 0.1;

    /// <summary>Harary graphs: largest fraction of clients assumed to drop out of a round (δ, default 0.1); also the most a phase may leave out when it closes early (<see cref="EarlyCloseIdleSeconds"/>).</summary>
    [Range(0.0, 1.0, MaximumIsExclusive = true)]
    public double DropoutFraction { get; set; } = 0.1;

    /// <summary>How long a round waits for <see cref="CohortSize"/> clients before it opens with ≥ <see cref="MinClients"/>, seconds.</summary>
    [Range(0.0, 86_400.0)]
    public double RecruitSeconds { get; set; } = 5;

    /// <summary>A waiting client that has not polled for this long is forgotten, seconds.</summary>
    [Range(0.0, 86_400.0, MinimumIsExclusive = true)]
    public double WaitingExpirySeconds { get; set; } = 30;

    /// <summary>Stop after this many completed rounds (0: run until stopped).</summary>
    [Range(0, int.MaxValue)]
    public int MaxRounds { get; set; }

    /// <summary>Checks this section alone; throws <see cref="ArgumentException"/> listing every broken rule, one per line.</summary>
    public void Validate()
    {
        var problems = new SettingsProblems();
        StrictSettings.CheckRules(this, SettingNode.Describe(typeof(RoundOptions), "Coordinator:Rounds"), problems);
        if (!problems.IsEmpty)
        {
            // Exactly ArgumentException (the documented contract of Validate); one line per problem.
            throw new ArgumentException(string.Join(Environment.NewLine, problems.All));
        }
    }

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        // Cross-setting rules only between values that are each in range (else the range problem says it all).
        if (!problems.IsMalformed(path + ":MinClients") && !problems.IsMalformed(path + ":CohortSize") && CohortSize >= 2 && MinClients >= 2)
        {
            problems.Require(MinClients <= CohortSize, path + ":MinClients", $"{MinClients} exceeds CohortSize {CohortSize} (a round never has more than CohortSize clients).");
        }

        if (ThreatMode == "HonestButCurious" && !AllowHonestButCurious)
        {
            problems.Add(path + ":ThreatMode", "HonestButCurious does not protect inputs against a coordinator that lies about dropouts or the cohort; set AllowHonestButCurious = true to opt in explicitly (clients must opt in too), or use Malicious.");
        }

        // A cohort that would use a Harary graph must have a secure one at the configured fractions.
        if ((Graph == "Harary" || (Graph == "Auto" && CohortSize >= HararyFromClients)) && !problems.IsMalformed(path + ":Graph") && !problems.IsMalformed(path + ":CollusionFraction")
            && !problems.IsMalformed(path + ":DropoutFraction") && !problems.IsMalformed(path + ":HararyFromClients")
            && !problems.IsMalformed(path + ":CohortSize") && CohortSize >= 2)
        {
            try
            {
                _ = Protocol.Graph.GraphParameterFinder.Find(CohortSize,
                    CollusionFraction, DropoutFraction,
                    ThreatMode == "Malicious" ? Protocol.Graph.ThreatModel.SemiMalicious : Protocol.Graph.ThreatModel.HonestButCurious);
            }
            catch (ArgumentException ex)
            {
                problems.Add(path + ":DropoutFraction", $"with CollusionFraction {CollusionFraction.ToString(CultureInfo.InvariantCulture)} no secure neighbour graph exists: " + FirstLine(ex.Message));
            }
        }

        if (InitialModel != "zeros" && !problems.IsMalformed(path + ":InitialModel"))
        {
            CheckModelRules(path, problems);
        }
    }

    private void CheckModelRules(string path, SettingsProblems problems)
    {
        bool dimensionKnown = !problems.IsMalformed(path + ":Dimension");
        if (Recommender.Federated.RankingModelSpec.IsRankingForm(InitialModel))
        {
            Recommender.Federated.RankingModelSpec spec;
            try
            {
                spec = Recommender.Federated.RankingModelSpec.Parse(InitialModel);
            }
            catch (FormatException ex)
            {
                problems.Add(path + ":InitialModel", ex.Message);
                return;
            }

            problems.Require(!dimensionKnown || Dimension == spec.UpdateDimension, path + ":Dimension",
                $"{Dimension} does not fit InitialModel {InitialModel}: its updates have {spec.UpdateDimension} values, so Dimension = {spec.UpdateDimension} (the model itself has {spec.ModelLength}).");
            problems.Require(spec.IsDeltaModel || (ModelRule == "FedAvg" && ServerLearningRate is null), path + ":ModelRule",
                $"{spec.Kind.ToString().ToLowerInvariant()} sums statistics and has its own rule; ModelRule and ServerLearningRate apply to the delta models (mf, bpr, neural): leave them unset.");
            problems.Require(spec.Kind != Recommender.Ranking.RankingModelKind.Knn || MaxRounds == 2, path + ":MaxRounds",
                $"{MaxRounds}: knn trains in exactly two rounds (DP popularity, then the candidate Gram): set MaxRounds = 2.");
            return;
        }

        try
        {
            if (!TryParseMf(out int items, out int factors, out _))
            {
                problems.Add(path + ":InitialModel", $"'{InitialModel}' must be zeros, mf:ITEMS:FACTORS[:MEAN] or one of {Recommender.Federated.RankingModelSpec.Forms}.");
            }
            else if (((long)items * (factors + 1)) + 1 is long expected && expected != Dimension && dimensionKnown)
            {
                problems.Add(path + ":Dimension", $"{Dimension} does not fit InitialModel {InitialModel}: it needs Dimension = {expected} (items·(factors + 1) + 1).");
            }
        }
        catch (ArgumentException ex)
        {
            problems.Add(path + ":InitialModel", ex.Message);
        }
    }

    /// <summary>The deadline rule's per-phase settings that are set, by phase name.</summary>
    public IReadOnlyDictionary<string, double> PhaseOverrides()
    {
        var set = new Dictionary<string, double>(StringComparer.Ordinal);
        void Add(string name, double? value)
        {
            if (value is { } v)
            {
                set[name] = v;
            }
        }

        Add("AdvertiseKeys", AdvertiseKeysSeconds);
        Add("ShareKeys", ShareKeysSeconds);
        Add("MaskedInput", MaskedInputSeconds);
        Add("ConsistencyCheck", ConsistencyCheckSeconds);
        Add("Unmasking", UnmaskingSeconds);
        return set;
    }

    private static string FirstLine(string message)
    {
        int end = message.IndexOf(" (Parameter", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }

    /// <summary>The threshold t for a cohort of <paramref name="cohort"/> clients.</summary>
    public int Threshold(int cohort)
    {
        int t = (int)Math.Ceiling(ThresholdFraction * cohort);
        if (ThreatMode == "Malicious")
        {
            // The protocol needs 2t > n (a strict majority) against a malicious coordinator.
            t = Math.Max(t, (cohort / 2) + 1);
        }

        return Math.Clamp(t, 2, cohort);
    }
}
