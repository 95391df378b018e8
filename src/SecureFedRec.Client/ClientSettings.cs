using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using SecureFedRec.Configuration;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Roster;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Client;

/// <summary>
/// File configuration of <c>securefedrec client --config FILE</c>: section <c>Client</c> of an appsettings-style JSON
/// file, then <c>SECUREFEDREC_Client__…</c> environment variables (<c>SECUREFEDREC_Client__Policy__MaxTotalEpsilon=2</c>),
/// then configuration-style command-line arguments. Relative paths are relative to the file. See docs/integrators.md;
/// the reference table in docs/configuration.md is generated from this type.
/// </summary>
/// <remarks>
/// Strict: <see cref="Load(string)"/> refuses an unknown key (naming the nearest known key, e.g.
/// <c>Client:Policy:MaxTotalEpsilonn is not a setting; did you mean Client:Policy:MaxTotalEpsilon?</c>), an unreadable
/// value, and every broken rule, all at once in one <see cref="ConfigurationException"/>. Mutable only while binding;
/// <see cref="ToOptions"/> builds immutable SDK options. Depends on Microsoft.Extensions.Configuration, not on ASP.NET Core.
/// </remarks>
public sealed class ClientSettings : ISettingsRules
{
    /// <summary>Coordinator address, e.g. https://coordinator.example:7443/ (http:// only against an --insecure-dev coordinator).</summary>
    [Required]
    public string Coordinator { get; set; } = string.Empty;

    /// <summary>This client's one identity key: PKCS#8 PEM written by <c>securefedrec keygen identity</c> (Ed25519 default,
    /// <c>--suite ecdsa-p256-sha256</c> for FIPS; a <c>keygen client</c> P-256 key also works), the key the roster lists for
    /// <see cref="Organisation"/>/<see cref="ClientId"/>.</summary>
    [Required]
    public string IdentityKeyPath { get; set; } = "client.key";

    /// <summary>The enrolment authority's public key to pin, <c>SUITE:HEX</c> (what <c>securefedrec roster init</c> printed).
    /// Set: the client verifies the coordinator's roster against it before enrolling and before every round. Empty: a
    /// roster-less development deployment (the coordinator's allow-list; honest-but-curious rounds only).</summary>
    public string? RosterAuthority { get; set; }

    /// <summary>This client's organisation in the roster (required with <see cref="RosterAuthority"/>).</summary>
    public string? Organisation { get; set; }

    /// <summary>This client's id within its organisation in the roster (required with <see cref="RosterAuthority"/>).</summary>
    public string? ClientId { get; set; }

    /// <summary>Roster checkpoint file (rollback protection; default: LedgerPath + <c>.roster</c>). Keep it with the ledger.</summary>
    public string? RosterCheckpointPath { get; set; }

    /// <summary>
    /// Coordinator certificate to pin (PEM): exactly this certificate is accepted, whatever the machine's trust store
    /// says. Empty: <see cref="CoordinatorPublicKeyPin"/>, or the machine's trust store alone.
    /// </summary>
    public string? TrustedCertificatePath { get; set; }

    /// <summary>
    /// SHA-256 of the coordinator's SubjectPublicKeyInfo (64 hex digits or base64, RFC 7469 <c>pin-sha256</c>): a pin that
    /// survives re-issuing the certificate with the same key. Wins over <see cref="TrustedCertificatePath"/>.
    /// </summary>
    public string? CoordinatorPublicKeyPin { get; set; }

    /// <summary>Local privacy ledger file (created on first use; keep it: it is the budget's memory).</summary>
    [Required]
    public string LedgerPath { get; set; } = "client.ledger";

    /// <summary>Label sent at enrolment (at most 128 UTF-8 bytes).</summary>
    public string DisplayName { get; set; } = string.Empty;

    /// <summary>Local data of the bundled demo task: a JSON array of numbers, the institution's local vector (its update is that vector minus the model); unused in recommender mode.</summary>
    public string DataPath { get; set; } = "data.json";

    /// <summary>The local privacy policy every round is checked against.</summary>
    public PolicySettings Policy { get; set; } = new();

    /// <summary>How long the client waits for its coordinator (retries, backoff, progress in the log, join timeout).</summary>
    public PatienceSettings Patience { get; set; } = new();

    /// <summary>Recommender mode: when its <c>Ratings</c> or <c>Events</c> is set the client trains its <c>Model</c> (matrix factorization or a ranking model) instead of sending <see cref="DataPath"/>.</summary>
    public RecommenderSettings? Recommender { get; set; }

