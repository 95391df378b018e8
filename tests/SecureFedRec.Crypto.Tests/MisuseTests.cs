using System.Numerics;
using System.Reflection;
using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests;

/// <summary>The misuse matrix: every primitive refuses wrong lengths, disposed holders and tampered input with a typed
/// error or a false, and loses nothing.</summary>
public sealed class RandomSourceMisuse
{
    [Fact]
    public void NextBelow_zero_throws() => Assert.Throws<ArgumentOutOfRangeException>(() => RandomSource.System.NextBelow(0));

    [Theory]
    [InlineData(1UL)]
    [InlineData(7UL)]
    [InlineData((1UL << 63) + 1)]
    [InlineData(ulong.MaxValue)]
    public void NextBelow_stays_below(ulong bound)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(bound);
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(rng.NextBelow(bound) < bound);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Deterministic_seed_must_be_32_bytes(int length) =>
        Assert.Throws<ArgumentException>(() => new DeterministicRandomSource(new byte[length]));

    [Fact]
    public void Deterministic_after_dispose_throws()
    {
        var rng = DeterministicRandomSource.FromTestSeed(1);
        rng.Dispose();
        Assert.Throws<ObjectDisposedException>(() => rng.NextUInt64());
    }

    // Definition pinned for other implementations: the stream is AES-256-CTR(key = seed, counter block from 0).
    [Fact]
    public void Deterministic_stream_is_aes256_ctr_of_the_seed_from_counter_zero()
    {
        byte[] seed = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
        byte[] counters = new byte[16 * 200];
        for (int i = 0; i < 200; i++)
        {
            counters[(i * 16) + 15] = (byte)i;
        }

        using var aes = Aes.Create();
        aes.Key = seed;
        byte[] expected = aes.EncryptEcb(counters, PaddingMode.None);

        // Read in irregular pieces (crossing the internal buffer and the direct path) and compare with the one stream.
        using var rng = new DeterministicRandomSource(seed);
        byte[] actual = new byte[expected.Length];
        int offset = 0;
        foreach (int piece in new[] { 1, 3, 8, 100, 1024, 2, 5, 40 })
        {
            rng.Fill(actual.AsSpan(offset, piece));
            offset += piece;
        }

        rng.Fill(actual.AsSpan(offset));
        Assert.Equal(Hex.E(expected), Hex.E(actual));
    }

    [Fact]
    public void NextBelow_is_uniform_chi_square()
    {
        using var rng = DeterministicRandomSource.FromTestSeed(99);
        const int Bound = 6;
        const int N = 60_000;
        var counts = new int[Bound];
        for (int i = 0; i < N; i++)
        {
            counts[rng.NextBelow(Bound)]++;
        }

        double chi = counts.Sum(c => Math.Pow(c - (N / (double)Bound), 2) / (N / (double)Bound));
        Assert.True(chi < Stats.ChiSquareCritical(Bound - 1), $"chi² = {chi}");
    }
}

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

public sealed class AeadMisuse
{
    private static readonly byte[] Ad = "header"u8.ToArray();
    private static readonly byte[] Message = "the shares of client 17"u8.ToArray();

    [Fact]
    public void Round_trip_and_fresh_nonces()
    {
        using var key = SecretBytes.Generate();
        byte[] one = Aead.Seal(key, Ad, Message);
        byte[] two = Aead.Seal(key, Ad, Message);
        Assert.NotEqual(Hex.E(one.AsSpan(0, 12)), Hex.E(two.AsSpan(0, 12)));
        byte[] plain = new byte[Message.Length];
        Assert.True(Aead.TryOpen(key, Ad, one, plain));
        Assert.Equal(Message, plain);
    }

