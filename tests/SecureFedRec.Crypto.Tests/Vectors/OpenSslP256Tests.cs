using System.Numerics;
using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests.Vectors;

/// <summary>
/// The direct libcrypto P-256 path (<see cref="OpenSslP256"/>) against the previous paths it replaced (.NET ECDiffieHellman /
/// ECDsa, BouncyCastle RFC 6979 signing): same public keys, same secrets, same signatures, same refusals.
/// </summary>
public sealed class OpenSslP256Tests
{
    private static readonly KeyAgreementAlgorithm DotNetEcdh = new P256Agreement { UseOpenSsl = false };

    private static readonly BigInteger N = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);

    // libcrypto.so.3 is on every machine of this kind; a silent fallback to .NET / BouncyCastle would hide a broken binding.
    [Fact]
    public void OpenSsl_path_is_available_and_self_tested()
    {
        Assert.True(OpenSslP256.IsAvailable);
        using PrivateKey key = KeyAgreementAlgorithm.P256.GenerateKey();
        Assert.IsType<OpenSslP256.NativeKey>(key.Native);
        using SigningKey signing = SigningKey.Generate();
        Assert.True(signing.UsesOpenSsl);
        using SigningKey bc = SigningKey.Import(Hex.D("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"), useOpenSsl: false);
        Assert.False(bc.UsesOpenSsl);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Ecdh_equals_the_dotnet_path_on_random_keys(int seed)
    {
        using var rng = DeterministicRandomSource.FromTestSeed((ulong)(100 + seed));
        for (int i = 0; i < 16; i++)
        {
            byte[] scalar = new byte[32];
            P256Curve.GenerateScalar(rng, scalar);
            using PrivateKey direct = KeyAgreementAlgorithm.P256.ImportPrivateKey(scalar);
            using PrivateKey viaNet = DotNetEcdh.ImportPrivateKey(scalar);
            Assert.Equal(Hex.E(viaNet.PublicKey), Hex.E(direct.PublicKey));
            using PrivateKey peer = KeyAgreementAlgorithm.P256.GenerateKey(rng);
            Assert.True(KeyAgreementAlgorithm.P256.TryAgree(direct, peer.PublicKey, out SharedSecret? a));
            Assert.True(DotNetEcdh.TryAgree(viaNet, peer.PublicKey, out SharedSecret? b));
            using (a)
            using (b)
            {
                Assert.Equal(Hex.E(b.Span), Hex.E(a.Span));
            }

            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    [Theory]
    [InlineData("scalar 1", "0000000000000000000000000000000000000000000000000000000000000001")]
    [InlineData("scalar n - 1", "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550")]
    [InlineData("scalar 2^255", "8000000000000000000000000000000000000000000000000000000000000000")]
    public void Edge_scalars_match_the_previous_paths(string what, string scalar)
    {
        using PrivateKey direct = KeyAgreementAlgorithm.P256.ImportPrivateKey(Hex.D(scalar));
        using PrivateKey viaNet = DotNetEcdh.ImportPrivateKey(Hex.D(scalar));
        Assert.True(Hex.E(viaNet.PublicKey) == Hex.E(direct.PublicKey), what);
        using SigningKey signing = SigningKey.Import(Hex.D(scalar));
        using SigningKey bc = SigningKey.Import(Hex.D(scalar), useOpenSsl: false);
        Assert.True(Hex.E(bc.PublicKey) == Hex.E(signing.PublicKey), what);
        Assert.True(Hex.E(bc.Sign("edge"u8)) == Hex.E(signing.Sign("edge"u8)), what);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(3, 32)]
    [InlineData(4, 1000)]
    public void Signatures_equal_bouncycastle_rfc6979_on_random_keys(int seed, int messageLength)
    {
        using var rng = DeterministicRandomSource.FromTestSeed((ulong)(200 + seed));
        for (int i = 0; i < 16; i++)
        {
            byte[] scalar = new byte[32];
            P256Curve.GenerateScalar(rng, scalar);
            byte[] message = new byte[messageLength];
            rng.Fill(message);
            using SigningKey direct = SigningKey.Import(scalar);
            using SigningKey bc = SigningKey.Import(scalar, useOpenSsl: false);
            CryptographicOperations.ZeroMemory(scalar);
            Assert.Equal(Hex.E(bc.PublicKey), Hex.E(direct.PublicKey));
            byte[] signature = direct.Sign(message);
            Assert.Equal(Hex.E(bc.Sign(message)), Hex.E(signature));
            Assert.True(Signature.VerifyOn(direct.PublicKey, message, signature, useOpenSsl: true));
            Assert.True(Signature.VerifyOn(direct.PublicKey, message, signature, useOpenSsl: false));
        }
    }

    // bits2octets: a digest ≥ n is reduced mod n before it seeds the DRBG (RFC 6979 §2.3.4). Digests above n are 2^-32 rare,
    // so the nonce function is driven directly with them and compared with BouncyCastle's HMacDsaKCalculator.
    [Theory]
    [InlineData("digest = n", "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")]
    [InlineData("digest = n + 1", "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552")]
    [InlineData("digest = 2^256 - 1", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    [InlineData("digest = n - 1", "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550")]
    [InlineData("digest = 0", "0000000000000000000000000000000000000000000000000000000000000000")]
    public void Nonce_equals_bouncycastle_for_digests_at_and_above_n(string what, string digest)
    {
        byte[] x = Hex.D("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
        byte[] k = new byte[32];
        OpenSslP256.Rfc6979Nonce(x, Hex.D(digest), k);
        var calculator = new Org.BouncyCastle.Crypto.Signers.HMacDsaKCalculator(new Org.BouncyCastle.Crypto.Digests.Sha256Digest());
        calculator.Init(new Org.BouncyCastle.Math.BigInteger(1, N.ToByteArray(isUnsigned: true, isBigEndian: true)), new Org.BouncyCastle.Math.BigInteger(1, x), Hex.D(digest));
        byte[] expected = calculator.NextK().ToByteArrayUnsigned();
        Assert.True(Hex.E(k) == Hex.E(expected).PadLeft(64, '0'), what);
    }

    // The nonce's HMAC is built from two SHA-256 calls (RFC 2104); it must equal .NET's HMACSHA256 for every input size used.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(97)]
    public void Hmac_equals_dotnet_hmacsha256(int length)
    {
        byte[] key = SHA256.HashData(BitConverter.GetBytes(length));
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(i * 7);
        }

        byte[] output = new byte[32];
        OpenSslP256.Hmac(key, data, output, new byte[32]);
        Assert.Equal(Hex.E(HMACSHA256.HashData(key, data)), Hex.E(output));

        // Aliasing the key as the destination (K = HMAC_K(…)) is allowed.
        OpenSslP256.Hmac(key, data, key, new byte[32]);
        Assert.Equal(Hex.E(output), Hex.E(key));
    }

    [Theory]
    [InlineData(31, 0, 32)]
    [InlineData(33, 0, 32)]
    [InlineData(32, 98, 32)]
    [InlineData(32, 0, 31)]
    public void Hmac_refuses_sizes_it_does_not_handle(int keyLength, int dataLength, int scratchLength) =>
        Assert.Throws<ArgumentException>(() => OpenSslP256.Hmac(new byte[keyLength], new byte[dataLength], new byte[32], new byte[scratchLength]));

    [Theory]
    [MemberData(nameof(Misuse.KeyAgreementMisuse.InvalidP256Points), MemberType = typeof(Misuse.KeyAgreementMisuse))]
    public void Native_calls_refuse_invalid_points_by_themselves(string what, string point)
    {
        // Below the managed on-curve check: libcrypto's own decoding must refuse these too.
        using PrivateKey key = KeyAgreementAlgorithm.P256.GenerateKey();
        var native = (OpenSslP256.NativeKey)key.Native!;
        byte[] output = new byte[32];
        byte[] pointBytes = Hex.D(point);
        if (pointBytes.Length == 65 && pointBytes[0] == 0x04)
        {
            Assert.False(OpenSslP256.Derive(native, pointBytes, output), what);
        }

        Assert.False(OpenSslP256.Verify(pointBytes, new byte[32], new byte[64]), what);
    }

    [Theory]
    [InlineData(0, 32, 64)]
    [InlineData(64, 32, 64)]
    [InlineData(66, 32, 64)]
    [InlineData(65, 31, 64)]
    [InlineData(65, 33, 64)]
    [InlineData(65, 32, 63)]
    [InlineData(65, 32, 65)]
    public void Native_verify_refuses_wrong_lengths(int keyLength, int digestLength, int signatureLength)
    {
        using SigningKey key = SigningKey.Generate();
        byte[] digest = SHA256.HashData("m"u8);
        byte[] signature = new byte[64];
        Assert.True(OpenSslP256.Sign(GetNative(key), Scalar(key), digest, signature));
        Assert.True(OpenSslP256.Verify(key.PublicKey, digest, signature));
        byte[] pub = new byte[keyLength];
        key.PublicKey[..Math.Min(65, keyLength)].CopyTo(pub);
        byte[] d = new byte[digestLength];
        digest.AsSpan(0, Math.Min(32, digestLength)).CopyTo(d);
        byte[] s = new byte[signatureLength];
        signature.AsSpan(0, Math.Min(64, signatureLength)).CopyTo(s);
        Assert.False(OpenSslP256.Verify(pub, d, s));
    }

    [Theory]
    [InlineData(31, 32, 64)]
    [InlineData(32, 31, 64)]
    [InlineData(32, 32, 63)]
    public void Native_sign_and_derive_refuse_wrong_lengths(int scalarLength, int digestLength, int signatureLength)
    {
        using SigningKey key = SigningKey.Generate();
        byte[] scalar = new byte[scalarLength];
        Assert.False(OpenSslP256.Sign(GetNative(key), scalar, new byte[digestLength], new byte[signatureLength]));
        using PrivateKey agreement = KeyAgreementAlgorithm.P256.GenerateKey();
        using PrivateKey peer = KeyAgreementAlgorithm.P256.GenerateKey();
        Assert.False(OpenSslP256.Derive((OpenSslP256.NativeKey)agreement.Native!, peer.PublicKey, new byte[31]));
        Assert.False(OpenSslP256.Derive((OpenSslP256.NativeKey)agreement.Native!, peer.PublicKey[..64], new byte[32]));
        Assert.Null(OpenSslP256.ImportPrivate(new byte[31], new byte[65]));
    }

    [Theory]
    [InlineData("r = 0")]
    [InlineData("s = 0")]
    [InlineData("r = n")]
    [InlineData("s = n")]
    [InlineData("s = n + s")]
    [InlineData("r, s = 2^256 - 1")]
    [InlineData("n - s (the other valid s)")]
    public void Both_verifiers_agree_on_out_of_range_and_malleated_signatures(string what)
    {
        using SigningKey key = SigningKey.Generate();
        byte[] msg = "roster"u8.ToArray();
        byte[] sig = key.Sign(msg);
        var s = new BigInteger(sig.AsSpan(32), isUnsigned: true, isBigEndian: true);
        byte[] n = N.ToByteArray(isUnsigned: true, isBigEndian: true);
        bool expected = false;
        switch (what)
        {
            case "r = 0": Array.Clear(sig, 0, 32); break;
            case "s = 0": Array.Clear(sig, 32, 32); break;
            case "r = n": n.CopyTo(sig, 0); break;
            case "s = n": n.CopyTo(sig, 32); break;
            case "s = n + s":
                BigInteger big = N + s;
                if (big >= BigInteger.One << 256)
                {
                    return; // not representable in 32 bytes for this s
                }

                Write(big, sig.AsSpan(32));
                break;
            case "r, s = 2^256 - 1": sig.AsSpan().Fill(0xff); break;
            default:
                Write(N - s, sig.AsSpan(32));
                expected = true;
                break;
        }

        Assert.True(expected == Signature.VerifyOn(key.PublicKey, msg, sig, useOpenSsl: true), what);
        Assert.True(expected == Signature.VerifyOn(key.PublicKey, msg, sig, useOpenSsl: false), what);
    }

    [Fact]
    public void Concurrent_signing_and_agreement_stay_deterministic()
    {
        using SigningKey key = SigningKey.Generate();
        using PrivateKey mine = KeyAgreementAlgorithm.P256.GenerateKey();
        using PrivateKey peer = KeyAgreementAlgorithm.P256.GenerateKey();
        string expectedSignature = Hex.E(key.Sign("m"u8));
        Assert.True(KeyAgreementAlgorithm.P256.TryAgree(mine, peer.PublicKey, out SharedSecret? z));
        string expectedSecret;
        using (z)
        {
            expectedSecret = Hex.E(z.Span);
        }

        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            Assert.Equal(expectedSignature, Hex.E(key.Sign("m"u8)));
            Assert.True(Signature.Verify(key.PublicKey, "m"u8, Hex.D(expectedSignature)));
            Assert.True(KeyAgreementAlgorithm.P256.TryAgree(mine, peer.PublicKey, out SharedSecret? s));
            using (s)
            {
                Assert.Equal(expectedSecret, Hex.E(s.Span));
            }
        });
    }

    [Fact]
    public void Disposed_signing_key_releases_its_native_key()
    {
        SigningKey key = SigningKey.Generate();
        OpenSslP256.NativeKey native = GetNative(key);
        key.Dispose();
        Assert.True(native.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => key.Sign("m"u8));
    }

    private static void Write(BigInteger value, Span<byte> destination)
    {
        byte[] bytes = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        destination.Clear();
        bytes.CopyTo(destination[(destination.Length - bytes.Length)..]);
    }

    private static OpenSslP256.NativeKey GetNative(SigningKey key) =>
        (OpenSslP256.NativeKey)typeof(SigningKey).GetField("_native", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(key)!;

    private static byte[] Scalar(SigningKey key)
    {
        byte[] scalar = new byte[32];
        key.ExportPrivateKey(scalar);
        return scalar;
    }
}
