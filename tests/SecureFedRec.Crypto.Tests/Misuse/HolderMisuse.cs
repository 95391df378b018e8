using System.Reflection;

namespace SecureFedRec.Crypto.Tests.Misuse;

/// <summary>Secret holders: length limits, exact exports, wiping and refusal after dispose, redacted ToString.</summary>
public sealed class HolderMisuse
{
    [Theory]
    [InlineData(0)]
    [InlineData(SecretBytes.MaxLength + 1)]
    public void SecretBytes_length_limits(int length) => Assert.Throws<ArgumentException>(() => SecretBytes.Import(new byte[length]));

    [Fact]
    public void SecretBytes_export_needs_exact_length()
    {
        using var s = SecretBytes.Generate(32);
        Assert.Throws<ArgumentException>(() => s.Export(new byte[31]));
    }

    [Fact]
    public void SecretBytes_wipes_and_refuses_after_dispose()
    {
        var s = SecretBytes.Import(Enumerable.Repeat((byte)0xAB, 32).ToArray());
        byte[] inner = InnerArray(s, "_secret");
        s.Dispose();
        Assert.All(inner, b => Assert.Equal(0, b));
        Assert.Throws<ObjectDisposedException>(() => s.Export(new byte[32]));
        Assert.Contains("disposed", s.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_is_redacted_everywhere()
    {
        byte[] secret = Enumerable.Repeat((byte)0xAB, 32).ToArray();
        using var s = SecretBytes.Import(secret);
        using PrivateKey x = KeyAgreementAlgorithm.X25519.ImportPrivateKey(secret);
        using SigningKey sk = SigningKey.Import(Hex.D("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"));
        ShamirShare[] shares = Shamir.Split(secret, 2, new[] { 1, 2 });
        foreach (object o in new object[] { s, x, sk, shares[0] })
        {
            string text = o.ToString()!;
            Assert.DoesNotContain("ab", text.ToLowerInvariant().Replace("disposed", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
            Assert.Contains("redacted", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PrivateKey_is_wiped_on_dispose()
    {
        PrivateKey key = KeyAgreementAlgorithm.X25519.GenerateKey();
        byte[] inner = InnerArray(key, "_scalar");
        key.Dispose();
        Assert.All(inner, b => Assert.Equal(0, b));
        Assert.Throws<ObjectDisposedException>(() => key.ExportPrivateKey(new byte[32]));
        Assert.Throws<ObjectDisposedException>(() => _ = key.PublicKey.Length);
    }

    [Fact]
    public void Shares_are_wiped_on_dispose()
    {
        ShamirShare share = Shamir.Split(new byte[32], 1, new[] { 5 })[0];
        byte[] inner = InnerArray(share, "_y");
        share.Dispose();
        Assert.All(inner, b => Assert.Equal(0, b));
        Assert.Throws<ObjectDisposedException>(() => share.ExportY(new byte[33]));
    }

    internal static byte[] InnerArray(object holder, string field)
    {
        object pinned = holder.GetType().GetField(field, BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(holder)!;
        return (byte[])pinned.GetType().GetField("_bytes", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(pinned)!;
    }
}
