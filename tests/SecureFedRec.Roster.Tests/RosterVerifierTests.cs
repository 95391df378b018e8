using System.Text;
using System.Text.Json.Nodes;
using SecureFedRec.Crypto;

namespace SecureFedRec.Roster.Tests;

public sealed class RosterVerifierTests
{
    internal static readonly byte[] Good = Fixture.Signed(Fixture.Content());

    /// <summary>Each case: a name, the file to verify, the expected refusal. One [Theory] row per case.</summary>
    internal static readonly Dictionary<string, (Func<byte[]> File, RosterRefusal Expected)> Cases = new()
    {
        ["not json"] = (() => "roster"u8.ToArray(), RosterRefusal.Malformed),
        ["empty file"] = (() => [], RosterRefusal.Malformed),
        ["truncated file"] = (() => Good[..(Good.Length / 2)], RosterRefusal.Malformed),
        ["json array"] = (() => "[]"u8.ToArray(), RosterRefusal.Malformed),
        ["missing members"] = (() => Fixture.Edit(Good, r => r.Remove("members")), RosterRefusal.Malformed),
        ["unknown field"] = (() => Fixture.Edit(Good, r => r["extra"] = 1), RosterRefusal.Malformed),
        ["duplicated field"] = (() => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Good).Replace("\"version\": 7,", "\"version\": 7, \"version\": 8,", StringComparison.Ordinal)), RosterRefusal.Malformed),
        ["version as string"] = (() => Fixture.Edit(Good, r => r["version"] = "7"), RosterRefusal.Malformed),
        ["version 0"] = (() => Fixture.Edit(Good, r => r["version"] = 0), RosterRefusal.Malformed),
        ["version above 2^53-1"] = (() => Fixture.Edit(Good, r => r["version"] = 1UL << 53), RosterRefusal.Malformed),
        ["uppercase hex key"] = (() => Fixture.Edit(Good, r => Member(r, 0)["publicKey"] = Member(r, 0)["publicKey"]!.GetValue<string>().ToUpperInvariant()), RosterRefusal.Malformed),
        ["truncated member key"] = (() => Fixture.Edit(Good, r => Member(r, 0)["publicKey"] = Member(r, 0)["publicKey"]!.GetValue<string>()[..62]), RosterRefusal.Malformed),
        ["truncated signature"] = (() => Fixture.Edit(Good, r => r["signature"] = r["signature"]!.GetValue<string>()[..126]), RosterRefusal.Malformed),
        ["odd-length hex signature"] = (() => Fixture.Edit(Good, r => r["signature"] = r["signature"]!.GetValue<string>()[..127]), RosterRefusal.Malformed),
        ["unsigned draft"] = (() => Fixture.Edit(Good, r => r.Remove("signature")), RosterRefusal.Malformed),
        ["fractional time"] = (() => Fixture.Edit(Good, r => r["notAfter"] = "2027-01-01T00:00:00.5Z"), RosterRefusal.Malformed),
        ["offset time"] = (() => Fixture.Edit(Good, r => r["notAfter"] = "2027-01-01T00:00:00+01:00"), RosterRefusal.Malformed),
        ["window reversed"] = (() => Fixture.Edit(Good, r => r["notBefore"] = "2028-01-01T00:00:00Z"), RosterRefusal.Malformed),
        ["uppercase organisation"] = (() => Fixture.Edit(Good, r => Member(r, 0)["organisation"] = "Bank-A"), RosterRefusal.Malformed),
        ["look-alike organisation"] = (() => Fixture.Edit(Good, r => Member(r, 0)["organisation"] = "bаnk-a"), RosterRefusal.Malformed),
        ["empty client id"] = (() => Fixture.Edit(Good, r => Member(r, 0)["clientId"] = ""), RosterRefusal.Malformed),
        ["unknown format"] = (() => Fixture.Edit(Good, r => r["format"] = "securefedrec-roster/2"), RosterRefusal.UnsupportedFormat),
        ["unknown member suite"] = (() => Fixture.Edit(Good, r => Member(r, 1)["suite"] = "rsa-pss"), RosterRefusal.UnsupportedSuite),
        ["unknown authority suite"] = (() => Fixture.Edit(Good, r => r["authority"]!["suite"] = "ed448"), RosterRefusal.UnsupportedSuite),
        ["p-256 key off the curve"] = (() => Fixture.Edit(Good, r => Member(r, 2)["publicKey"] = "04" + new string('1', 128)), RosterRefusal.InvalidPublicKey),
        ["another authority"] = (() => SignedBy(Fixture.Content() with { AuthorityPublicKey = OtherAuthority().ExportPublicKey() }, OtherAuthority()), RosterRefusal.UnknownAuthority),
        ["p-256 authority instead of the pinned ed25519"] = (() => Fixture.Signed(Fixture.Content(IdentitySuite.EcdsaP256Sha256)), RosterRefusal.UnknownAuthority),
        ["flipped signature bit"] = (() => Fixture.Edit(Good, r => r["signature"] = Flip(r["signature"]!.GetValue<string>())), RosterRefusal.BadSignature),
        ["member added after signing"] = (() => Fixture.Edit(Good, r => ((JsonArray)r["members"]!).Add(JsonNode.Parse(Member(r, 0).ToJsonString().Replace("client-1", "client-9", StringComparison.Ordinal)))), RosterRefusal.BadSignature),
        ["member key replaced after signing"] = (() => Fixture.Edit(Good, r => Member(r, 0)["publicKey"] = Convert.ToHexStringLower(Fixture.PublicKey(IdentitySuite.Ed25519, Fixture.Seed(0x50)))), RosterRefusal.BadSignature),
        ["revocation removed after signing"] = (() => Fixture.Edit(Good, r => ((JsonArray)r["revocations"]!).Clear()), RosterRefusal.BadSignature),
        ["validity extended after signing"] = (() => Fixture.Edit(Good, r => r["notAfter"] = "2030-01-01T00:00:00Z"), RosterRefusal.BadSignature),
        ["version bumped after signing"] = (() => Fixture.Edit(Good, r => r["version"] = 8), RosterRefusal.BadSignature),
        ["duplicated organisation+client"] = (() => SignedRaw(c => c with { Members = [.. c.Members, Fixture.Member(0) with { PublicKey = Fixture.PublicKey(IdentitySuite.Ed25519, Fixture.Seed(0x51)) }] }), RosterRefusal.DuplicateMember),
        ["duplicated key across organisations"] = (() => SignedRaw(c => c with { Members = [.. c.Members, Fixture.Member(0) with { Organisation = "bank-z" }] }), RosterRefusal.DuplicateKey),
        ["key revoked twice"] = (() => SignedRaw(c => c with { Revocations = [.. c.Revocations, c.Revocations[0] with { RevokedAt = c.Revocations[0].RevokedAt.AddDays(1) }] }), RosterRefusal.DuplicateKey),
        ["revoked key still a member"] = (() => SignedRaw(c => c with { Revocations = [.. c.Revocations, new RosterRevocation("bank-a", "client-1", IdentitySuite.Ed25519, c.Members[0].PublicKey, Fixture.RosterStart)] }), RosterRefusal.RevokedMemberListed),
        ["roster not yet valid"] = (() => Fixture.Signed(Fixture.Content() with { NotBefore = Fixture.Now.AddSeconds(1) }), RosterRefusal.RosterNotYetValid),
        ["roster expired"] = (() => Fixture.Signed(Fixture.Content() with { NotAfter = Fixture.Now }), RosterRefusal.RosterExpired),
        ["older version than last seen"] = (() => Fixture.Signed(Fixture.Content(version: 6)), RosterRefusal.Rollback),
        ["same version, other content"] = (() => Fixture.Signed(Fixture.Content() with { Members = [Fixture.Member(0), Fixture.Member(2), Fixture.Member(3)] }), RosterRefusal.VersionConflict),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Refuses(string name)
    {
        (Func<byte[]> file, RosterRefusal expected) = Cases[name];
        RosterVerification result = Fixture.Verifier().Verify(file(), Fixture.Now, LastSeen);
        Assert.Equal(expected, result.Check.Refusal);
        Assert.Null(result.Roster);
        Assert.False(string.IsNullOrWhiteSpace(result.Check.Detail));
    }

    internal static RosterCheckpoint LastSeen => new(7, RosterEncoding.Digest(Fixture.Content()));

    [Theory]
    [InlineData(IdentitySuite.Ed25519)]
    [InlineData(IdentitySuite.EcdsaP256Sha256)]
    public void AcceptsTheSignedRosterOfEitherAuthoritySuite(IdentitySuite suite)
    {
        RosterContent content = Fixture.Content(suite);
        RosterVerification result = Fixture.Verifier(suite).Verify(Fixture.Signed(content), Fixture.Now);
        Assert.True(result.Check.Passed, result.Check.ToString());
        VerifiedRoster roster = result.Roster!;
        Assert.Equal(7UL, roster.Version);
        Assert.Equal(3, roster.Organisations);
        Assert.Equal(RosterEncoding.Digest(content), roster.Digest);
        Assert.Equal(new RosterCheckpoint(7, roster.Digest), roster.Checkpoint);
    }

    [Fact]
    public void AcceptsTheSameRosterAgainAndANewerOne()
    {
        Assert.True(Fixture.Verifier().Verify(Good, Fixture.Now, LastSeen).Check.Passed);
        Assert.True(Fixture.Verifier().Verify(Fixture.Signed(Fixture.Content(version: 8)), Fixture.Now, LastSeen).Check.Passed);
    }

    [Fact]
    public void MemberOrderInTheFileDoesNotChangeTheSignedBytes()
    {
        RosterContent content = Fixture.Content();
        RosterContent reversed = content with { Members = [.. content.Members.Reverse()] };
        Assert.Equal(RosterEncoding.Encode(content), RosterEncoding.Encode(reversed));
        byte[] shuffledFile = Fixture.Edit(Good, r =>
        {
            var members = (JsonArray)r["members"]!;
            JsonNode first = members[0]!;
            members.RemoveAt(0);
            members.Add(first);
        });
        Assert.True(Fixture.Verifier().Verify(shuffledFile, Fixture.Now).Check.Passed);
    }

    [Fact]
    public void AFipsVerifierRefusesEd25519Members()
    {
        var fipsOnly = new HashSet<IdentitySuite> { IdentitySuite.EcdsaP256Sha256 };
        RosterVerification result = Fixture.Verifier(IdentitySuite.EcdsaP256Sha256, fipsOnly)
            .Verify(Fixture.Signed(Fixture.Content(IdentitySuite.EcdsaP256Sha256)), Fixture.Now);
        Assert.Equal(RosterRefusal.UnsupportedSuite, result.Check.Refusal);
        Assert.Contains("members[", result.Check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8InAStringIsMalformedNotAnException()
    {
        int at = Encoding.ASCII.GetString(Good).IndexOf("demo-consortium", StringComparison.Ordinal);
        byte[] bad = [.. Good[..at], 0xC3, 0x28, .. Good[(at + 1)..]];
        Assert.Equal(RosterRefusal.Malformed, Fixture.Verifier().Verify(bad, Fixture.Now).Check.Refusal);
    }

    [Fact]
    public void AnOversizedFileIsRefusedBeforeParsing()
    {
        byte[] big = new byte[RosterFile.MaxFileBytes + 1];
        Assert.Equal(RosterRefusal.Malformed, Fixture.Verifier().Verify(big, Fixture.Now).Check.Refusal);
    }

    [Fact]
    public void TheAuthorityRefusesToSignWhatAVerifierWouldRefuse()
    {
        RosterContent dup = Fixture.Content() with { Members = [.. Fixture.Content().Members, Fixture.Member(0)] };
        using IdentitySigningKey authority = Fixture.Authority();
        Assert.Throws<ArgumentException>(() => RosterAuthority.Sign(dup, authority));
        using IdentitySigningKey other = OtherAuthority();
        Assert.Throws<ArgumentException>(() => RosterAuthority.Sign(Fixture.Content(), other));
    }

    [Fact]
    public void FormatThenParseIsTheIdentity()
    {
        Assert.Equal(RosterRefusal.None, RosterFile.TryParse(Good, out RosterDocument? document).Refusal);
        Assert.Equal(Good, RosterFile.Format(document!));
    }

    private static JsonObject Member(JsonObject root, int i) => root["members"]![i]!.AsObject();

    private static IdentitySigningKey OtherAuthority() => Fixture.Key(IdentitySuite.Ed25519, Fixture.OtherAuthoritySeed);

    private static byte[] SignedBy(RosterContent content, IdentitySigningKey key)
    {
        using (key)
        {
            return RosterFile.Format(RosterAuthority.Sign(content, key));
        }
    }

    private static byte[] SignedRaw(Func<RosterContent, RosterContent> edit)
    {
        using IdentitySigningKey authority = Fixture.Authority();
        return Fixture.SignedRaw(edit(Fixture.Content()), authority);
    }

    private static string Flip(string hex)
    {
        char[] chars = hex.ToCharArray();
        chars[10] = chars[10] == '0' ? '1' : '0';
        return new string(chars);
    }
}