    [Theory]
    [InlineData("nonce", 0)]
    [InlineData("ciphertext", 12)]
    [InlineData("tag", -1)]
    [InlineData("associated data", -2)]
    [InlineData("key", -3)]
    [InlineData("truncated", -4)]
    public void Tampering_fails_and_wipes_the_output(string what, int position)
    {
        using var key = SecretBytes.Generate();
        using var otherKey = SecretBytes.Generate();
        byte[] sealedMessage = Aead.Seal(key, Ad, Message);
        byte[] ad = (byte[])Ad.Clone();
        SecretBytes useKey = key;
        switch (position)
        {
            case >= 0: sealedMessage[position] ^= 1; break;
            case -1: sealedMessage[^1] ^= 0x80; break;
            case -2: ad[0] ^= 1; break;
            case -3: useKey = otherKey; break;
            default: sealedMessage = sealedMessage[..^1]; break;
        }

        byte[] plain = Enumerable.Repeat((byte)0xAA, Aead.PlaintextLength(sealedMessage.Length)).ToArray();
        Assert.False(Aead.TryOpen(useKey, ad, sealedMessage, plain), what);
        Assert.All(plain, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(27)]
    public void Too_short_is_false(int length)
    {
        using var key = SecretBytes.Generate();
        Assert.False(Aead.TryOpen(key, Ad, new byte[length], Span<byte>.Empty));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void Wrong_key_length_throws(int length)
    {
        using var key = SecretBytes.Generate(length);
        Assert.Throws<ArgumentException>(() => Aead.Seal(key, Ad, Message));
        Assert.Throws<ArgumentException>(() => Aead.TryOpen(key, Ad, new byte[40], new byte[12]));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void Wrong_buffer_lengths_throw(int delta)
    {
        using var key = SecretBytes.Generate();
        Assert.Throws<ArgumentException>(() => Aead.Seal(key, Ad, Message, new byte[Message.Length + Aead.Overhead + delta]));
        byte[] sealedMessage = Aead.Seal(key, Ad, Message);
        Assert.Throws<ArgumentException>(() => Aead.TryOpen(key, Ad, sealedMessage, new byte[Message.Length + delta]));
    }

    [Fact]
    public void Disposed_key_throws()
    {
        var key = SecretBytes.Generate();
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Aead.Seal(key, Ad, Message));
    }
}

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

public sealed class MaskPrgMisuse
{
    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    [InlineData(-1)]
    public void Bits_out_of_range_throw(int bits) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MaskPrg.AddMask(new byte[32], default, bits, new uint[4]));

    [Theory]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void Seed_length_must_be_32(int length) =>
        Assert.Throws<ArgumentException>(() => MaskPrg.Generate(new byte[length], default, 8, new uint[4]));

    [Fact]
    public void Context_too_long_throws() =>
        Assert.Throws<ArgumentException>(() => MaskPrg.Generate(new byte[32], new byte[MaskPrg.MaxContextLength + 1], 8, new uint[4]));

    [Fact]
    public void Disposed_seed_holder_throws()
    {
        var seed = SecretBytes.Generate();
        seed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => MaskPrg.AddMask(seed, default, 8, new uint[4]));
    }

    // The definition in the type's doc comment, recomputed from independent pieces (.NET HKDF, .NET AES-ECB over counter
    // blocks): any other implementation following the text gets the same mask.
    [Theory]
    [InlineData(32, 1)]
    [InlineData(13, 37)]
    [InlineData(1, 1030)]
    public void Matches_its_written_definition(int bits, int length)
    {
        byte[] seed = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
        byte[] context = "session 9 / round 2 / pair (3,8)"u8.ToArray();
        uint[] actual = new uint[length];
        MaskPrg.Generate(seed, context, bits, actual);

        byte[] info = [.. "SecureFedRec/v1\0mask-prg\0"u8, 0, 0, 0, (byte)context.Length, .. context];
        byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, 32, salt: [], info: info);
        int blocks = ((length * 4) + 15) / 16;
        byte[] counters = new byte[blocks * 16];
        for (int i = 0; i < blocks; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(counters.AsSpan(i * 16), (UInt128)i);
        }