    /// <summary>The top-level sections a client's configuration may have besides <c>Client</c>.</summary>
    public static IReadOnlyList<string> OtherSections { get; } = ["Logging"];

    /// <summary>Loads and validates the settings of <paramref name="path"/> and the environment; throws <see cref="ConfigurationException"/> with every problem.</summary>
    public static ClientSettings Load(string path) => Load(new SettingsSources { JsonFile = path });

    /// <summary>Loads and validates the settings from <paramref name="sources"/>; throws <see cref="ConfigurationException"/> with every problem.</summary>
    public static ClientSettings Load(SettingsSources sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        return Load(sources.Build(), sources.JsonFile is null ? null : sources.BaseDirectory);
    }

    /// <summary>Reads and validates section <c>Client</c> of <paramref name="configuration"/>; relative paths are resolved against <paramref name="baseDirectory"/> (null: left as they are).</summary>
    public static ClientSettings Load(IConfiguration configuration, string? baseDirectory) =>
        SettingsLoader.Load<ClientSettings>(configuration, "Client", settings =>
        {
            if (baseDirectory is null)
            {
                return;
            }

            settings.IdentityKeyPath = Rebase(baseDirectory, settings.IdentityKeyPath)!;
            settings.TrustedCertificatePath = Rebase(baseDirectory, settings.TrustedCertificatePath);
            settings.LedgerPath = Rebase(baseDirectory, settings.LedgerPath)!;
            settings.RosterCheckpointPath = Rebase(baseDirectory, settings.RosterCheckpointPath);
            settings.DataPath = Rebase(baseDirectory, settings.DataPath)!;
            if (settings.Recommender is { } rec)
            {
                rec.Ratings = Rebase(baseDirectory, rec.Ratings);
                rec.Events = Rebase(baseDirectory, rec.Events);
            }
        }, OtherSections);

