using System.Text.Json.Nodes;
using SecureFedRec.Crypto;

namespace SecureFedRec.Roster.Tests;

/// <summary>Fixed keys and a standard roster (3 organisations, 4 members of both suites, 1 revocation) for the tests and the
/// published vectors. Keys are fixed 32-byte seeds/scalars so that an independent implementation can rebuild them.</summary>
internal static class Fixture
{
    public static readonly DateTimeOffset Now = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset RosterStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset RosterEnd = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static string Seed(byte first) => Convert.ToHexStringLower(Enumerable.Range(first, 32).Select(i => (byte)i).ToArray());

    public static readonly string AuthoritySeed = Seed(0x01);
    public static readonly string OtherAuthoritySeed = Seed(0x40);
    public static readonly string P256AuthorityScalar = Seed(0x21);

    public static readonly (string Org, string Client, IdentitySuite Suite, string Secret)[] MemberKeys =
    [
        ("bank-a", "client-1", IdentitySuite.Ed25519, Seed(0x10)),
        ("bank-a", "client-2", IdentitySuite.Ed25519, Seed(0x11)),
        ("hospital-b", "c1", IdentitySuite.EcdsaP256Sha256, Seed(0x12)),
        ("insurer-c", "c1", IdentitySuite.Ed25519, Seed(0x13)),
    ];

    public static readonly (string Org, string Client, IdentitySuite Suite, string Secret) RevokedKey =
        ("hospital-b", "c0", IdentitySuite.Ed25519, Seed(0x14));

    public static IdentitySigningKey Key(IdentitySuite suite, string secretHex) => IdentitySigningKey.Import(suite, Convert.FromHexString(secretHex));

    public static IdentitySigningKey Authority(IdentitySuite suite = IdentitySuite.Ed25519) =>
        suite == IdentitySuite.Ed25519 ? Key(IdentitySuite.Ed25519, AuthoritySeed) : Key(IdentitySuite.EcdsaP256Sha256, P256AuthorityScalar);

    public static byte[] PublicKey(IdentitySuite suite, string secretHex)
    {
        using IdentitySigningKey key = Key(suite, secretHex);
        return key.ExportPublicKey();
    }

    public static RosterMember Member(int i) =>
        new(MemberKeys[i].Org, MemberKeys[i].Client, MemberKeys[i].Suite, PublicKey(MemberKeys[i].Suite, MemberKeys[i].Secret),
            RosterStart, RosterEnd);

    public static RosterContent Content(IdentitySuite authoritySuite = IdentitySuite.Ed25519, ulong version = 7)
    {
        using IdentitySigningKey authority = Authority(authoritySuite);
        return new RosterContent("demo-consortium", version, RosterStart, RosterEnd, authority.Suite, authority.ExportPublicKey(),
            [.. Enumerable.Range(0, MemberKeys.Length).Select(Member)],
            [new RosterRevocation(RevokedKey.Org, RevokedKey.Client, RevokedKey.Suite, PublicKey(RevokedKey.Suite, RevokedKey.Secret),
                new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero))]);
    }

    public static byte[] Signed(RosterContent content, IdentitySigningKey? key = null)
    {
        using IdentitySigningKey authority = Authority(content.AuthoritySuite);
        return RosterFile.Format(RosterAuthority.Sign(content, key ?? authority));
    }

    /// <summary>Signs whatever it is given (even inconsistent content) over its canonical encoding: how a careless or hostile
    /// authority tool would.</summary>
    public static byte[] SignedRaw(RosterContent content, IdentitySigningKey key) =>
        RosterFile.Format(new RosterDocument(content, key.Sign(RosterEncoding.Encode(content))));

    public static RosterVerifier Verifier(IdentitySuite suite = IdentitySuite.Ed25519, IReadOnlySet<IdentitySuite>? allowed = null)
    {
        using IdentitySigningKey authority = Authority(suite);
        return new RosterVerifier(authority.Suite, authority.PublicKey, allowed);
    }

    public static byte[] Edit(byte[] file, Action<JsonObject> edit)
    {
        JsonObject root = JsonNode.Parse(file)!.AsObject();
        edit(root);
        return System.Text.Encoding.UTF8.GetBytes(root.ToJsonString());
    }
}