        using var aes = Aes.Create();
        aes.Key = key;
        byte[] ks = aes.EncryptEcb(counters, PaddingMode.None);
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(ks.AsSpan(i * 4)) & mask, actual[i]);
        }
    }

    [Fact]
    public void Contexts_separate_streams()
    {
        uint[] a = new uint[8];
        uint[] b = new uint[8];
        MaskPrg.Generate(new byte[32], "a"u8, 32, a);
        MaskPrg.Generate(new byte[32], "b"u8, 32, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Backends_agree_on_every_operation()
    {
        byte[] seed = new byte[32];
        seed[0] = 1;
        foreach (MaskOperation op in Enum.GetValues<MaskOperation>())
        {
            uint[] fast = Enumerable.Range(0, 5000).Select(i => (uint)(i * 2654435761u)).ToArray();
            uint[] slow = (uint[])fast.Clone();
            MaskPrg.Run(seed, "x"u8, 20, fast, op, AesCtrBackend.Auto);
            MaskPrg.Run(seed, "x"u8, 20, slow, op, AesCtrBackend.Portable);
            Assert.Equal(slow, fast);
        }
    }
}

public sealed class ShamirMisuse
{
    private static readonly byte[] Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData("secret of 31 bytes")]
    [InlineData("threshold 0")]
    [InlineData("threshold above n")]
    [InlineData("x = 0")]
    [InlineData("x negative")]
    [InlineData("duplicate x")]
    [InlineData("no shares")]
    public void Split_refuses_bad_parameters(string what)
    {
        byte[] secret = Secret;
        int t = 2;
        int[] xs = [1, 2, 3];
        switch (what)
        {
            case "secret of 31 bytes": secret = Secret[..31]; break;
            case "threshold 0": t = 0; break;
            case "threshold above n": t = 4; break;
            case "x = 0": xs[1] = 0; break;
            case "x negative": xs[1] = -5; break;
            case "duplicate x": xs[2] = 1; break;
            default: xs = []; break;
        }

        Assert.ThrowsAny<ArgumentException>(() => Shamir.Split(secret, t, xs));
    }

    [Theory]
    [InlineData(ShamirResult.TooFewShares)]
    [InlineData(ShamirResult.DuplicateIndex)]
    [InlineData(ShamirResult.IndexOutOfRange)]
    [InlineData(ShamirResult.MalformedShare)]
    [InlineData(ShamirResult.NotASecret)]
    [InlineData(ShamirResult.InconsistentShares)]
    public void Reconstruct_refusals_are_typed_and_wipe_the_output(ShamirResult expected)
    {
        ShamirShare[] shares = Shamir.Split(Secret, 3, new[] { 1, 2, 3, 4 });
        byte[] y = new byte[33];
        List<ShamirShare> use = shares.Take(3).ToList();
        switch (expected)
        {
            case ShamirResult.TooFewShares: use = shares.Take(2).ToList(); break;
            case ShamirResult.DuplicateIndex: shares[0].ExportY(y); use[2] = ShamirShare.Import(1, y); break;
            case ShamirResult.IndexOutOfRange: shares[0].ExportY(y); use[0] = ShamirShare.Import(0, y); break;
            case ShamirResult.MalformedShare: use[1] = ShamirShare.Import(2, Enumerable.Repeat((byte)0xFF, 33).ToArray()); break;
            case ShamirResult.NotASecret:
                // The constant polynomial 2^256 + 5 (< p): a valid field element but not a 256-bit secret.
                byte[] big = ((BigInteger.One << 256) + 5).ToByteArray(isUnsigned: true, isBigEndian: true);
                use = new[] { 1, 2, 3 }.Select(x => ShamirShare.Import(x, big)).ToList();
                break;
            default:
                shares[3].ExportY(y);
                y[^1] ^= 1;
                use = [.. shares.Take(3), ShamirShare.Import(4, y)];
                break;
        }

        byte[] output = Enumerable.Repeat((byte)0xAA, 32).ToArray();
        Assert.Equal(expected, Shamir.TryReconstruct(use, 3, output));
        Assert.All(output, b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_tampered_share_among_exactly_t_gives_a_different_secret()
    {
        ShamirShare[] shares = Shamir.Split(Secret, 3, new[] { 1, 2, 3 });
        byte[] y = new byte[33];
        shares[2].ExportY(y);
        y[^1] ^= 1;
        byte[] output = new byte[32];
        ShamirResult result = Shamir.TryReconstruct([shares[0], shares[1], ShamirShare.Import(3, y)], 3, output);
        Assert.True(result == ShamirResult.NotASecret || (result == ShamirResult.Ok && !output.SequenceEqual(Secret)));
    }

    [Fact]
    public void Disposed_share_throws()
    {
        ShamirShare[] shares = Shamir.Split(Secret, 2, new[] { 1, 2 });
        shares[1].Dispose();
        Assert.Throws<ObjectDisposedException>(() => Shamir.TryReconstruct(shares, 2, new byte[32]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Reconstruct_threshold_must_be_positive(int t) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Shamir.TryReconstruct(Array.Empty<ShamirShare>(), t, new byte[32]));

    [Fact]
    public void Reconstruct_output_must_be_32_bytes() =>
        Assert.Throws<ArgumentException>(() => Shamir.TryReconstruct(Array.Empty<ShamirShare>(), 1, new byte[33]));

    [Fact]
    public void Import_needs_33_byte_y() => Assert.Throws<ArgumentException>(() => ShamirShare.Import(1, new byte[32]));

    [Theory]
    [InlineData("unknown x", ShamirResult.IndexOutOfRange)]
    [InlineData("too few", ShamirResult.TooFewShares)]
    [InlineData("in another order", ShamirResult.Ok)]
    public void LagrangeCache_checks_the_x_set(string what, ShamirResult expected)
    {
        ShamirShare[] shares = Shamir.Split(Secret, 3, new[] { 1, 2, 3, 9 });
        var cache = new LagrangeCache(new[] { 1, 2, 3 });
        ShamirShare[] use = what switch
        {
            "unknown x" => [shares[0], shares[1], shares[3]],
            "too few" => [shares[0], shares[1]],
            _ => [shares[2], shares[0], shares[1]],
        };
        byte[] output = new byte[32];
        Assert.Equal(expected, cache.TryReconstruct(use, output));
        Assert.Equal(expected == ShamirResult.Ok, output.SequenceEqual(Secret));
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 0, 1 })]
    public void LagrangeCache_refuses_bad_x_sets(int[] xs) => Assert.Throws<ArgumentException>(() => new LagrangeCache(xs));
}
