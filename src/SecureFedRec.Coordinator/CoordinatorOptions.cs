namespace SecureFedRec.Coordinator;

/// <summary>
/// Configuration of a coordinator, bound from the <c>Coordinator</c> section of <c>appsettings.json</c>, then
/// environment variables (<c>SECUREFEDREC_Coordinator__Rounds__CohortSize=20</c>), then command-line flags.
/// Documented for operators in docs/operators.md.
/// </summary>
/// <remarks>Validated once at start-up by <see cref="Validate"/>; immutable afterwards.</remarks>
public sealed class CoordinatorOptions
{
    /// <summary>Address to listen on (default 127.0.0.1).</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>TCP port (0: any free port, printed at start-up).</summary>
    public int Port { get; set; } = 7443;

    /// <summary>PEM certificate of the coordinator (required unless <see cref="InsecureDev"/>).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM PKCS#8 private key of the certificate.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>Plaintext HTTP/2 (h2c) for local development only. Off by default; set by <c>--insecure-dev</c>.</summary>
    public bool InsecureDev { get; set; }

    /// <summary>Store: <c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string StoreProvider { get; set; } = "sqlite";

    /// <summary>SQLite: the database file (default <c>coordinator.db</c>); PostgreSQL: the Npgsql connection string.</summary>
    public string Store { get; set; } = "coordinator.db";

    /// <summary>Allow-list: file with one enrolled client per line, <c>HEX_PUBLIC_KEY [display name]</c>.</summary>
    public string? AllowListPath { get; set; }

    /// <summary>Allow-list entries given inline (hex 65-byte SEC1 public keys).</summary>
    public IList<string> AllowList { get; } = [];

    /// <summary>Accepted clock difference for request signatures, seconds (default 120).</summary>
    public int AuthWindowSeconds { get; set; } = 120;

    /// <summary>Largest gRPC message, bytes (default 4 MiB).</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Round settings.</summary>
    public RoundOptions Rounds { get; set; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (!InsecureDev && (string.IsNullOrEmpty(CertificatePath) || string.IsNullOrEmpty(CertificateKeyPath)))
        {
            throw new ArgumentException("TLS is on by default: set CertificatePath and CertificateKeyPath (or --insecure-dev for local development).");
        }

        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException("Port must be in [0, 65535].");
        }

        if (StoreProvider is not ("sqlite" or "postgres"))
        {
            throw new ArgumentException("StoreProvider must be sqlite or postgres.");
        }

        if (AuthWindowSeconds is < 1 or > 3600)
        {
            throw new ArgumentException("AuthWindowSeconds must be in [1, 3600].");
        }

        if (MaxMessageBytes is < 1024 or > 256 * 1024 * 1024)
        {
            throw new ArgumentException("MaxMessageBytes must be in [1 KiB, 256 MiB].");
        }

        Rounds.Validate();
    }
}

/// <summary>Round orchestration settings (cohort, threshold, deadlines, vector, DP target).</summary>
public sealed class RoundOptions
{
    /// <summary>Most clients in a round's cohort (n).</summary>
    public int CohortSize { get; set; } = 10;

    /// <summary>Fewest waiting clients that open a round once <see cref="RecruitSeconds"/> passed (≥ threshold).</summary>
    public int MinClients { get; set; } = 3;

    /// <summary>Shamir threshold t as a fraction of the cohort, rounded up (default 0.6); at least 2.</summary>
    public double ThresholdFraction { get; set; } = 0.6;

    /// <summary>Model dimension d.</summary>
    public int Dimension { get; set; } = 16;

    /// <summary>
    /// The model stored as version 1 on a fresh store: <c>zeros</c> (default: d zeros) or <c>mf:ITEMS:FACTORS[:MEAN]</c>,
    /// a matrix-factorization item model (LocalRecommender layout) with item factors drawn N(0, 0.1²) from the system
    /// CSPRNG, item biases 0 and μ = MEAN (default 0); then <see cref="Dimension"/> must equal ITEMS·(FACTORS + 1) + 1.
    /// </summary>
    public string InitialModel { get; set; } = "zeros";

