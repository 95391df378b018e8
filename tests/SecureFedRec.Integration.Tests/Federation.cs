using System.Security.Cryptography.X509Certificates;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Roster;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Tls;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// A temporary deployment: dev certificate, an enrolment authority and its signed roster (client i is member
/// <c>org-i/client-i</c>; the first <c>members</c> clients are listed), the clients' identities (Ed25519), store
/// directory. <c>roster: false</c> gives the roster-less development deployment (allow-list) instead.
/// </summary>
internal sealed class Federation : IAsyncDisposable
{
    private readonly List<ClientIdentity> _identities = [];

    public Federation(int clients, int allowListed = -1, bool roster = true, IdentitySuite suite = IdentitySuite.Ed25519)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("sfr-fed-").FullName;
        using X509Certificate2 certificate = DevCertificate.Create(["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        CertificatePath = Path.Combine(Directory, "coordinator.crt");
        KeyPath = Path.Combine(Directory, "coordinator.key");
        DevCertificate.WritePem(certificate, CertificatePath, KeyPath);
        PublicCertificate = X509CertificateLoader.LoadCertificate(certificate.RawData);
        for (int i = 0; i < clients; i++)
        {
            _identities.Add(ClientIdentity.Generate(suite));
        }

        AllowListed = allowListed < 0 ? clients : allowListed;
        UsesRoster = roster;
        Authority = IdentitySigningKey.Generate(IdentitySuite.Ed25519);
        RosterPath = Path.Combine(Directory, "roster.json");
        if (roster)
        {
            WriteRoster(SignRoster(version: 1));
        }
    }

    public string Directory { get; }

    public string CertificatePath { get; }

    public string KeyPath { get; }

    public X509Certificate2 PublicCertificate { get; }

    /// <summary>Clients listed in the roster (or on the allow-list): the first AllowListed.</summary>
    public int AllowListed { get; }

    public bool UsesRoster { get; }

    /// <summary>The enrolment authority's key (held "offline" by the test).</summary>
    public IdentitySigningKey Authority { get; }

    /// <summary>The pinned authority, SUITE:HEX.</summary>
    public string AuthorityPin => IdentitySignature.NameOf(Authority.Suite) + ":" + Convert.ToHexStringLower(Authority.PublicKey);

    public string RosterPath { get; }

    public IReadOnlyList<ClientIdentity> Identities => _identities;

    public static string Organisation(int index) => "org-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string MemberId(int index) => "client-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The roster's members (the first AllowListed clients), optionally edited, signed by the authority.</summary>
    public RosterDocument SignRoster(ulong version, Func<RosterContent, RosterContent>? edit = null, DateTimeOffset? now = null)
    {
        DateTimeOffset at = RosterAuthority.TruncateToSecond(now ?? DateTimeOffset.UtcNow);
        RosterContent draft = RosterAuthority.CreateDraft("test-consortium", Authority, at.AddHours(-1)) with { Version = version, NotAfter = at.AddDays(1) };
        for (int i = 0; i < AllowListed; i++)
        {
            var member = new RosterMember(Organisation(i), MemberId(i), _identities[i].Suite, _identities[i].PublicKey, at.AddHours(-1), at.AddDays(1));
            RosterCheck added = RosterAuthority.AddMember(draft, member, out draft);
            Assert.True(added.Passed, added.ToString());
        }

        return RosterAuthority.Sign(edit is null ? draft : edit(draft), Authority);
    }

    public void WriteRoster(RosterDocument document) => File.WriteAllBytes(RosterPath, RosterFile.Format(document));

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
        if (UsesRoster)
        {
            options.Roster.Path = RosterPath;
            options.Roster.Authority = AuthorityPin;
        }
        else
        {
            foreach (ClientIdentity id in _identities.Take(AllowListed))
            {
                options.AllowList.Add(Convert.ToHexString(id.PublicKey));
            }
        }

        options.Rounds.CohortSize = 10;
        options.Rounds.MinClients = 4;
        options.Rounds.Dimension = 8;
        options.Rounds.PhaseSeconds = 4;
        options.Rounds.RecruitSeconds = 1;

        if (!UsesRoster)
        {
            // An allow-list deployment has no roster identities: honest-but-curious, opted in on both sides.
            options.Rounds.ThreatMode = "HonestButCurious";
            options.Rounds.AllowHonestButCurious = true;
        }

        rounds?.Invoke(options.Rounds);
        return options;
    }

    /// <summary>The coordinator JSON settings that admit these clients (roster or allow-list file), for process tests.</summary>
    public Dictionary<string, object> AdmissionSettings()
    {
        if (UsesRoster)
        {
            return new() { ["Roster"] = new { Path = "roster.json", Authority = AuthorityPin } };
        }

        File.WriteAllLines(Path.Combine(Directory, "allow-list.txt"), _identities.Take(AllowListed).Select((id, i) => Convert.ToHexString(id.PublicKey) + " institution " + i));
        return new() { ["AllowListPath"] = "allow-list.txt" };
    }

    /// <summary>Writes client <paramref name="index"/>'s key to client-INDEX.key and returns the client JSON settings that name
    /// its identity and roster membership.</summary>
    public Dictionary<string, object> IdentitySettings(int index)
    {
        string key = Path.Combine(Directory, $"client-{index}.key");
        if (!File.Exists(key))
        {
            _identities[index].WriteKeyFile(key);
        }

        var settings = new Dictionary<string, object> { ["IdentityKeyPath"] = $"client-{index}.key" };
        if (UsesRoster)
        {
            settings["RosterAuthority"] = AuthorityPin;
            settings["Organisation"] = Organisation(index);
            settings["ClientId"] = MemberId(index);
        }

        return settings;
    }

    public static ClientPrivacyPolicy Policy => new()
    {
        MaxTotalEpsilon = 100,
        Delta = 1e-5,
        MinNoiseMultiplier = 0,
        MaxClip = 10,
        AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.CuriousServer, ThreatMode.SemiMalicious },
        MinThresholdFraction = 0.5,
        AllowHonestButCurious = true,
        MinCohortSize = 2,
        MinThreshold = 2,
        MinDistinctOrganisations = 1,
    };

    public FederationClient Client(int index, Uri coordinator, string? organisation = null, string? memberId = null) =>
        new(ClientOptions(index, coordinator, organisation: organisation, memberId: memberId));

    /// <summary>Client <paramref name="index"/>'s SDK options: its identity, the pinned authority and its roster name.</summary>
    public FederationClientOptions ClientOptions(int index, Uri coordinator, ClientPrivacyPolicy? policy = null, string? ledger = null,
        int maxAttempts = 6, string? organisation = null, string? memberId = null) => new()
        {
            Coordinator = coordinator,
            Identity = _identities[index],
            Policy = policy ?? Policy,
            LedgerPath = ledger ?? Path.Combine(Directory, $"client-{index}.ledger"),
            TrustedCertificate = PublicCertificate,
            DisplayName = $"institution {index}",
            InitialBackoff = TimeSpan.FromMilliseconds(50),
            MaxAttempts = maxAttempts,
            RosterAuthority = UsesRoster ? (RosterPin.TryParse(AuthorityPin, out RosterPin pin) ? pin : null) : null,
            Organisation = UsesRoster ? organisation ?? Organisation(index) : null,
            ClientId = UsesRoster ? memberId ?? MemberId(index) : null,
        };

    public ValueTask DisposeAsync()
    {
        foreach (ClientIdentity id in _identities)
        {
            id.Dispose();
        }

        Authority.Dispose();
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
