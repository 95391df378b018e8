using SecureFedRec.Crypto;

namespace SecureFedRec.Roster;

/// <summary>
/// The enrolment authority's side: create a draft, add and revoke members, sign. Used by <c>securefedrec roster</c> and
/// by tests; the authority key never has to be online anywhere else.
/// </summary>
/// <remarks>Stateless and thread-safe. Editing operations return a <see cref="RosterCheck"/> and the new content (the input is
/// never changed); they refuse what a verifier would refuse, so a signed roster is always one a verifier accepts until it
/// expires.</remarks>
public static class RosterAuthority
{
    /// <summary>An empty draft, version 1, bound to <paramref name="authorityKey"/>'s public key.</summary>
    /// <exception cref="ArgumentException"><paramref name="consortium"/> is not an identifier.</exception>
    public static RosterContent CreateDraft(string consortium, IdentitySigningKey authorityKey, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(authorityKey);
        if (!RosterEncoding.IsIdentifier(consortium))
        {
            throw new ArgumentException("The consortium name is 1..64 characters of [a-z0-9._-], starting with a letter or digit.", nameof(consortium));
        }

        DateTimeOffset start = TruncateToSecond(now);
        return new RosterContent(consortium, 1, start, start.AddDays(30), authorityKey.Suite, authorityKey.ExportPublicKey(), [], []);
    }

    /// <summary>Adds <paramref name="member"/>. Refuses an invalid member (<see cref="RosterRefusal.Malformed"/>,
    /// <see cref="RosterRefusal.InvalidPublicKey"/>…), a name or key already listed, and a revoked key.</summary>
    public static RosterCheck AddMember(RosterContent draft, RosterMember member, out RosterContent updated)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(member);
        updated = draft;
        RosterContent candidate = draft with { Members = [.. draft.Members, member] };
        RosterCheck check = RosterEncoding.Validate(candidate);
        if (check.Passed)
        {
            check = RosterEncoding.CheckConsistency(candidate);
        }

        if (check.Passed)
        {
            updated = candidate;
        }

        return check;
    }

    /// <summary>Revokes member <paramref name="organisation"/>/<paramref name="clientId"/> at <paramref name="at"/>: removes it
    /// from the members and records its key among the revocations. <see cref="RosterRefusal.NotInRoster"/> if not a member.</summary>
    public static RosterCheck Revoke(RosterContent draft, string organisation, string clientId, DateTimeOffset at, out RosterContent updated)
    {
        ArgumentNullException.ThrowIfNull(draft);
        updated = draft;
        RosterMember? member = draft.Members.FirstOrDefault(m => m.Organisation == organisation && m.ClientId == clientId);
        if (member is null)
        {
            return new RosterCheck(RosterRefusal.NotInRoster, $"{organisation}/{clientId}: not a member of the draft");
        }

        var revocation = new RosterRevocation(member.Organisation, member.ClientId, member.Suite, member.PublicKey, TruncateToSecond(at));
        updated = draft with
        {
            Members = [.. draft.Members.Where(m => !ReferenceEquals(m, member))],
            Revocations = [.. draft.Revocations, revocation],
        };
        return RosterCheck.Ok;
    }

    /// <summary>Signs <paramref name="content"/> with <paramref name="authorityKey"/>: the signature over
    /// <see cref="RosterEncoding.Encode"/> (Ed25519: PureEdDSA over the bytes; P-256: ECDSA over their SHA-256, RFC 6979).</summary>
    /// <exception cref="ArgumentException">The content is invalid or inconsistent, or names another authority key.</exception>
    public static RosterDocument Sign(RosterContent content, IdentitySigningKey authorityKey)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(authorityKey);
        if (content.AuthoritySuite != authorityKey.Suite || !content.AuthorityPublicKey.Span.SequenceEqual(authorityKey.PublicKey))
        {
            throw new ArgumentException("The draft names another authority key than the one signing it.", nameof(authorityKey));
        }

        RosterCheck check = RosterEncoding.Validate(content);
        if (check.Passed)
        {
            check = RosterEncoding.CheckConsistency(content);
        }

        if (!check.Passed)
        {
            throw new ArgumentException("Refusing to sign: " + check, nameof(content));
        }

        byte[] signature = authorityKey.Sign(RosterEncoding.Encode(content));
        return new RosterDocument(content, signature);
    }

    /// <summary><paramref name="time"/> in UTC, truncated to the second (the resolution of every roster time).</summary>
    public static DateTimeOffset TruncateToSecond(DateTimeOffset time) =>
        DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());
}
