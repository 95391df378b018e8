using System.Security.Cryptography.X509Certificates;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Roster;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Client;

/// <summary>Settings of a <see cref="FederationClient"/>.</summary>
/// <remarks>Immutable once the client is built. The identity is owned by the caller (not disposed by the client).</remarks>
public sealed class FederationClientOptions
{
    /// <summary>The coordinator's address (https://host:port/; http:// only against an --insecure-dev coordinator).</summary>
    public required Uri Coordinator { get; init; }

    /// <summary>
    /// This client's one identity: its roster member key (<c>securefedrec keygen identity</c>; Ed25519 by default, ECDSA
    /// P-256 in the FIPS suite). It signs every request and, in a round, this client's advertised keys. Without a roster
    /// (<see cref="RosterAuthority"/> null) its public key must be on the coordinator's allow-list.
    /// </summary>
    public required ClientIdentity Identity { get; init; }

    /// <summary>
    /// The enrolment authority's key this client pins (<c>SUITE:HEX</c>, <see cref="RosterPin.TryParse"/>): the client
    /// fetches the coordinator's roster (Membership/GetRoster) and refuses — with a <see cref="RosterRefusedException"/>
    /// naming the rule, before any round key is made and before anything is charged — a roster this key did not sign, an
    /// expired one, one older than its checkpoint, or one in which this client is not a current member under
    /// <see cref="Organisation"/>/<see cref="ClientId"/> with <see cref="Identity"/>'s key. Null: a roster-less development
    /// deployment (allow-list; honest-but-curious rounds only).
    /// </summary>
    public RosterPin? RosterAuthority { get; init; }

    /// <summary>This client's organisation in the roster (required with <see cref="RosterAuthority"/>).</summary>
    public string? Organisation { get; init; }

    /// <summary>This client's id within its organisation in the roster (required with <see cref="RosterAuthority"/>). The
    /// fewest distinct organisations a cohort must span is the policy's <see cref="ClientPrivacyPolicy.MinDistinctOrganisations"/>.</summary>
    public string? ClientId { get; init; }

    /// <summary>
    /// The roster checkpoint file (version and digest of the last roster accepted; rollback and equivocation protection,
    /// roster.md §5 steps 9–10). Null: <see cref="LedgerPath"/> + <c>.roster</c>, beside the ledger. Keep it with the ledger:
    /// deleting it lets a coordinator serve an older roster once.
    /// </summary>
    public string? RosterCheckpointPath { get; init; }

    /// <summary>The local privacy policy every round is checked against before anything is sent.</summary>
    public required ClientPrivacyPolicy Policy { get; init; }

    /// <summary>Path of the local privacy ledger file (created if missing; charged before each contribution).</summary>
    public required string LedgerPath { get; init; }

    /// <summary>
    /// A coordinator certificate to pin (SHA-256 of the leaf): with it, exactly this certificate is accepted, whatever
    /// the machine's trust store says (a self-signed development certificate works, a TLS-inspection CA's does not).
    /// Null: <see cref="Pin"/>, or the machine's trust store alone.
    /// </summary>
    public X509Certificate2? TrustedCertificate { get; init; }

    /// <summary>A pin of the coordinator's identity (e.g. <see cref="CertificatePin.ParseSpki"/>); wins over <see cref="TrustedCertificate"/>.</summary>
    public CertificatePin? Pin { get; init; }

    /// <summary>Label sent at enrolment (≤ 128 UTF-8 bytes).</summary>
    public string DisplayName { get; init; } = string.Empty;

    /// <summary>
    /// The largest gRPC message this client sends or accepts (default 4 MiB, the coordinator's default): raise it together
    /// with the coordinator's <c>MaxMessageBytes</c> for models whose masked input or download does not fit.
    /// </summary>
    public int MaxMessageBytes { get; init; } = SecureFedRec.Wire.CoordinatorProtocol.DefaultMaxMessageBytes;

    /// <summary>Deadline of each RPC (default 15 s).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Attempts of one RPC on transient failures (UNAVAILABLE, DEADLINE_EXCEEDED), default 6.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>First backoff delay (default 200 ms); doubles per attempt up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Largest backoff delay (default 5 s).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long <see cref="FederationClient.RunRoundAsync"/> waits to be selected (default 10 min).</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Clock (tests).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
