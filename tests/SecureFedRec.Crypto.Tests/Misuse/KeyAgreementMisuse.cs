namespace SecureFedRec.Crypto.Tests.Misuse;

/// <summary>Key agreement (X25519, P-256): wrong lengths, disposed or foreign keys, out-of-range scalars, low-order and invalid points.</summary>
public sealed class KeyAgreementMisuse
{
    public static TheoryData<string> Suites() => new() { "X25519", "P256" };

    private static KeyAgreementAlgorithm Suite(string name) => KeyAgreementAlgorithm.FromId(Enum.Parse<KeyAgreementSuite>(name));

    [Theory]
    [MemberData(nameof(Suites))]
    public void Both_sides_agree_and_export_import_round_trips(string suite)
    {
        KeyAgreementAlgorithm alg = Suite(suite);
        using var rng = DeterministicRandomSource.FromTestSeed(5);
        using PrivateKey a = alg.GenerateKey(rng);
        using PrivateKey b = alg.GenerateKey(rng);
        Assert.Equal(alg.PublicKeyLength, a.PublicKey.Length);
        Assert.True(alg.TryAgree(a, b.PublicKey, out SharedSecret? ab));
        Assert.True(alg.TryAgree(b, a.PublicKey, out SharedSecret? ba));
        byte[] k1 = new byte[32];
        byte[] k2 = new byte[32];
        Hkdf.DeriveKey(ab, default, DomainLabel.For("t"), k1);
        Hkdf.DeriveKey(ba, default, DomainLabel.For("t"), k2);
        Assert.Equal(k1, k2);
        byte[] exported = new byte[32];
        a.ExportPrivateKey(exported);
        using PrivateKey again = alg.ImportPrivateKey(exported);
        Assert.Equal(Hex.E(a.PublicKey), Hex.E(again.PublicKey));
        ab.Dispose();
        ba.Dispose();
    }

    [Theory]
    [InlineData("X25519", 0)]
    [InlineData("X25519", 31)]
    [InlineData("X25519", 33)]
    [InlineData("P256", 64)]
    [InlineData("P256", 33)]
    [InlineData("P256", 66)]
    public void Wrong_peer_length_is_false(string suite, int length)
    {
        KeyAgreementAlgorithm alg = Suite(suite);
        using PrivateKey a = alg.GenerateKey();
        Assert.False(alg.TryAgree(a, new byte[length], out SharedSecret? s));
        Assert.Null(s);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Disposed_key_throws(string suite)
    {
        KeyAgreementAlgorithm alg = Suite(suite);
        using PrivateKey b = alg.GenerateKey();
        PrivateKey a = alg.GenerateKey();
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => alg.TryAgree(a, b.PublicKey, out _));
    }

    [Fact]
    public void Key_of_the_other_suite_throws()
    {
        using PrivateKey x = KeyAgreementAlgorithm.X25519.GenerateKey();
        using PrivateKey p = KeyAgreementAlgorithm.P256.GenerateKey();
        Assert.Throws<ArgumentException>(() => KeyAgreementAlgorithm.P256.TryAgree(x, p.PublicKey, out _));
    }

    [Theory]
    [InlineData("X25519", 31)]
    [InlineData("P256", 33)]
    public void Import_wrong_length_throws(string suite, int length) =>
        Assert.Throws<ArgumentException>(() => Suite(suite).ImportPrivateKey(new byte[length]));

    // P-256 scalars must be in [1, n−1].
    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")]
    [InlineData("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    public void P256_scalar_out_of_range_throws(string scalar)
    {
        Assert.Throws<ArgumentException>(() => KeyAgreementAlgorithm.P256.ImportPrivateKey(Hex.D(scalar)));
        Assert.Throws<ArgumentException>(() => SigningKey.Import(Hex.D(scalar)));
    }

    // Low-order points of Curve25519 and their non-canonical encodings (the list libsodium rejects): X25519 gives the
    // all-zero output, which RFC 7748 §6.1 says to refuse.
    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")]
    [InlineData("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")]
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    [InlineData("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    [InlineData("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    public void X25519_low_order_points_are_refused(string u)
    {
        using PrivateKey a = KeyAgreementAlgorithm.X25519.GenerateKey();
        Assert.False(KeyAgreementAlgorithm.X25519.TryAgree(a, Hex.D(u), out SharedSecret? s));
        Assert.Null(s);
    }

    public static TheoryData<string, string> InvalidP256Points()
    {
        const string X = "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287";
        const string Y = "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac";
        const string P = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
        return new TheoryData<string, string>
        {
            { "off the curve (y + 1)", "04" + X + Y[..^2] + "ad" },
            { "compressed prefix", "02" + X + Y },
            { "unknown prefix", "05" + X + Y },
            { "all zero", new string('0', 130) },
            { "x = p", "04" + P + Y },
            { "y = p", "04" + X + P },
            { "(0, 0)", "04" + new string('0', 128) },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidP256Points))]
    public void P256_invalid_points_are_refused(string what, string point)
    {
        using PrivateKey a = KeyAgreementAlgorithm.P256.GenerateKey();
        Assert.False(KeyAgreementAlgorithm.P256.TryAgree(a, Hex.D(point), out SharedSecret? s), what);
        Assert.Null(s);
        Assert.False(Signature.Verify(Hex.D(point), "m"u8, new byte[64]), what);
    }

    [Fact]
    public void Unknown_suite_id_throws() => Assert.Throws<ArgumentOutOfRangeException>(() => KeyAgreementAlgorithm.FromId((KeyAgreementSuite)9));
}
