using SecureFedRec.Crypto;

namespace SecureFedRec.Roster.Tests;

/// <summary>Ed25519 (NSec) against RFC 8032 §7.1 and the identity-suite wrapper's misuse matrix.</summary>
public sealed class IdentitySignatureTests
{
    // RFC 8032 §7.1, TEST 1–3: secret key (seed), public key, message, signature.
    public static TheoryData<string, string, string, string> Rfc8032 => new()
    {
        {
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        },
        {
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        },
        {
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
        },
    };

    [Theory]
    [MemberData(nameof(Rfc8032))]
    public void Ed25519MatchesRfc8032(string seed, string publicKey, string message, string signature)
    {
        using Ed25519SigningKey key = Ed25519SigningKey.Import(Convert.FromHexString(seed));
        Assert.Equal(publicKey, Convert.ToHexStringLower(key.PublicKey));
        byte[] msg = Convert.FromHexString(message);
        Assert.Equal(signature, Convert.ToHexStringLower(key.Sign(msg)));
        Assert.True(Ed25519Signature.Verify(key.PublicKey, msg, Convert.FromHexString(signature)));
        Span<byte> exported = stackalloc byte[32];
        key.ExportPrivateKey(exported);
        Assert.Equal(seed, Convert.ToHexStringLower(exported));
    }

    public static TheoryData<string> VerifyRefusals => ["short key", "long signature", "flipped message", "flipped signature", "S not canonical", "small-order key", "all-zero key"];

    [Theory]
    [MemberData(nameof(VerifyRefusals))]
    public void Ed25519VerifyReturnsFalseNeverThrows(string name)
    {
        using Ed25519SigningKey key = Ed25519SigningKey.Import(Convert.FromHexString(Fixture.Seed(1)));
        byte[] msg = "roster"u8.ToArray();
        byte[] sig = key.Sign(msg);
        byte[] pub = key.ExportPublicKey();
        switch (name)
        {
            case "short key": pub = pub[..31]; break;
            case "long signature": sig = [.. sig, 0]; break;
            case "flipped message": msg[0] ^= 1; break;
            case "flipped signature": sig[5] ^= 1; break;
            case "S not canonical":
                // S + L (L = 2^252 + 27742317777372353535851937790883648493), little-endian: a malleated signature.
                System.Numerics.BigInteger s = new(sig.AsSpan(32), isUnsigned: true);
                s += System.Numerics.BigInteger.Pow(2, 252) + System.Numerics.BigInteger.Parse("27742317777372353535851937790883648493", System.Globalization.CultureInfo.InvariantCulture);
                byte[] sBytes = s.ToByteArray(isUnsigned: true);
                Array.Resize(ref sBytes, 32);
                sBytes.CopyTo(sig, 32);
                break;
            case "small-order key": pub = Convert.FromHexString("0100000000000000000000000000000000000000000000000000000000000000"); break;
            case "all-zero key": pub = new byte[32]; break;
            default: throw new ArgumentOutOfRangeException(nameof(name));
        }

        Assert.False(Ed25519Signature.Verify(pub, msg, sig));
        Assert.False(IdentitySignature.Verify(IdentitySuite.Ed25519, pub, msg, sig));
    }

    [Theory]
    [InlineData(IdentitySuite.Ed25519, 32)]
    [InlineData(IdentitySuite.EcdsaP256Sha256, 65)]
    public void BothSuitesSignDeterministicallyAndVerify(IdentitySuite suite, int publicKeyLength)
    {
        using IdentitySigningKey key = Fixture.Key(suite, Fixture.Seed(0x21));
        Assert.Equal(publicKeyLength, key.PublicKey.Length);
        Assert.Equal(publicKeyLength, IdentitySignature.PublicKeyLength(suite));
        byte[] a = key.Sign("message"u8);
        byte[] b = key.Sign("message"u8);
        Assert.Equal(a, b);
        Assert.Equal(IdentitySignature.SignatureLength(suite), a.Length);
        Assert.True(IdentitySignature.Verify(suite, key.PublicKey, "message"u8, a));
        Assert.False(IdentitySignature.Verify(suite, key.PublicKey, "messagf"u8, a));
        IdentitySuite other = suite == IdentitySuite.Ed25519 ? IdentitySuite.EcdsaP256Sha256 : IdentitySuite.Ed25519;
        Assert.False(IdentitySignature.Verify(other, key.PublicKey, "message"u8, a));
        Assert.True(IdentitySignature.TryParse(IdentitySignature.NameOf(suite), out IdentitySuite parsed));
        Assert.Equal(suite, parsed);
    }

    [Fact]
    public void GenerateDrawsTheSeedFromTheGivenSource()
    {
        using var rng1 = DeterministicRandomSource.FromTestSeed(5);
        using var rng2 = DeterministicRandomSource.FromTestSeed(5);
        using Ed25519SigningKey a = Ed25519SigningKey.Generate(rng1);
        using Ed25519SigningKey b = Ed25519SigningKey.Generate(rng2);
        Assert.Equal(a.ExportPublicKey(), b.ExportPublicKey());
        using Ed25519SigningKey c = Ed25519SigningKey.Generate();
        Assert.NotEqual(a.ExportPublicKey(), c.ExportPublicKey());
    }

    [Theory]
    [InlineData(IdentitySuite.Ed25519)]
    [InlineData(IdentitySuite.EcdsaP256Sha256)]
    public void MisuseThrowsAndSecretsStayRedacted(IdentitySuite suite)
    {
        IdentitySigningKey key = IdentitySigningKey.Generate(suite);
        Assert.DoesNotContain(Convert.ToHexStringLower(key.PublicKey), key.ToString(), StringComparison.Ordinal);
        Assert.Contains("redacted", key.ToString(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => key.Sign("m"u8, new byte[63]));
        Assert.Throws<ArgumentException>(() => key.ExportPrivateKey(new byte[31]));
        Assert.Throws<ArgumentException>(() => IdentitySigningKey.Import(suite, new byte[31]));
        Assert.False(IdentitySigningKey.TryImport(suite, new byte[33], out _));
        key.Dispose();
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.Sign("m"u8));
        Assert.Throws<ObjectDisposedException>(() => key.ExportPrivateKey(new byte[32]));
    }

    [Fact]
    public void P256ScalarZeroIsRefused() =>
        Assert.False(IdentitySigningKey.TryImport(IdentitySuite.EcdsaP256Sha256, new byte[32], out _));

    [Fact]
    public void UndefinedSuitesAreRefused()
    {
        Assert.False(IdentitySignature.TryParse("Ed25519", out _));
        Assert.False(IdentitySignature.TryParse("ecdsa-p256", out _));
        Assert.False(IdentitySignature.Verify((IdentitySuite)9, new byte[32], [], new byte[64]));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentitySignature.NameOf((IdentitySuite)9));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentitySigningKey.Generate((IdentitySuite)9));
    }
}
