namespace SecureFedRec.Crypto.Tests.Misuse;

/// <summary>DomainLabel and HKDF: purpose rules, the pinned encoding, output limits, domain separation, disposed secrets.</summary>
public sealed class LabelAndHkdfMisuse
{
    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("nul\0")]
    [InlineData("ünïcode")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Bad_purposes_are_refused(string purpose) => Assert.Throws<ArgumentException>(() => DomainLabel.For(purpose));

    // The encoding is normative (crypto/README.md, protocol-spec/secagg.md): pinned byte for byte.
    [Fact]
    public void Encoding_is_pinned()
    {
        DomainLabel label = DomainLabel.For("mask-prg").Add(new byte[] { 1, 2 }).Add(7u).Add("é");
        Assert.Equal(
            "5365637572654665645265632f7631" + "00" + "6d61736b2d707267" + "00" + "00000002" + "0102" + "00000004" + "00000007" + "00000002" + "c3a9",
            Hex.E(label.Span));
    }

    [Fact]
    public void Part_boundaries_are_unambiguous() =>
        Assert.NotEqual(Hex.E(DomainLabel.For("p").Add("ab").Add("c").Span), Hex.E(DomainLabel.For("p").Add("a").Add("bc").Span));

    [Theory]
    [InlineData(0)]
    [InlineData(Hkdf.MaxOutputLength + 1)]
    public void Output_length_limits(int length)
    {
        Assert.Throws<ArgumentException>(() => Hkdf.DeriveKey(new byte[32], default, DomainLabel.For("x"), new byte[length]));
        Assert.Throws<ArgumentException>(() => Hkdf.DeriveSecret(new byte[32], default, DomainLabel.For("x"), length));
    }

    [Fact]
    public void Labels_separate_domains()
    {
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        Hkdf.DeriveKey(new byte[32], default, DomainLabel.For("a"), a);
        Hkdf.DeriveKey(new byte[32], default, DomainLabel.For("b"), b);
        Assert.NotEqual(Hex.E(a), Hex.E(b));
    }

    [Fact]
    public void Disposed_shared_secret_is_refused()
    {
        using PrivateKey a = KeyAgreementAlgorithm.X25519.GenerateKey();
        using PrivateKey b = KeyAgreementAlgorithm.X25519.GenerateKey();
        Assert.True(KeyAgreementAlgorithm.X25519.TryAgree(a, b.PublicKey, out SharedSecret? s));
        s.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Hkdf.DeriveSecret(s, default, DomainLabel.For("x")));
    }
}
