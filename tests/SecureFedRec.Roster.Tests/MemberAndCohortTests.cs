using SecureFedRec.Crypto;

namespace SecureFedRec.Roster.Tests;

public sealed class MemberAndCohortTests
{
    private static VerifiedRoster Roster(RosterContent? content = null)
    {
        RosterVerification v = Fixture.Verifier().Verify(Fixture.Signed(content ?? Fixture.Content()), Fixture.Now);
        Assert.True(v.Check.Passed, v.Check.ToString());
        return v.Roster!;
    }

    private static byte[] Key(int member) => Fixture.PublicKey(Fixture.MemberKeys[member].Suite, Fixture.MemberKeys[member].Secret);

    public static TheoryData<string, string, string, RosterRefusal> MemberCases => new()
    {
        { "listed, right key", "bank-a/client-1", "member0", RosterRefusal.None },
        { "listed, no key presented", "bank-a/client-1", "", RosterRefusal.None },
        { "p-256 member", "hospital-b/c1", "member2", RosterRefusal.None },
        { "unknown client", "bank-a/client-9", "", RosterRefusal.NotInRoster },
        { "unknown organisation", "bank-q/client-1", "", RosterRefusal.NotInRoster },
        { "revoked by name", "hospital-b/c0", "", RosterRefusal.Revoked },
        { "revoked key presented for a listed name", "bank-a/client-1", "revoked", RosterRefusal.Revoked },
        { "another member's key", "bank-a/client-1", "member1", RosterRefusal.KeyMismatch },
        { "a key the coordinator made up", "bank-a/client-1", "fresh", RosterRefusal.KeyMismatch },
    };

    [Theory]
    [MemberData(nameof(MemberCases))]
    public void ChecksOneMember(string name, string member, string presented, RosterRefusal expected)
    {
        _ = name;
        byte[] key = presented switch
        {
            "" => [],
            "revoked" => Fixture.PublicKey(Fixture.RevokedKey.Suite, Fixture.RevokedKey.Secret),
            "fresh" => Fixture.PublicKey(IdentitySuite.Ed25519, Fixture.Seed(0x60)),
            _ => Key(int.Parse(presented["member".Length..], System.Globalization.CultureInfo.InvariantCulture)),
        };
        string[] parts = member.Split('/');
        RosterCheck check = Roster().CheckMember(parts[0], parts[1], Fixture.Now, key, out RosterMember? entry);
        Assert.Equal(expected, check.Refusal);
        Assert.Equal(expected == RosterRefusal.None, entry is not null && check.Passed);
    }

    [Theory]
    [InlineData(-1, RosterRefusal.MemberNotYetValid)]
    [InlineData(0, RosterRefusal.None)]
    [InlineData(1, RosterRefusal.MemberExpired)]
    public void ChecksAMembersValidity(int where, RosterRefusal expected)
    {
        RosterContent content = Fixture.Content();
        var member = content.Members[0] with
        {
            NotBefore = Fixture.Now.AddDays(where < 0 ? 1 : -10),
            NotAfter = where > 0 ? Fixture.Now : Fixture.Now.AddDays(10),
        };
        VerifiedRoster roster = Roster(content with { Members = [member, .. content.Members.Skip(1)] });
        Assert.Equal(expected, roster.CheckMember("bank-a", "client-1", Fixture.Now, Key(0), out _).Refusal);
    }

    public static TheoryData<string, string[], int, RosterRefusal> CohortCases => new()
    {
        { "three organisations, policy 3", ["bank-a/client-1", "hospital-b/c1", "insurer-c/c1"], 3, RosterRefusal.None },
        { "four members, three organisations, policy 2", ["bank-a/client-1", "bank-a/client-2", "hospital-b/c1", "insurer-c/c1"], 2, RosterRefusal.None },
        { "one organisation's sybils", ["bank-a/client-1", "bank-a/client-2"], 2, RosterRefusal.TooFewOrganisations },
        { "empty", [], 1, RosterRefusal.EmptyCohort },
        { "a member twice", ["bank-a/client-1", "hospital-b/c1", "bank-a/client-1"], 2, RosterRefusal.DuplicateCohortMember },
        { "a made-up member", ["bank-a/client-1", "hospital-b/c1", "coordinator/sim-1"], 2, RosterRefusal.NotInRoster },
        { "a revoked member", ["bank-a/client-1", "hospital-b/c0", "insurer-c/c1"], 2, RosterRefusal.Revoked },
    };

