using System.Security.Cryptography.X509Certificates;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Roster;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Tls;

namespace SecureFedRec.Attack.Tests;

/// <summary>
/// A deployment under attack: a dev certificate, an enrolment authority (held by the test, not the coordinator) and its
/// signed roster — institution i is member <c>org-i/client-i</c>, plus one revoked member — a coordinator on a real
/// Kestrel over TLS on 127.0.0.1 that serves the roster and whose round service is a <see cref="LyingCoordinator"/>, and
/// real SDK <see cref="FederationClient"/>s (pinned certificate and authority, signed requests, local ledger) in this
/// process. Malicious mode is the default; honest-but-curious rounds are the explicit opt-in on both sides.
/// </summary>
internal sealed class Deployment : IAsyncDisposable
{
    /// <summary>Cohort size n of every attack round (full graph).</summary>
    public const int Clients = 6;

    /// <summary>Dimension d of the model.</summary>
    public const int Dimension = 8;

    /// <summary>The revoked roster member (listed, then revoked by the authority).</summary>
    public const string RevokedOrganisation = "org-revoked";

    /// <summary>The revoked member's client id.</summary>
    public const string RevokedClientId = "client-revoked";

    private readonly List<ClientIdentity> _identities = [];
    private readonly List<FederationClient> _clients = [];
    private readonly IdentitySigningKey _authority = IdentitySigningKey.Generate(IdentitySuite.Ed25519);
    private CoordinatorHost? _host;

    private Deployment(string directory, X509Certificate2 certificate)
    {
        Directory = directory;
        PublicCertificate = certificate;
    }

    public string Directory { get; }

    public X509Certificate2 PublicCertificate { get; }

    public LyingCoordinator Coordinator { get; private set; } = null!;

    public CoordinatorHost Host => _host!;

    public IReadOnlyList<FederationClient> Sdk => _clients;

