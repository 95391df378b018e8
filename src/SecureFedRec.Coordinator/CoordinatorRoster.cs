using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SecureFedRec.Crypto;
using SecureFedRec.Roster;

namespace SecureFedRec.Coordinator;

/// <summary>
/// The signed roster a coordinator admits clients from and serves (<c>protocol-spec/coordinator.md</c> §4): the exact file
/// bytes the authority signed, verified at start-up against the pinned authority (<see cref="RosterOptions.Authority"/>),
/// and an index from request client id (SHA-256 of a member's key) to member. The coordinator holds no authority key: it
/// cannot add, replace or resurrect a member, only serve what was signed — and clients verify that themselves.
/// </summary>
/// <remarks>
/// Thread-safe: the current roster is an immutable snapshot swapped atomically by <see cref="Refresh"/>, which re-reads the
/// file when its modification time changed and takes the new roster only if it verifies with the current one as the
/// checkpoint (no rollback, no equivocation); a refused file is logged and the old roster kept.
/// </remarks>
public sealed class CoordinatorRoster
{
    private readonly string _path;
    private readonly RosterVerifier _verifier;
    private Snapshot _current;

    private CoordinatorRoster(string path, RosterVerifier verifier, Snapshot current)
    {
        _path = path;
        _verifier = verifier;
        _current = current;
    }

    /// <summary>Reads and verifies the configured roster at <paramref name="now"/>.</summary>
    /// <exception cref="RosterRefusedException">The roster is refused (the rule of roster.md §5 named).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ArgumentException">The options name no roster or a malformed authority.</exception>
    public static CoordinatorRoster Load(RosterOptions options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsConfigured || !RosterPin.TryParse(options.Authority, out RosterPin pin))
        {
            throw new ArgumentException("Coordinator:Roster: Path and Authority (" + RosterPin.Rule + ") are required.", nameof(options));
        }

        IReadOnlySet<IdentitySuite>? allowed = options.Fips ? new HashSet<IdentitySuite> { IdentitySuite.EcdsaP256Sha256 } : null;
        RosterVerifier verifier = pin.CreateVerifier(allowed);
        Snapshot snapshot = Read(options.Path!, verifier, now, null);
        return new CoordinatorRoster(options.Path!, verifier, snapshot);
    }

    /// <summary>The current verified roster.</summary>
    public VerifiedRoster Roster => Volatile.Read(ref _current).Roster;

    /// <summary>The exact signed bytes of the current roster (what Membership/GetRoster serves; a shared read-only buffer).</summary>
    public ReadOnlyMemory<byte> FileBytes => Volatile.Read(ref _current).Bytes;

    /// <summary>The suite most members' keys use (the unknown-id path of authentication verifies in it).</summary>
    public IdentitySuite PredominantSuite
    {
        get
        {
            IReadOnlyList<RosterMember> members = Roster.Content.Members;
            int ed = members.Count(m => m.Suite == IdentitySuite.Ed25519);
            return ed * 2 >= members.Count ? IdentitySuite.Ed25519 : IdentitySuite.EcdsaP256Sha256;
        }
    }

    /// <summary>
    /// The member whose key hashes to <paramref name="clientId"/> if it may call at <paramref name="now"/>: the roster is
    /// within its validity and the member is listed, within its own validity and not revoked (roster.md §5.2); else null.
    /// </summary>
    public RosterMember? Admit(string clientId, DateTimeOffset now)
    {
        Snapshot s = Volatile.Read(ref _current);
        if (now < s.Roster.Content.NotBefore || now >= s.Roster.Content.NotAfter
            || !s.ByClientId.TryGetValue(clientId, out RosterMember? member))
        {
            return null;
        }

        return s.Roster.CheckMember(member.Organisation, member.ClientId, now, member.PublicKey.Span, out _).Passed ? member : null;
    }

    /// <summary>Re-reads the file if it changed since the last read; adopts it only if it verifies against the current
    /// roster as checkpoint (a refusal is logged to <paramref name="logger"/>). Returns whether a new roster was adopted.</summary>
    public bool Refresh(DateTimeOffset now, ILogger? logger = null)
    {
        Snapshot current = Volatile.Read(ref _current);
        DateTime written;
        try
        {
            written = File.GetLastWriteTimeUtc(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        if (written == current.WrittenAt)
        {
            return false;
        }

        try
        {
            Snapshot next = Read(_path, _verifier, now, current.Roster.Checkpoint);
            if (next.Roster.Digest == current.Roster.Digest)
            {
                Volatile.Write(ref _current, current with { WrittenAt = next.WrittenAt });
                return false;
            }

            Volatile.Write(ref _current, next);
            if (logger is not null)
            {
                Log(logger);
            }

            return true;
        }
        catch (RosterRefusedException ex)
        {
            Volatile.Write(ref _current, current with { WrittenAt = written });
            if (logger is not null)
            {
                CoordinatorLog.RosterReloadRefused(logger, ex.Refusal.ToString(), ex.Check.Detail, current.Roster.Version);
            }

            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Logs the loaded roster (event 2030).</summary>
    public void Log(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        VerifiedRoster r = Roster;
        string notAfter = RosterFile.FormatTime(r.Content.NotAfter);
        CoordinatorLog.RosterLoaded(logger, r.Content.Consortium, r.Version, r.Digest, r.Content.Members.Count, r.Organisations, notAfter);
    }

    private static Snapshot Read(string path, RosterVerifier verifier, DateTimeOffset now, RosterCheckpoint? lastSeen)
    {
        DateTime written = File.GetLastWriteTimeUtc(path);
        byte[] bytes = SafeFile.ReadAll(path, RosterFile.MaxFileBytes);
        RosterVerification result = verifier.Verify(bytes, now, lastSeen);
        if (!result.Check.Passed)
        {
            throw new RosterRefusedException(result.Check, path);
        }

        var byId = new Dictionary<string, RosterMember>(StringComparer.Ordinal);
        foreach (RosterMember m in result.Roster!.Content.Members)
        {
            byId[Convert.ToHexStringLower(SHA256.HashData(m.PublicKey.Span))] = m;
        }

        return new Snapshot(result.Roster, bytes, byId, written);
    }

    private sealed record Snapshot(VerifiedRoster Roster, byte[] Bytes, Dictionary<string, RosterMember> ByClientId, DateTime WrittenAt);
}
