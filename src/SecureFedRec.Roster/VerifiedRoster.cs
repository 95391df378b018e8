namespace SecureFedRec.Roster;

/// <summary>
/// A roster that passed <see cref="RosterVerifier.Verify"/>: lookups of members by name and by key, and the member check
/// of <c>protocol-spec/roster.md</c> §5.2. Only a verifier creates one, so holding one means the authority signed it.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class VerifiedRoster
{
    private readonly Dictionary<string, RosterMember> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RosterMember> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RosterRevocation> _revokedKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RosterRevocation> _revokedNames = new(StringComparer.Ordinal);

    internal VerifiedRoster(RosterContent content, string digest)
    {
        Content = content;
        Digest = digest;
        foreach (RosterMember m in content.Members)
        {
            _byName[m.Name] = m;
            _byKey[Convert.ToHexStringLower(m.PublicKey.Span)] = m;
        }

        foreach (RosterRevocation r in content.Revocations)
        {
            _revokedKeys[Convert.ToHexStringLower(r.PublicKey.Span)] = r;
            _revokedNames.TryAdd(r.Name, r);
        }

        Organisations = content.Members.Select(m => m.Organisation).Distinct(StringComparer.Ordinal).Count();
    }

    /// <summary>The signed content.</summary>
    public RosterContent Content { get; }

    /// <summary>Lowercase hex SHA-256 of the canonical encoding.</summary>
    public string Digest { get; }

    /// <summary>The roster's version.</summary>
    public ulong Version => Content.Version;

    /// <summary>Number of distinct organisations among the members.</summary>
    public int Organisations { get; }

    /// <summary>What to persist and pass back as <c>lastSeen</c> next time.</summary>
    public RosterCheckpoint Checkpoint => new(Content.Version, Digest);

    /// <summary>The member <paramref name="organisation"/>/<paramref name="clientId"/>, or null.</summary>
    public RosterMember? Find(string organisation, string clientId) =>
        _byName.GetValueOrDefault(organisation + "/" + clientId);

    /// <summary>The member holding <paramref name="publicKey"/>, or null.</summary>
    public RosterMember? FindByKey(ReadOnlySpan<byte> publicKey) =>
        _byKey.GetValueOrDefault(Convert.ToHexStringLower(publicKey));

    /// <summary>
    /// Checks one member at <paramref name="now"/>: listed (<see cref="RosterRefusal.NotInRoster"/>, or
    /// <see cref="RosterRefusal.Revoked"/> when the name is only among revocations), within its validity
    /// (<see cref="RosterRefusal.MemberNotYetValid"/>, <see cref="RosterRefusal.MemberExpired"/>), and, when
    /// <paramref name="presentedKey"/> is not empty, holding exactly that key (<see cref="RosterRefusal.Revoked"/> for a
    /// revoked key, <see cref="RosterRefusal.KeyMismatch"/> for another key).
    /// </summary>
    public RosterCheck CheckMember(string organisation, string clientId, DateTimeOffset now, ReadOnlySpan<byte> presentedKey, out RosterMember? member)
    {
        ArgumentNullException.ThrowIfNull(organisation);
        ArgumentNullException.ThrowIfNull(clientId);
        string name = organisation + "/" + clientId;
        member = _byName.GetValueOrDefault(name);
        if (!presentedKey.IsEmpty && _revokedKeys.TryGetValue(Convert.ToHexStringLower(presentedKey), out RosterRevocation? revokedKey))
        {
            member = null;
            return new RosterCheck(RosterRefusal.Revoked, $"{name}: the presented key was revoked at {RosterFile.FormatTime(revokedKey.RevokedAt)} (as {revokedKey.Name})");
        }

        if (member is null)
        {
            return _revokedNames.TryGetValue(name, out RosterRevocation? revoked)
                ? new RosterCheck(RosterRefusal.Revoked, $"{name}: revoked at {RosterFile.FormatTime(revoked.RevokedAt)} and not re-enrolled")
                : new RosterCheck(RosterRefusal.NotInRoster, $"{name}: not a member of roster version {Version}");
        }

        if (now < member.NotBefore)
        {
            return new RosterCheck(RosterRefusal.MemberNotYetValid, $"{name}: valid from {RosterFile.FormatTime(member.NotBefore)}");
        }

        if (now >= member.NotAfter)
        {
            return new RosterCheck(RosterRefusal.MemberExpired, $"{name}: expired at {RosterFile.FormatTime(member.NotAfter)}");
        }

        if (!presentedKey.IsEmpty && !presentedKey.SequenceEqual(member.PublicKey.Span))
        {
            return new RosterCheck(RosterRefusal.KeyMismatch, $"{name}: the presented key is not the roster's key for this member");
        }

        return RosterCheck.Ok;
    }
}
