using System.Numerics;

namespace SecureFedRec.Crypto.Tests.Misuse;

/// <summary>ECDSA P-256: tampered messages and signatures, r or s out of range, bad keys and lengths.</summary>
public sealed class SignatureMisuse
{
    private static readonly BigInteger N = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);

    [Theory]
    [InlineData("message changed")]
    [InlineData("r changed")]
    [InlineData("s changed")]
    [InlineData("r = 0")]
    [InlineData("s = 0")]
    [InlineData("r = n")]
    [InlineData("s = n")]
    [InlineData("short signature")]
    [InlineData("long signature")]
    [InlineData("short key")]
    [InlineData("other key")]
    public void Bad_signatures_are_false(string what)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(3);
        using SigningKey key = SigningKey.Generate(rng);
        using SigningKey other = SigningKey.Generate(rng);
        byte[] msg = "round 7 survivors: 1,2,3"u8.ToArray();
        byte[] sig = key.Sign(msg);
        byte[] pub = key.ExportPublicKey();
        Assert.True(Signature.Verify(pub, msg, sig));
        byte[] n = N.ToByteArray(isUnsigned: true, isBigEndian: true);
        switch (what)
        {
            case "message changed": msg[0] ^= 1; break;
            case "r changed": sig[5] ^= 1; break;
            case "s changed": sig[40] ^= 1; break;
            case "r = 0": Array.Clear(sig, 0, 32); break;
            case "s = 0": Array.Clear(sig, 32, 32); break;
            case "r = n": n.CopyTo(sig, 0); break;
            case "s = n": n.CopyTo(sig, 32); break;
            case "short signature": sig = sig[..63]; break;
            case "long signature": sig = [.. sig, 0]; break;
            case "short key": pub = pub[..64]; break;
            default: pub = other.ExportPublicKey(); break;
        }

        Assert.False(Signature.Verify(pub, msg, sig), what);
    }

    // ECDSA signatures are malleable: (r, n − s) also verifies. Documented in SigningKey; pinned here so nobody relies
    // on signature bytes as identifiers by accident.
    [Fact]
    public void High_and_low_s_both_verify()
    {
        using SigningKey key = SigningKey.Generate();
        byte[] msg = "m"u8.ToArray();
        byte[] sig = key.Sign(msg);
        var s = new BigInteger(sig.AsSpan(32), isUnsigned: true, isBigEndian: true);
        byte[] flipped = (N - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        byte[] other = (byte[])sig.Clone();
        Array.Clear(other, 32, 32);
        flipped.CopyTo(other, 64 - flipped.Length);
        Assert.True(Signature.Verify(key.PublicKey, msg, other));
    }

    [Theory]
    [InlineData(63)]
    [InlineData(65)]
    public void Sign_into_wrong_length_throws(int length)
    {
        using SigningKey key = SigningKey.Generate();
        Assert.Throws<ArgumentException>(() => key.Sign("m"u8, new byte[length]));
    }

    [Fact]
    public void Disposed_signing_key_throws()
    {
        SigningKey key = SigningKey.Generate();
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.Sign("m"u8));
        Assert.Throws<ObjectDisposedException>(() => key.ExportPrivateKey(new byte[32]));
    }

    [Fact]
    public void Deterministic_signatures_repeat()
    {
        using SigningKey key = SigningKey.Generate();
        Assert.Equal(Hex.E(key.Sign("m"u8)), Hex.E(key.Sign("m"u8)));
    }
}