    /// <summary>Creates the initial model described by <see cref="InitialModel"/> (call <see cref="Validate"/> first).</summary>
    public double[] CreateInitialModel()
    {
        if (TryParseMf(out int items, out int factors, out double mean))
        {
            return Recommender.Federated.LocalRecommender.InitialModel(items, factors, Crypto.RandomSource.System, mean);
        }

        return new double[Dimension];
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
            throw new ArgumentException($"Rounds: InitialModel '{InitialModel}' must be zeros or mf:ITEMS:FACTORS[:MEAN] (ITEMS ≥ 1, FACTORS in 1..1024).");
        }

        return true;
    }

    /// <summary>Bits b of the aggregation modulus 2^b.</summary>
    public int Bits { get; set; } = 20;

    /// <summary>L2 clip norm of each client's update.</summary>
    public double Clip { get; set; } = 1.0;

    /// <summary>Target total ε over <see cref="PlannedRounds"/> rounds (planner input).</summary>
    public double TargetEpsilon { get; set; } = 10.0;

    /// <summary>δ of the DP guarantee.</summary>
    public double Delta { get; set; } = 1e-5;

    /// <summary>Rounds the DP budget is planned for.</summary>
    public int PlannedRounds { get; set; } = 10;

    /// <summary><c>HonestButCurious</c> (default) or <c>Malicious</c> (signed keys and consistency check).</summary>
    public string ThreatMode { get; set; } = "HonestButCurious";

    /// <summary>Deadline of each protocol phase, seconds.</summary>
    public double PhaseSeconds { get; set; } = 10;

    /// <summary>How long a round waits for <see cref="CohortSize"/> clients before it opens with ≥ <see cref="MinClients"/>, seconds.</summary>
    public double RecruitSeconds { get; set; } = 5;

    /// <summary>A waiting client that has not polled for this long is forgotten, seconds.</summary>
    public double WaitingExpirySeconds { get; set; } = 30;

    /// <summary>Stop after this many completed rounds (0: run until stopped).</summary>
    public int MaxRounds { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (CohortSize < 2 || MinClients < 2 || MinClients > CohortSize)
        {
            throw new ArgumentException("Rounds: need 2 ≤ MinClients ≤ CohortSize.");
        }

        if (ThresholdFraction is <= 0 or > 1)
        {
            throw new ArgumentException("Rounds: ThresholdFraction must be in (0, 1].");
        }

        if (Threshold(MinClients) > MinClients)
        {
            throw new ArgumentException("Rounds: the threshold of a minimal cohort exceeds MinClients.");
        }

        if (Dimension < 1 || Bits is < 8 or > 32 || !(Clip > 0) || !(TargetEpsilon > 0) || Delta is <= 0 or >= 1 || PlannedRounds < 1)
        {
            throw new ArgumentException("Rounds: Dimension ≥ 1, Bits in [8, 32], Clip > 0, TargetEpsilon > 0, Delta in (0, 1), PlannedRounds ≥ 1.");
        }

        if (InitialModel != "zeros")
        {
            if (!TryParseMf(out int items, out int factors, out _))
            {
                throw new ArgumentException($"Rounds: InitialModel '{InitialModel}' must be zeros or mf:ITEMS:FACTORS[:MEAN].");
            }

            long expected = ((long)items * (factors + 1)) + 1;
            if (expected != Dimension)
            {
                throw new ArgumentException($"Rounds: InitialModel {InitialModel} needs Dimension = {expected} (items·(factors + 1) + 1), not {Dimension}.");
            }
        }

        if (ThreatMode is not ("HonestButCurious" or "Malicious"))
        {
            throw new ArgumentException("Rounds: ThreatMode must be HonestButCurious or Malicious.");
        }

        if (!(PhaseSeconds > 0) || !(RecruitSeconds >= 0) || !(WaitingExpirySeconds > 0) || MaxRounds < 0)
        {
            throw new ArgumentException("Rounds: PhaseSeconds > 0, RecruitSeconds ≥ 0, WaitingExpirySeconds > 0, MaxRounds ≥ 0.");
        }
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
