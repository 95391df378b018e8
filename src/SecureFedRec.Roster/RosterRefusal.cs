namespace SecureFedRec.Roster;

/// <summary>
/// The closed vocabulary of reasons to refuse a roster, a member or a cohort (<c>protocol-spec/roster.md</c> §6). The
/// names are normative (they are what the vectors, the CLI and logs print); the numbers are not.
/// </summary>
public enum RosterRefusal
{
    /// <summary>Not a refusal: the check passed.</summary>
    None = 0,

    // --- the roster file (RosterVerifier.Verify, in the order of roster.md §5) ---

    /// <summary>Not a roster: too large, not JSON, a missing, duplicated, unknown or ill-typed field, bad hex, a
    /// truncated key or signature, an identifier outside its alphabet, an impossible time window.</summary>
    Malformed,

    /// <summary>The <c>format</c> field names a format this implementation does not know.</summary>
    UnsupportedFormat,

    /// <summary>A suite name (the authority's or a member's) that is not <c>ed25519</c> or <c>ecdsa-p256-sha256</c>, or a
    /// suite the verifier's policy does not allow.</summary>
    UnsupportedSuite,

    /// <summary>A public key of the right length that is not a valid point of its suite.</summary>
    InvalidPublicKey,

    /// <summary>The roster is signed by (claims) an authority key other than the pinned one.</summary>
    UnknownAuthority,

    /// <summary>The signature does not verify over the canonical encoding under the pinned authority key.</summary>
    BadSignature,

    /// <summary>Two members with the same organisation and client id.</summary>
    DuplicateMember,

    /// <summary>One public key listed twice (two members, or twice among revocations).</summary>
    DuplicateKey,

    /// <summary>A member whose key is also listed as revoked.</summary>
    RevokedMemberListed,

    /// <summary>The roster's own validity starts after now.</summary>
    RosterNotYetValid,

    /// <summary>The roster's own validity ended at or before now.</summary>
    RosterExpired,

    /// <summary>The roster's version is older than the last one this verifier accepted (a rollback).</summary>
    Rollback,

    /// <summary>Same version as the last one accepted but different content: the authority (or its key) signed two
    /// rosters with one version.</summary>
    VersionConflict,

    // --- one member (VerifiedRoster.CheckMember) ---

    /// <summary>No member with this organisation and client id.</summary>
    NotInRoster,

    /// <summary>The member's key (or its organisation and client id, with no current entry) is revoked.</summary>
    Revoked,

    /// <summary>The member's validity starts after now.</summary>
    MemberNotYetValid,

    /// <summary>The member's validity ended at or before now.</summary>
    MemberExpired,

    /// <summary>The key presented for a member is not the one the roster lists.</summary>
    KeyMismatch,

    // --- a cohort (CohortPolicy.Check) ---

    /// <summary>The cohort is empty.</summary>
    EmptyCohort,

    /// <summary>One member (organisation + client id) appears twice in the cohort.</summary>
    DuplicateCohortMember,

    /// <summary>Fewer distinct organisations in the cohort than the policy minimum.</summary>
    TooFewOrganisations,
}

/// <summary>The outcome of a check: <see cref="Refusal"/> (<see cref="RosterRefusal.None"/> when it passed) and a one-line
/// <see cref="Detail"/> naming the rule and the element that failed (never a key's secret, only public data).</summary>
/// <param name="Refusal">Why it was refused, or <see cref="RosterRefusal.None"/>.</param>
/// <param name="Detail">What failed, e.g. <c>"members[3]: organisation+client id bank-a/c1 listed twice"</c>.</param>
public readonly record struct RosterCheck(RosterRefusal Refusal, string Detail)
{
    /// <summary>The passing check.</summary>
    public static RosterCheck Ok { get; } = new(RosterRefusal.None, "ok");

    /// <summary>Whether the check passed.</summary>
    public bool Passed => Refusal == RosterRefusal.None;

    /// <inheritdoc />
    public override string ToString() => Passed ? "ok" : $"{Refusal}: {Detail}";
}
