using System.Security.Cryptography.X509Certificates;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Tls;

namespace SecureFedRec.Integration.Tests;

/// <summary>A temporary deployment: dev certificate, identities, allow-list, store directory.</summary>
internal sealed class Federation : IAsyncDisposable
{
    private readonly List<ClientIdentity> _identities = [];

    public Federation(int clients, int allowListed = -1)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("sfr-fed-").FullName;
        using X509Certificate2 certificate = DevCertificate.Create(["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        CertificatePath = Path.Combine(Directory, "coordinator.crt");
        KeyPath = Path.Combine(Directory, "coordinator.key");
        DevCertificate.WritePem(certificate, CertificatePath, KeyPath);
        PublicCertificate = X509CertificateLoader.LoadCertificate(certificate.RawData);
        for (int i = 0; i < clients; i++)
        {
            _identities.Add(ClientIdentity.Generate());
        }

        AllowListed = allowListed < 0 ? clients : allowListed;
    }

    public string Directory { get; }

    public string CertificatePath { get; }

    public string KeyPath { get; }

    public X509Certificate2 PublicCertificate { get; }

    public int AllowListed { get; }

    public IReadOnlyList<ClientIdentity> Identities => _identities;

    public CoordinatorOptions Options(Action<RoundOptions>? rounds = null)
    {
        var options = new CoordinatorOptions
        {
            ListenAddress = "127.0.0.1",
            Port = 0,
            CertificatePath = CertificatePath,
            CertificateKeyPath = KeyPath,
            Store = Path.Combine(Directory, "coordinator.db"),
        };
        foreach (ClientIdentity id in _identities.Take(AllowListed))
        {
            options.AllowList.Add(Convert.ToHexString(id.PublicKey));
        }

        options.Rounds.CohortSize = 10;
        options.Rounds.MinClients = 4;
        options.Rounds.Dimension = 8;
        options.Rounds.PhaseSeconds = 4;
        options.Rounds.RecruitSeconds = 1;

        // These federations' SDK clients have no roster identities yet: honest-but-curious, opted in on both sides.
        options.Rounds.ThreatMode = "HonestButCurious";
        options.Rounds.AllowHonestButCurious = true;
        rounds?.Invoke(options.Rounds);
        return options;
    }

    public static ClientPrivacyPolicy Policy => new()
    {
        MaxTotalEpsilon = 100,
        Delta = 1e-5,
        MinNoiseMultiplier = 0,
        MaxClip = 10,
        AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.CuriousServer },
        MinThresholdFraction = 0.5,
        AllowHonestButCurious = true,
        MinCohortSize = 2,
        MinThreshold = 2,
        MinDistinctOrganisations = 1,
    };

    public FederationClient Client(int index, Uri coordinator) => new(new FederationClientOptions
    {
        Coordinator = coordinator,
        Identity = _identities[index],
        Policy = Policy,
        LedgerPath = Path.Combine(Directory, $"client-{index}.ledger"),
        TrustedCertificate = PublicCertificate,
        DisplayName = $"institution {index}",
        InitialBackoff = TimeSpan.FromMilliseconds(50),
    });

    public ValueTask DisposeAsync()
    {
        foreach (ClientIdentity id in _identities)
        {
            id.Dispose();
        }

        PublicCertificate.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A killed process may still hold a file for a moment; the OS temp cleaner takes it.
        }

        return ValueTask.CompletedTask;
    }
}
