using SecureFedRec.Crypto;

namespace SecureFedRec.Roster;

/// <summary>
/// What an enrolment authority signs (<c>protocol-spec/roster.md</c> §2): the consortium, the roster's version and
/// validity, the authority's public key, the members and the revocations. Immutable; the canonical bytes are
/// <see cref="RosterEncoding.Encode"/>.
/// </summary>
/// <remarks>Construction does not validate (a parsed file may be malformed); <see cref="RosterEncoding.Validate"/> does, and
/// <see cref="RosterVerifier"/> refuses what it rejects. The member and revocation order is not significant: the canonical
/// encoding sorts them.</remarks>
/// <param name="Consortium">The consortium's identifier (roster.md §3 alphabet).</param>
/// <param name="Version">Roster version, ≥ 1, strictly increasing from one signed roster to the next.</param>
/// <param name="NotBefore">Start of the roster's validity (whole seconds, UTC).</param>
/// <param name="NotAfter">End of the roster's validity (exclusive).</param>
/// <param name="AuthoritySuite">Suite of the authority key.</param>
/// <param name="AuthorityPublicKey">The authority's public key (the one clients pin).</param>
/// <param name="Members">The enrolled members.</param>
/// <param name="Revocations">The revoked identities; a revoked key never appears among the members.</param>
public sealed record RosterContent(
    string Consortium,
    ulong Version,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    IdentitySuite AuthoritySuite,
    ReadOnlyMemory<byte> AuthorityPublicKey,
    IReadOnlyList<RosterMember> Members,
    IReadOnlyList<RosterRevocation> Revocations);

/// <summary>One enrolled member: an organisation's client and its identity key.</summary>
/// <param name="Organisation">The organisation (roster.md §3 alphabet); cohort policies count distinct organisations.</param>
/// <param name="ClientId">The client's id within the consortium (unique together with the organisation).</param>
/// <param name="Suite">Suite of the identity key.</param>
/// <param name="PublicKey">The identity public key (32 bytes Ed25519, 65 bytes SEC 1 P-256).</param>
/// <param name="NotBefore">Start of the member's validity.</param>
/// <param name="NotAfter">End of the member's validity (exclusive).</param>
public sealed record RosterMember(
    string Organisation,
    string ClientId,
    IdentitySuite Suite,
    ReadOnlyMemory<byte> PublicKey,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter)
{
    /// <summary><c>organisation/client-id</c>, for messages.</summary>
    public string Name => Organisation + "/" + ClientId;
}

/// <summary>A revoked identity: which member, which key, since when.</summary>
/// <param name="Organisation">The member's organisation.</param>
/// <param name="ClientId">The member's client id.</param>
/// <param name="Suite">Suite of the revoked key.</param>
/// <param name="PublicKey">The revoked key.</param>
/// <param name="RevokedAt">When the authority revoked it.</param>
public sealed record RosterRevocation(
    string Organisation,
    string ClientId,
    IdentitySuite Suite,
    ReadOnlyMemory<byte> PublicKey,
    DateTimeOffset RevokedAt)
{
    /// <summary><c>organisation/client-id</c>, for messages.</summary>
    public string Name => Organisation + "/" + ClientId;
}

/// <summary>What a verifier remembers of the last roster it accepted, to refuse rollbacks and equivocation
/// (<c>roster.md</c> §5 steps 9–10). Persist it next to the pinned authority key.</summary>
/// <param name="Version">The accepted roster's version.</param>
/// <param name="Digest">Lowercase hex SHA-256 of the accepted roster's canonical encoding.</param>
public sealed record RosterCheckpoint(ulong Version, string Digest);