    [Theory]
    [MemberData(nameof(CohortCases))]
    public void ChecksACohort(string name, string[] cohort, int minOrganisations, RosterRefusal expected)
    {
        _ = name;
        CohortMember[] members = [.. cohort.Select(m => m.Split('/')).Select(p => new CohortMember(p[0], p[1]))];
        CohortCheck check = new CohortPolicy(minOrganisations).Check(Roster(), members, Fixture.Now);
        Assert.Equal(expected, check.Check.Refusal);
        if (expected == RosterRefusal.None)
        {
            Assert.Equal(cohort.Length, check.Members.Count);
            Assert.Equal(cohort.Select(c => c.Split('/')[0]).Distinct().Count(), check.Organisations);
        }
        else
        {
            Assert.Empty(check.Members);
        }
    }

    [Fact]
    public void ACohortWithASubstitutedKeyIsRefusedAndTheRosterKeysAreReturned()
    {
        VerifiedRoster roster = Roster();
        var policy = new CohortPolicy(2);
        CohortCheck ok = policy.Check(roster, [new("bank-a", "client-1", Key(0)), new("hospital-b", "c1", Key(2))], Fixture.Now);
        Assert.True(ok.Check.Passed);
        Assert.Equal(Key(2), ok.Members[1].PublicKey.ToArray());
        CohortCheck substituted = policy.Check(roster, [new("bank-a", "client-1", Key(0)), new("hospital-b", "c1", Key(3))], Fixture.Now);
        Assert.Equal(RosterRefusal.KeyMismatch, substituted.Check.Refusal);
        Assert.StartsWith("cohort[1]", substituted.Check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void APolicyNeedsAtLeastOneOrganisation() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CohortPolicy(0));

    [Fact]
    public void AuthorityEditingAddsRevokesAndRefuses()
    {
        using IdentitySigningKey authority = Fixture.Authority();
        RosterContent draft = RosterAuthority.CreateDraft("demo", authority, Fixture.Now.AddMilliseconds(700));
        Assert.Equal(Fixture.Now, draft.NotBefore);
        Assert.True(RosterAuthority.AddMember(draft, Fixture.Member(0), out draft).Passed);
        Assert.True(RosterAuthority.AddMember(draft, Fixture.Member(2), out draft).Passed);
        Assert.Equal(RosterRefusal.DuplicateMember, RosterAuthority.AddMember(draft, Fixture.Member(0) with { PublicKey = Key(1) }, out _).Refusal);
        Assert.Equal(RosterRefusal.DuplicateKey, RosterAuthority.AddMember(draft, Fixture.Member(1) with { PublicKey = Key(0) }, out _).Refusal);
        Assert.Equal(RosterRefusal.InvalidPublicKey, RosterAuthority.AddMember(draft, Fixture.Member(2) with { ClientId = "c2", PublicKey = Convert.FromHexString("04" + new string('1', 128)) }, out _).Refusal);
        Assert.True(RosterAuthority.Revoke(draft, "bank-a", "client-1", Fixture.Now, out draft).Passed);
        Assert.Single(draft.Members);
        Assert.Single(draft.Revocations);
        Assert.Equal(RosterRefusal.NotInRoster, RosterAuthority.Revoke(draft, "bank-a", "client-1", Fixture.Now, out _).Refusal);
        Assert.Equal(RosterRefusal.RevokedMemberListed, RosterAuthority.AddMember(draft, Fixture.Member(0) with { ClientId = "client-5" }, out _).Refusal);
        // Re-enrolling the revoked client under a fresh key is allowed.
        Assert.True(RosterAuthority.AddMember(draft, Fixture.Member(0) with { PublicKey = Key(1) }, out draft).Passed);
        RosterDocument signed = RosterAuthority.Sign(draft with { NotAfter = Fixture.Now.AddDays(1) }, authority);
        var verifier = new RosterVerifier(authority.Suite, authority.PublicKey);
        RosterVerification v = verifier.Verify(RosterFile.Format(signed), Fixture.Now);
        Assert.True(v.Check.Passed, v.Check.ToString());
        Assert.Equal(RosterRefusal.Revoked, v.Roster!.CheckMember("bank-a", "client-1", Fixture.Now, Key(0), out _).Refusal);
        Assert.Equal(RosterRefusal.None, v.Roster.CheckMember("bank-a", "client-1", Fixture.Now, Key(1), out _).Refusal);
    }
}