    private static string? Rebase(string dir, string? path) =>
        string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(dir, path));

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (!string.IsNullOrEmpty(Coordinator))
        {
            bool ok = Uri.TryCreate(Coordinator, UriKind.Absolute, out Uri? address) && (address.Scheme == Uri.UriSchemeHttps || address.Scheme == Uri.UriSchemeHttp);
            problems.Require(ok, path + ":Coordinator", $"'{Coordinator}' is not an https:// address (e.g. https://coordinator.example:7443/).");
        }

        problems.RequireFile(path + ":IdentityKeyPath", IdentityKeyPath);
        problems.RequireFile(path + ":TrustedCertificatePath", TrustedCertificatePath);
        problems.RequireParentFolder(path + ":LedgerPath", LedgerPath);
        if (!string.IsNullOrEmpty(RosterCheckpointPath))
        {
            problems.RequireParentFolder(path + ":RosterCheckpointPath", RosterCheckpointPath);
        }

        if (!string.IsNullOrEmpty(RosterAuthority))
        {
            problems.Require(RosterPin.TryParse(RosterAuthority, out _), path + ":RosterAuthority", $"'{RosterAuthority}' is not {RosterPin.Rule}.");
            problems.Require(RosterEncoding.IsIdentifier(Organisation), path + ":Organisation", $"is required with RosterAuthority: this client's organisation in the roster, 1..64 characters of [a-z0-9._-] starting with a letter or digit (got '{Organisation}').");
            problems.Require(RosterEncoding.IsIdentifier(ClientId), path + ":ClientId", $"is required with RosterAuthority: this client's id in the roster, 1..64 characters of [a-z0-9._-] starting with a letter or digit (got '{ClientId}').");
        }
        else
        {
            problems.Require(string.IsNullOrEmpty(Organisation), path + ":Organisation", "needs RosterAuthority (the pinned authority key): a roster name means nothing without a verified roster.");
            problems.Require(string.IsNullOrEmpty(ClientId), path + ":ClientId", "needs RosterAuthority (the pinned authority key): a roster name means nothing without a verified roster.");
        }
        problems.Require(System.Text.Encoding.UTF8.GetByteCount(DisplayName) <= 128, path + ":DisplayName", "is longer than 128 UTF-8 bytes.");
        if (Recommender is not { IsConfigured: true })
        {
            problems.Require(!string.IsNullOrEmpty(DataPath), path + ":DataPath", "is required unless Client:Recommender:Ratings or Client:Recommender:Events is set.");
            problems.RequireFile(path + ":DataPath", DataPath);
        }
    }

    /// <summary>Validates the settings and loads the key and certificate; <see cref="ArgumentException"/> names the bad setting.</summary>
    public FederationClientOptions ToOptions()
    {
        if (!Uri.TryCreate(Coordinator, UriKind.Absolute, out Uri? address) || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp))
        {
            throw new ConfigurationException($"Client:Coordinator: '{Coordinator}' is not an https:// address (e.g. https://coordinator.example:7443/).");
        }

        RosterPin? authority = null;
        if (!string.IsNullOrEmpty(RosterAuthority))
        {
            authority = RosterPin.TryParse(RosterAuthority, out RosterPin pinned)
                ? pinned
                : throw new ConfigurationException($"Client:RosterAuthority: '{RosterAuthority}' is not {RosterPin.Rule}.");
        }

        ClientIdentity identity;
        try
        {
            identity = ClientIdentity.FromKeyFile(IdentityKeyPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new ConfigurationException($"Client:IdentityKeyPath: {IdentityKeyPath} is not a readable PKCS#8 PEM identity key (securefedrec keygen identity writes one): {ex.Message}");
        }

        X509Certificate2? trusted = null;
        try
        {
            trusted = string.IsNullOrEmpty(TrustedCertificatePath) ? null : X509CertificateLoader.LoadCertificateFromFile(TrustedCertificatePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            identity.Dispose();
            throw new ConfigurationException($"Client:TrustedCertificatePath: {TrustedCertificatePath} is not a readable PEM or DER certificate: {ex.Message}");
        }

        CertificatePin? pin;
        try
        {
            pin = string.IsNullOrWhiteSpace(CoordinatorPublicKeyPin) ? null : CertificatePin.ParseSpki(CoordinatorPublicKeyPin);
        }
        catch (FormatException ex)
        {
            trusted?.Dispose();
            identity.Dispose();
            throw new ConfigurationException("Client:CoordinatorPublicKeyPin: " + ex.Message);
        }

        return new FederationClientOptions
        {
            Coordinator = address,
            Identity = identity,
            TrustedCertificate = trusted,
            Pin = pin,
            LedgerPath = LedgerPath,
            DisplayName = DisplayName,
            Patience = Patience.Patience,
            InitialBackoff = TimeSpan.FromSeconds(Patience.InitialBackoffSeconds),
            MaxBackoff = TimeSpan.FromSeconds(Patience.MaxBackoffSeconds),
            ProgressInterval = TimeSpan.FromSeconds(Patience.ProgressSeconds),
            JoinTimeout = TimeSpan.FromSeconds(Patience.JoinSeconds),
            CallTimeout = TimeSpan.FromSeconds(Patience.CallSeconds),
            RosterAuthority = authority,
            Organisation = authority is null ? null : Organisation,
            ClientId = authority is null ? null : ClientId,
            RosterCheckpointPath = RosterCheckpointPath,
            Policy = new ClientPrivacyPolicy
            {
                MaxTotalEpsilon = Policy.MaxTotalEpsilon,
                Delta = Policy.Delta,
                MinNoiseMultiplier = Policy.MinNoiseMultiplier,
                MaxClip = Policy.MaxClip,
                AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.CuriousServer, ThreatMode.SemiMalicious },
                MinThresholdFraction = Policy.MinThresholdFraction,
                AllowHonestButCurious = Policy.AllowHonestButCurious,
                MinCohortSize = Policy.MinCohortSize,
                MinThreshold = Policy.MinThreshold,
                MinDistinctOrganisations = Policy.MinDistinctOrganisations,
                MaxAbortedRounds = Policy.MaxAbortedRounds,
                AbortWindow = TimeSpan.FromHours(Policy.AbortWindowHours),
            },
        };
    }

    /// <summary>Reads the local vector (<see cref="DataPath"/>): a JSON array of finite numbers; <see cref="ConfigurationException"/> names the setting otherwise.</summary>
    public double[] LoadData()
    {
        double[]? data;
        try
        {
            data = System.Text.Json.JsonSerializer.Deserialize<double[]>(File.ReadAllText(DataPath));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            throw new ConfigurationException($"Client:DataPath: {DataPath} is not a readable JSON array of numbers: {ex.Message}");
        }

        if (data is null || data.Length == 0 || data.Any(v => !double.IsFinite(v)))
        {
            throw new ConfigurationException($"Client:DataPath: {DataPath}: expected a non-empty JSON array of finite numbers.");
        }

        return data;
    }
}