    /// <summary>The privacy policy every honest client holds.</summary>
    public static ClientPrivacyPolicy Policy => new()
    {
        MaxTotalEpsilon = 100,
        Delta = 1e-5,
        MinNoiseMultiplier = 0.1, // the plan of these rounds has z_t ≈ 0.35
        MaxClip = 10,
        AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.SemiMalicious, ThreatMode.CuriousServer },
        AllowHonestButCurious = true, // the honest-but-curious rows show what each attack gets without the defence
        MinThresholdFraction = 0.5,
    };

    public static string Organisation(int index) => "org-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string MemberId(int index) => "client-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The pinned authority (SUITE:HEX).</summary>
    public RosterPin AuthorityPin => new(_authority.Suite, _authority.PublicKey.ToArray());

    /// <summary>Starts the coordinator with <paramref name="script"/> and creates <see cref="Clients"/> enrolled SDK clients.</summary>
    public static async Task<Deployment> StartAsync(AttackScript script, Action<RoundOptions>? rounds = null, int clients = Clients, bool malicious = true)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("sfr-attack-").FullName;
        using X509Certificate2 certificate = DevCertificate.Create(["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        string certPath = Path.Combine(directory, "coordinator.crt");
        string keyPath = Path.Combine(directory, "coordinator.key");
        DevCertificate.WritePem(certificate, certPath, keyPath);
        var deployment = new Deployment(directory, X509CertificateLoader.LoadCertificate(certificate.RawData));
        var options = new CoordinatorOptions
        {
            ListenAddress = "127.0.0.1",
            Port = 0,
            CertificatePath = certPath,
            CertificateKeyPath = keyPath,
            Store = Path.Combine(directory, "coordinator.db"),
        };
        for (int i = 0; i < clients; i++)
        {
            deployment._identities.Add(ClientIdentity.Generate());
        }

        string rosterPath = Path.Combine(directory, "roster.json");
        File.WriteAllBytes(rosterPath, RosterFile.Format(deployment.SignRoster()));
        options.Roster.Path = rosterPath;
        options.Roster.Authority = deployment.AuthorityPin.ToString();

        options.Rounds.CohortSize = clients;
        options.Rounds.MinClients = clients;
        options.Rounds.ThresholdFraction = 0.5; // t = 3 of n = 6: the policy minimum t/n = 1/2
        options.Rounds.Dimension = Dimension;
        options.Rounds.PhaseSeconds = 5;
        options.Rounds.RecruitSeconds = 0.1;
        options.Rounds.TargetEpsilon = 50;
        options.Rounds.PlannedRounds = 5;
        options.Rounds.ThreatMode = malicious ? "Malicious" : "HonestButCurious";
        options.Rounds.AllowHonestButCurious = !malicious;
        rounds?.Invoke(options.Rounds);
        deployment._host = await CoordinatorHost.StartAsync(options, storeDecorator: null,
            roundServiceDecorator: inner => deployment.Coordinator = new LyingCoordinator(inner, script));
        for (int i = 0; i < clients; i++)
        {
            deployment._clients.Add(deployment.NewClient(i));
        }

        await Task.WhenAll(deployment._clients.Select(c => c.EnrolAsync()));
        return deployment;
    }

    /// <summary>The local update of institution <paramref name="index"/>: a fixed vector, distinct per institution.</summary>
    public static double[] UpdateOf(int index) =>
        Enumerable.Range(0, Dimension).Select(j => 0.3 * Math.Sin((index + 1) * (j + 1))).ToArray();

    /// <summary>Every client runs one round (client i with <see cref="UpdateOf"/>(i)); results in client order.</summary>
    public async Task<ClientRoundResult[]> RunRoundAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(40));
        return await Task.WhenAll(_clients.Select((c, i) => c.RunRoundAsync(_ => UpdateOf(i), cts.Token)));
    }

    /// <summary>The protocol number client <paramref name="index"/> was given in its latest round.</summary>
    public int NumberOf(int index) => Coordinator.NumberOf(_clients[index].ClientId);

    /// <summary>Gives client <paramref name="index"/> seeded DP randomness (so a test can recompute its encoded input).</summary>
    public void SeedNoise(int index, int seed) => _clients[index].NoiseRandom = DeterministicRandomSource.FromTestSeed((ulong)seed);

    /// <summary>The roster the authority signs: every institution, and a member it revoked.</summary>
    private RosterDocument SignRoster()
    {
        DateTimeOffset at = RosterAuthority.TruncateToSecond(DateTimeOffset.UtcNow);
        RosterContent draft = RosterAuthority.CreateDraft("attack-consortium", _authority, at.AddHours(-1)) with { Version = 1, NotAfter = at.AddDays(1) };
        for (int i = 0; i < _identities.Count; i++)
        {
            RosterCheck added = RosterAuthority.AddMember(draft, new RosterMember(Organisation(i), MemberId(i), _identities[i].Suite,
                _identities[i].PublicKey.ToArray(), at.AddHours(-1), at.AddDays(1)), out draft);
            Assert.True(added.Passed, added.ToString());
        }

        using (var revoked = ClientIdentity.Generate())
        {
            Assert.True(RosterAuthority.AddMember(draft, new RosterMember(RevokedOrganisation, RevokedClientId, revoked.Suite,
                revoked.PublicKey.ToArray(), at.AddHours(-1), at.AddDays(1)), out draft).Passed);
        }

        RosterCheck revocation = RosterAuthority.Revoke(draft, RevokedOrganisation, RevokedClientId, at.AddMinutes(-30), out draft);
        Assert.True(revocation.Passed, revocation.ToString());
        return RosterAuthority.Sign(draft, _authority);
    }

    private FederationClient NewClient(int index) => new(new FederationClientOptions
    {
        Coordinator = _host!.Address,
        Identity = _identities[index],
        Policy = Policy,
        LedgerPath = Path.Combine(Directory, $"client-{index}.ledger"),
        TrustedCertificate = PublicCertificate,
        DisplayName = $"institution {index}",
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        RosterAuthority = AuthorityPin,
        Organisation = Organisation(index),
        ClientId = MemberId(index),
    });

    public async ValueTask DisposeAsync()
    {
        _clients.ForEach(c => c.Dispose());
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _identities.ForEach(i => i.Dispose());
        _authority.Dispose();
        PublicCertificate.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file may still be held for a moment; the OS temp cleaner takes it.
        }
    }
}
