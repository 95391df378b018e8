using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Client;

/// <summary>
/// File configuration of <c>securefedrec client --config FILE</c> (section <c>Client</c> of a JSON file, then
/// <c>SECUREFEDREC_Client__…</c> environment variables). Relative paths are relative to the file. See
/// docs/integrators.md.
/// </summary>
/// <remarks>Mutable only while binding; <see cref="ToOptions"/> validates and builds immutable SDK options.</remarks>
public sealed class ClientSettings
{
    /// <summary>Coordinator address, e.g. https://coordinator.example:7443/.</summary>
    public string Coordinator { get; set; } = string.Empty;

    /// <summary>PKCS#8 PEM identity key written by <c>securefedrec keygen client</c>.</summary>
    public string IdentityKeyPath { get; set; } = "client.key";

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

    /// <summary>Local privacy ledger file.</summary>
    public string LedgerPath { get; set; } = "client.ledger";

    /// <summary>Label sent at enrolment.</summary>
    public string DisplayName { get; set; } = string.Empty;

    /// <summary>Local data: a JSON array of numbers, the institution's local vector (its update is that vector minus the model).</summary>
    public string DataPath { get; set; } = "data.json";

    /// <summary>Largest total ε this institution spends.</summary>
    public double MaxTotalEpsilon { get; set; } = 10;

    /// <summary>δ at which ε is measured.</summary>
    public double Delta { get; set; } = 1e-5;

    /// <summary>Least central noise multiplier accepted.</summary>
    public double MinNoiseMultiplier { get; set; } = 0.5;

    /// <summary>Largest clip norm accepted.</summary>
    public double MaxClip { get; set; } = 10;

    /// <summary>Smallest accepted threshold fraction t/n.</summary>
    public double MinThresholdFraction { get; set; } = 0.5;

    /// <summary>Recommender mode (section <c>Client:Recommender</c>): when its <c>Ratings</c> is set the client trains matrix factorization instead of sending <see cref="DataPath"/>.</summary>
    public RecommenderSettings? Recommender { get; set; }

    /// <summary>Loads settings from <paramref name="path"/> and the environment.</summary>
    public static ClientSettings Load(string path)
    {
        string full = Path.GetFullPath(path);
        var settings = new ClientSettings();
        new ConfigurationBuilder().AddJsonFile(full, optional: false).AddEnvironmentVariables("SECUREFEDREC_").Build()
            .GetSection("Client").Bind(settings);
        string dir = Path.GetDirectoryName(full)!;
        settings.IdentityKeyPath = Rebase(dir, settings.IdentityKeyPath)!;
        settings.TrustedCertificatePath = Rebase(dir, settings.TrustedCertificatePath);
        settings.LedgerPath = Rebase(dir, settings.LedgerPath)!;
        settings.DataPath = Rebase(dir, settings.DataPath)!;
        if (settings.Recommender is { } rec)
        {
            rec.Ratings = Rebase(dir, rec.Ratings);
        }
        return settings;
    }

    private static string? Rebase(string dir, string? path) =>
        string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(dir, path));

    /// <summary>Validates the settings and loads the key and certificate; <see cref="ArgumentException"/> names the bad setting.</summary>
    public FederationClientOptions ToOptions()
    {
        if (!Uri.TryCreate(Coordinator, UriKind.Absolute, out Uri? address) || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("Client:Coordinator must be an https:// address.");
        }

        ClientIdentity identity = ClientIdentity.FromPem(File.ReadAllText(IdentityKeyPath));
        X509Certificate2? trusted = string.IsNullOrEmpty(TrustedCertificatePath) ? null : X509CertificateLoader.LoadCertificateFromFile(TrustedCertificatePath);
        CertificatePin? pin;
        try
        {
            pin = string.IsNullOrWhiteSpace(CoordinatorPublicKeyPin) ? null : CertificatePin.ParseSpki(CoordinatorPublicKeyPin);
        }
        catch (FormatException ex)
        {
            trusted?.Dispose();
            identity.Dispose();
            throw new ArgumentException("Client:CoordinatorPublicKeyPin: " + ex.Message, ex);
        }

        return new FederationClientOptions
        {
            Coordinator = address,
            Identity = identity,
            TrustedCertificate = trusted,
            Pin = pin,
            LedgerPath = LedgerPath,
            DisplayName = DisplayName,
            Policy = new ClientPrivacyPolicy
            {
                MaxTotalEpsilon = MaxTotalEpsilon,
                Delta = Delta,
                MinNoiseMultiplier = MinNoiseMultiplier,
                MaxClip = MaxClip,
                AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.CuriousServer },
                MinThresholdFraction = MinThresholdFraction,
            },
        };
    }

    /// <summary>Reads the local vector (<see cref="DataPath"/>): a JSON array of finite numbers.</summary>
    public double[] LoadData()
    {
        double[]? data = System.Text.Json.JsonSerializer.Deserialize<double[]>(File.ReadAllText(DataPath));
        if (data is null || data.Length == 0 || data.Any(v => !double.IsFinite(v)))
        {
            throw new FormatException(DataPath + ": expected a non-empty JSON array of finite numbers.");
        }

        return data;
    }
}
