using SecureFedRec.Client;
using SecureFedRec.Crypto;
using SecureFedRec.Roster;

namespace SecureFedRec.Integration.Tests.Units;

/// <summary>
/// The SDK's process-wide verified-roster cache answers exactly as <see cref="RosterVerifier.Verify"/> would, for every
/// caller time and checkpoint, and only for the bytes and authority it verified.
/// </summary>
public sealed class VerifiedRosterCacheTests : IDisposable
{
    private readonly IdentitySigningKey _authority = IdentitySigningKey.Generate(IdentitySuite.Ed25519);
    private readonly IdentitySigningKey _member = IdentitySigningKey.Generate(IdentitySuite.Ed25519);
    private readonly DateTimeOffset _at = RosterAuthority.TruncateToSecond(DateTimeOffset.UtcNow);

    public VerifiedRosterCacheTests() => VerifiedRosterCache.Clear();

    public void Dispose()
    {
        VerifiedRosterCache.Clear();
        _authority.Dispose();
        _member.Dispose();
    }

    private byte[] File(ulong version)
    {
        RosterContent draft = RosterAuthority.CreateDraft("cache-test", _authority, _at.AddHours(-1)) with { Version = version, NotAfter = _at.AddDays(1) };
        Assert.True(RosterAuthority.AddMember(draft, new RosterMember("org-a", "client-a", IdentitySuite.Ed25519, _member.ExportPublicKey(), _at.AddHours(-1), _at.AddDays(1)), out draft).Passed);
        return RosterFile.Format(RosterAuthority.Sign(draft, _authority));
    }

    private RosterVerifier Verifier() => new(IdentitySuite.Ed25519, _authority.ExportPublicKey());

    private static void Same(RosterVerification expected, RosterVerification actual)
    {
        Assert.Equal(expected.Check.Refusal, actual.Check.Refusal);
        Assert.Equal(expected.Check.Detail, actual.Check.Detail);
        Assert.Equal(expected.Roster?.Digest, actual.Roster?.Digest);
        Assert.Equal(expected.Roster?.Version, actual.Roster?.Version);
    }

    [Fact]
    public void A_hit_rechecks_validity_and_the_callers_checkpoint_exactly_as_the_verifier()
    {
        byte[] v2 = File(2);
        RosterVerification first = VerifiedRosterCache.Verify(Verifier(), v2, _at, null);
        Assert.True(first.Check.Passed);
        long hits = VerifiedRosterCache.Hits;
        var cases = new (DateTimeOffset Now, RosterCheckpoint? LastSeen)[]
        {
            (_at, null),
            (_at, first.Roster!.Checkpoint),
            (_at, new RosterCheckpoint(1, new string('a', 64))),
            (_at, new RosterCheckpoint(3, new string('a', 64))), // rollback
            (_at, new RosterCheckpoint(2, new string('b', 64))), // equivocation: this version was accepted with another digest
            (_at.AddHours(-2), null), // not yet valid
            (_at.AddDays(2), null), // expired
        };
        foreach ((DateTimeOffset now, RosterCheckpoint? lastSeen) in cases)
        {
            // A fresh verifier of the same pin (as every client builds its own) shares the entry.
            Same(Verifier().Verify(v2, now, lastSeen), VerifiedRosterCache.Verify(Verifier(), v2, now, lastSeen));
        }

        Assert.Equal(hits + cases.Length, VerifiedRosterCache.Hits); // the assembly's tests run one at a time
    }

    [Fact]
    public void Other_bytes_or_another_authority_are_verified_in_full()
    {
        byte[] good = File(1);
        Assert.True(VerifiedRosterCache.Verify(Verifier(), good, _at, null).Check.Passed);
        long hits = VerifiedRosterCache.Hits;

        // One byte changed: not the cached bytes, so a full verification, which refuses it.
        byte[] tampered = (byte[])good.Clone();
        int at = Array.LastIndexOf(tampered, (byte)'"') - 1;
        tampered[at] = tampered[at] == (byte)'A' ? (byte)'B' : (byte)'A';
        Same(Verifier().Verify(tampered, _at), VerifiedRosterCache.Verify(Verifier(), tampered, _at, null));
        Assert.False(VerifiedRosterCache.Verify(Verifier(), tampered, _at, null).Check.Passed);

        // The same bytes under another pinned authority: refused (unknown authority), never answered from the cache.
        using IdentitySigningKey other = IdentitySigningKey.Generate(IdentitySuite.Ed25519);
        var otherVerifier = new RosterVerifier(IdentitySuite.Ed25519, other.ExportPublicKey());
        RosterVerification refused = VerifiedRosterCache.Verify(otherVerifier, good, _at, null);
        Assert.Equal(RosterRefusal.UnknownAuthority, refused.Check.Refusal);

        Assert.Equal(hits, VerifiedRosterCache.Hits);
    }

    [Fact]
    public void The_cache_is_bounded()
    {
        for (ulong v = 1; v <= VerifiedRosterCache.Capacity + 2; v++)
        {
            Assert.True(VerifiedRosterCache.Verify(Verifier(), File(v), _at, null).Check.Passed);
        }

        Assert.InRange(VerifiedRosterCache.Count, 1, VerifiedRosterCache.Capacity);
    }
}
