using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// P-256 ECDH, ECDSA verification and ECDSA signing with an RFC 6979 nonce, directly on the system's OpenSSL 3
/// <c>libcrypto</c> (the library .NET's own cryptography uses on Linux), through its <c>EC_KEY</c>/<c>ECDSA_*</c>/<c>ECDH_*</c>
/// functions (deprecated in 3.0 but part of the libcrypto.so.3 ABI for every 3.x release).
/// </summary>
/// <remarks>
/// <para>Why: .NET's <see cref="ECDiffieHellman"/>/<see cref="ECDsa"/> import a peer key through
/// <c>EC_KEY_set_public_key_affine_coordinates</c>, which runs <c>EC_KEY_check_key</c> (a full n·Q scalar multiplication),
/// and <c>EVP_PKEY_derive_set_peer</c> checks the peer once more; <c>openssl speed</c> does neither. P-256 has cofactor 1,
/// so a point that decodes (0x04 ‖ X ‖ Y, X, Y &lt; p) and lies on the curve is never the point at infinity and has order
/// n: the n·Q check adds nothing once <see cref="P256Curve.IsValidUncompressedPoint"/> and <c>EC_POINT_oct2point</c>
/// (which checks the curve equation again) have passed. The derived secret is the same x-coordinate.</para>
/// <para>Signing: .NET exposes no deterministic ECDSA, and OpenSSL 3.0 has no RFC 6979 nonce type (3.2 adds one). The
/// nonce k is computed here by RFC 6979 §3.2 (HMAC-DRBG over HMAC-SHA-256, in stack buffers wiped after use), then
/// R = k·G (<c>EC_POINT_mul</c>, constant-time on the P-256 backend, k flagged <c>BN_FLG_CONSTTIME</c>), r = x(R) mod n,
/// k⁻¹ = k^(n−2) mod n (<c>BN_mod_exp_mont_consttime</c>), and OpenSSL's own <c>ECDSA_do_sign_ex</c> computes
/// s = k⁻¹(e + r·d) mod n with the supplied (k⁻¹, r). The result equals BouncyCastle's RFC 6979 signature bit for bit (tests
/// cross-check both on random keys and the RFC 6979 A.2.5 vectors). Every temporary <c>BIGNUM</c> holding k, k⁻¹ or s is
/// freed with <c>BN_clear_free</c>; OpenSSL's <c>EC_KEY_free</c> clears the private scalar.</para>
/// <para><see cref="IsAvailable"/> runs NIST CAVP KAS ECC CDH COUNT 0 and RFC 6979 A.2.5 "sample" (sign and verify) once
/// before the path is used, so a libcrypto that loads but misbehaves is never trusted; otherwise the callers keep their
/// .NET (ECDH, verify) and BouncyCastle (sign) paths. Thread-safe: the group is read-only after creation and every call
/// uses its own native temporaries; the OpenSSL error queue is cleared after a refusal.</para>
/// </remarks>
internal static partial class OpenSslP256
{
    private const string LibCrypto = "libcrypto.so.3";
    private const int NidPrime256V1 = 415;
    private const int PointConversionUncompressed = 4;
    private const int BnFlagConstTime = 0x04;

    private static readonly Lazy<nint> GroupHandle = new(() => EC_GROUP_new_by_curve_name(NidPrime256V1));
    private static readonly Lazy<Constants> OrderConstants = new(Constants.Create);
    private static readonly Lazy<bool> Available = new(SelfTest);

    // n and n − 2, big-endian (n from FIPS 186-4 §D.1.2.3).
    private static ReadOnlySpan<byte> OrderBytes =>
    [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    ];

    private static ReadOnlySpan<byte> OrderMinusTwoBytes =>
    [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x4f,
    ];

    /// <summary>True when libcrypto loaded and reproduced the CAVP ECDH and RFC 6979 vectors.</summary>
    internal static bool IsAvailable => Available.Value;

    private static nint Group => GroupHandle.Value;

    private static Constants Order => OrderConstants.Value;

    // An EC_KEY on the shared group: EC_KEY_set_group copies the group (≈ 1 µs), where EC_KEY_new_by_curve_name builds it
    // from the curve's parameters on every call (≈ 14 µs, a third of a scalar multiplication).
    private static nint NewKey()
    {
        nint key = EC_KEY_new();
        if (key != 0 && EC_KEY_set_group(key, Group) != 1)
        {
            EC_KEY_free(key);
            return 0;
        }

        return key;
    }

    /// <summary>
    /// Creates the native key for a scalar already checked to be in [1, n−1] and writes its 65-byte public key
    /// (d·G, uncompressed). Null when OpenSSL refuses.
    /// </summary>
    internal static NativeKey? ImportPrivate(ReadOnlySpan<byte> scalar, Span<byte> publicKey)
    {
        if (scalar.Length != 32 || publicKey.Length != 65 || Group == 0)
        {
            return null;
        }

        nint key = NewKey();
        if (key == 0)
        {
            return null;
        }

        var native = new NativeKey(key);
        nint d = 0;
        nint q = 0;
        try
        {
            d = BN_bin2bn(scalar, scalar.Length, 0);
            if (d == 0)
            {
                native.Dispose();
                return null;
            }

            BN_set_flags(d, BnFlagConstTime);
            q = EC_POINT_new(Group);
            if (q == 0 || EC_KEY_set_private_key(key, d) != 1 || EC_POINT_mul(Group, q, d, 0, 0, 0) != 1
                || EC_KEY_set_public_key(key, q) != 1
                || EC_POINT_point2oct(Group, q, PointConversionUncompressed, publicKey, (nuint)publicKey.Length, 0) != 65)
            {
                native.Dispose();
                return null;
            }

            return native;
        }
        finally
        {
            BN_clear_free(d);
            EC_POINT_free(q);
            ERR_clear_error();
        }
    }

    /// <summary>The x-coordinate of d·Q into <paramref name="output"/> (32 bytes); false when OpenSSL refuses the point.</summary>
    /// <remarks>The caller has validated <paramref name="peerPublicKey"/> with <see cref="P256Curve.IsValidUncompressedPoint"/>;
    /// <c>EC_POINT_oct2point</c> checks the curve equation again.</remarks>
    internal static bool Derive(NativeKey mine, ReadOnlySpan<byte> peerPublicKey, Span<byte> output)
    {
        if (peerPublicKey.Length != 65 || output.Length != 32)
        {
            return false;
        }

        nint q = EC_POINT_new(Group);
        bool added = false;
        try
        {
            if (q == 0 || EC_POINT_oct2point(Group, q, peerPublicKey, (nuint)peerPublicKey.Length, 0) != 1 || EC_POINT_is_at_infinity(Group, q) != 0)
            {
                return false;
            }

            mine.DangerousAddRef(ref added);
            return ECDH_compute_key(output, (nuint)output.Length, q, mine.DangerousGetHandle(), 0) == 32;
        }
        finally
        {
            EC_POINT_free(q);
            if (added)
            {
                mine.DangerousRelease();
            }

            ERR_clear_error();
        }
    }

    /// <summary>ECDSA verification of r ‖ s over a 32-byte digest; false for a point OpenSSL refuses, r or s outside [1, n−1],
    /// or a signature that does not verify.</summary>
    internal static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != 65 || digest.Length != 32 || signature.Length != 64)
        {
            return false;
        }

        nint key = NewKey();
        nint sig = 0;
        try
        {
            if (key == 0 || EC_KEY_oct2key(key, publicKey, (nuint)publicKey.Length, 0) != 1)
            {
                return false;
            }

            sig = ECDSA_SIG_new();
            if (sig == 0)
            {
                return false;
            }

            nint r = BN_bin2bn(signature[..32], 32, 0);
            nint s = BN_bin2bn(signature[32..], 32, 0);
            if (r == 0 || s == 0 || ECDSA_SIG_set0(sig, r, s) != 1)
            {
                BN_free(r);
                BN_free(s);
                return false;
            }

            // 1 = valid, 0 = invalid (incl. r or s outside [1, n−1]), −1 = error.
            return ECDSA_do_verify(digest, digest.Length, sig, key) == 1;
        }
        finally
        {
            ECDSA_SIG_free(sig);
            EC_KEY_free(key);
            ERR_clear_error();
        }
    }

    /// <summary>
    /// Signs a 32-byte digest with the RFC 6979 §3.2 nonce for (<paramref name="scalar"/>, <paramref name="digest"/>) into
    /// 64 bytes r ‖ s. False when OpenSSL refuses or the nonce gives r = 0 or s = 0 (probability ≈ 2^-256; the caller then
    /// uses the BouncyCastle path, which continues the RFC 6979 DRBG).
    /// </summary>
    internal static bool Sign(NativeKey key, ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> digest, Span<byte> signature)
    {
        if (scalar.Length != 32 || digest.Length != 32 || signature.Length != 64)
        {
            return false;
        }

        Constants order = Order;
        if (!order.IsValid)
        {
            return false;
        }

        Span<byte> k = stackalloc byte[32];
        nint ctx = 0;
        nint kBn = 0;
        nint kInverse = 0;
        nint point = 0;
        nint x = 0;
        nint r = 0;
        nint sig = 0;
        bool added = false;
        try
        {
            Rfc6979Nonce(scalar, digest, k);
            ctx = BN_CTX_new();
            kBn = BN_bin2bn(k, k.Length, 0);
            kInverse = BN_new();
            point = EC_POINT_new(Group);
            x = BN_new();
            r = BN_new();
            if (ctx == 0 || kBn == 0 || kInverse == 0 || point == 0 || x == 0 || r == 0)
            {
                return false;
            }

            BN_set_flags(kBn, BnFlagConstTime);
            if (EC_POINT_mul(Group, point, kBn, 0, 0, ctx) != 1
                || EC_POINT_get_affine_coordinates(Group, point, x, 0, ctx) != 1
                || BN_nnmod(r, x, order.N, ctx) != 1 || BN_is_zero(r) != 0
                || BN_mod_exp_mont_consttime(kInverse, kBn, order.NMinusTwo, order.N, ctx, order.Montgomery) != 1)
            {
                return false;
            }

            key.DangerousAddRef(ref added);
            sig = ECDSA_do_sign_ex(digest, digest.Length, kInverse, r, key.DangerousGetHandle());
            if (sig == 0)
            {
                return false;
            }

            ECDSA_SIG_get0(sig, out nint sigR, out nint sigS);
            return BN_bn2binpad(sigR, signature[..32], 32) == 32 && BN_bn2binpad(sigS, signature[32..], 32) == 32;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(k);
            ECDSA_SIG_free(sig); // BN_clear_free of r and s
            BN_clear_free(kBn);
            BN_clear_free(kInverse);
            EC_POINT_clear_free(point);
            BN_free(x);
            BN_free(r);
            BN_CTX_free(ctx);
            if (added)
            {
                key.DangerousRelease();
            }

            ERR_clear_error();
        }
    }

    /// <summary>
    /// RFC 6979 §3.2 for P-256 / HMAC-SHA-256 (qlen = hlen = 256): the first candidate T with 1 ≤ bits2int(T) &lt; n.
    /// <paramref name="scalar"/> is int2octets(x); <paramref name="digest"/> is H(m), reduced mod n for bits2octets.
    /// </summary>
    internal static void Rfc6979Nonce(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> digest, Span<byte> k)
    {
        // h1 → bits2octets(h1) = int2octets(bits2int(h1) mod n); bits2int(h1) < 2^256 < 2n, so one conditional subtraction.
        Span<byte> h = stackalloc byte[32];
        digest.CopyTo(h);
        if (!LessThanOrder(h))
        {
            SubtractOrder(h);
        }

        Span<byte> v = stackalloc byte[32];
        Span<byte> hmacKey = stackalloc byte[32];
        Span<byte> t = stackalloc byte[32];
        Span<byte> input = stackalloc byte[32 + 1 + 32 + 32];
        try
        {
            v.Fill(0x01);                                      // step b
            hmacKey.Clear();                                   // step c
            Seed(hmacKey, v, 0x00, scalar, h, input, t);       // steps d, e
            Seed(hmacKey, v, 0x01, scalar, h, input, t);       // steps f, g
            while (true)
            {
                Hmac(hmacKey, v, v, t);                        // step h.2 (tlen = qlen: one block)
                if (!IsZero(v) && LessThanOrder(v))
                {
                    v.CopyTo(k);
                    return;
                }

                // step h.3: K = HMAC_K(V ‖ 0x00), V = HMAC_K(V)
                v.CopyTo(input);
                input[32] = 0x00;
                Hmac(hmacKey, input[..33], hmacKey, t);
                Hmac(hmacKey, v, v, t);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(v);
            CryptographicOperations.ZeroMemory(hmacKey);
            CryptographicOperations.ZeroMemory(t);
            CryptographicOperations.ZeroMemory(input);
        }
    }

    // K = HMAC_K(V ‖ tag ‖ int2octets(x) ‖ bits2octets(h1)); V = HMAC_K(V).
    private static void Seed(Span<byte> hmacKey, Span<byte> v, byte tag, ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> h, Span<byte> input, Span<byte> t)
    {
        v.CopyTo(input);
        input[32] = tag;
        scalar.CopyTo(input[33..]);
        h.CopyTo(input[65..]);
        Hmac(hmacKey, input, hmacKey, t);
        Hmac(hmacKey, v, v, t);
    }

    /// <summary>
    /// destination = HMAC-SHA-256(key, data) for a 32-byte key and data of at most 97 bytes (RFC 2104:
    /// H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ data))), through a scratch block so that destination may alias key or data. Two
    /// one-shot SHA-256 calls: .NET's one-shot HMAC re-creates an OpenSSL MAC context per call and costs twice as much,
    /// which is a fifth of a signature. The padded key blocks live on the stack and are wiped.
    /// </summary>
    internal static void Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination, Span<byte> scratch)
    {
        const int Block = 64;
        if (key.Length != 32 || data.Length > 97 || scratch.Length != 32)
        {
            throw new ArgumentException("HMAC-SHA-256 here takes a 32-byte key, at most 97 bytes of data and a 32-byte scratch block.");
        }

        Span<byte> inner = stackalloc byte[Block + 97];
        Span<byte> outer = stackalloc byte[Block + 32];
        try
        {
            inner[..Block].Fill(0x36);
            outer[..Block].Fill(0x5c);
            for (int i = 0; i < key.Length; i++)
            {
                inner[i] ^= key[i];
                outer[i] ^= key[i];
            }

            data.CopyTo(inner[Block..]);
            SHA256.HashData(inner[..(Block + data.Length)], outer[Block..]);
            SHA256.HashData(outer, scratch);
            scratch.CopyTo(destination);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(inner);
            CryptographicOperations.ZeroMemory(outer);
        }
    }

    /// <summary>n, n − 2 and n's Montgomery context as native objects, created once per process and never freed (read-only,
    /// so shared by every thread).</summary>
    private sealed class Constants
    {
        private Constants(nint n, nint nMinusTwo, nint montgomery)
        {
            N = n;
            NMinusTwo = nMinusTwo;
            Montgomery = montgomery;
        }

        internal nint N { get; }

        internal nint NMinusTwo { get; }

        internal nint Montgomery { get; }

        internal bool IsValid => N != 0 && NMinusTwo != 0 && Montgomery != 0;

        internal static Constants Create()
        {
            nint n = BN_bin2bn(OrderBytes, 32, 0);
            nint exponent = BN_bin2bn(OrderMinusTwoBytes, 32, 0);
            nint montgomery = BN_MONT_CTX_new();
            nint ctx = BN_CTX_new();
            try
            {
                if (n == 0 || montgomery == 0 || ctx == 0 || BN_MONT_CTX_set(montgomery, n, ctx) != 1)
                {
                    return new Constants(0, 0, 0);
                }

                return new Constants(n, exponent, montgomery);
            }
            finally
            {
                BN_CTX_free(ctx);
            }
        }
    }

    // Constant-time over the 32 bytes: value < n as big-endian integers (the borrow out of value − n).
    private static bool LessThanOrder(ReadOnlySpan<byte> value)
    {
        ReadOnlySpan<byte> n = OrderBytes;
        int borrow = 0;
        for (int i = 31; i >= 0; i--)
        {
            borrow = ((value[i] - n[i] - borrow) >> 31) & 1;
        }

        return borrow == 1;
    }

    private static void SubtractOrder(Span<byte> value)
    {
        ReadOnlySpan<byte> n = OrderBytes;
        int borrow = 0;
        for (int i = 31; i >= 0; i--)
        {
            int d = value[i] - n[i] - borrow;
            value[i] = (byte)d;
            borrow = (d >> 31) & 1;
        }
    }

    private static bool IsZero(ReadOnlySpan<byte> value)
    {
        int acc = 0;
        foreach (byte b in value)
        {
            acc |= b;
        }

        return acc == 0;
    }

    private static bool SelfTest()
    {
        try
        {
            if (Group == 0)
            {
                return false;
            }

            // NIST CAVP KAS ECC CDH primitive, [P-256] COUNT = 0 (dIUT, QIUT, QCAVS, ZIUT).
            byte[] d = Convert.FromHexString("7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534");
            byte[] qiut = Convert.FromHexString("04ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b23028af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141");
            byte[] qcavs = Convert.FromHexString("04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac");
            byte[] ziut = Convert.FromHexString("46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b");
            Span<byte> pub = stackalloc byte[65];
            Span<byte> z = stackalloc byte[32];
            using (NativeKey? key = ImportPrivate(d, pub))
            {
                if (key is null || !pub.SequenceEqual(qiut) || !Derive(key, qcavs, z) || !z.SequenceEqual(ziut))
                {
                    return false;
                }
            }

            // RFC 6979 A.2.5, P-256 / SHA-256, message "sample".
            byte[] x = Convert.FromHexString("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
            byte[] expected = Convert.FromHexString("efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8");
            byte[] digest = SHA256.HashData("sample"u8);
            Span<byte> signature = stackalloc byte[64];
            using (NativeKey? key = ImportPrivate(x, pub))
            {
                if (key is null || !Sign(key, x, digest, signature) || !signature.SequenceEqual(expected) || !Verify(pub, digest, signature))
                {
                    return false;
                }
            }

            signature[63] ^= 1;
            return !Verify(pub, digest, signature);
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>An owned <c>EC_KEY*</c>; released on dispose (<c>EC_KEY_free</c> clears the private scalar).</summary>
    internal sealed class NativeKey : SafeHandle
    {
        internal NativeKey(nint handle)
            : base(0, ownsHandle: true) => SetHandle(handle);

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            EC_KEY_free(handle);
            return true;
        }
    }

    [LibraryImport(LibCrypto)]
    private static partial nint EC_GROUP_new_by_curve_name(int nid);

    [LibraryImport(LibCrypto)]
    private static partial nint EC_KEY_new();


    [LibraryImport(LibCrypto)]
    private static partial int EC_KEY_set_group(nint key, nint group);

    [LibraryImport(LibCrypto)]
    private static partial void EC_KEY_free(nint key);

    [LibraryImport(LibCrypto)]
    private static partial int EC_KEY_set_private_key(nint key, nint priv);

    [LibraryImport(LibCrypto)]
    private static partial int EC_KEY_set_public_key(nint key, nint point);

    [LibraryImport(LibCrypto)]
    private static partial int EC_KEY_oct2key(nint key, ReadOnlySpan<byte> buffer, nuint length, nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial nint EC_POINT_new(nint group);

    [LibraryImport(LibCrypto)]
    private static partial void EC_POINT_free(nint point);

    [LibraryImport(LibCrypto)]
    private static partial void EC_POINT_clear_free(nint point);

    [LibraryImport(LibCrypto)]
    private static partial int EC_POINT_mul(nint group, nint result, nint generatorScalar, nint point, nint pointScalar, nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial int EC_POINT_oct2point(nint group, nint point, ReadOnlySpan<byte> buffer, nuint length, nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial nuint EC_POINT_point2oct(nint group, nint point, int form, Span<byte> buffer, nuint length, nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial int EC_POINT_is_at_infinity(nint group, nint point);

    [LibraryImport(LibCrypto)]
    private static partial int EC_POINT_get_affine_coordinates(nint group, nint point, nint x, nint y, nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial int ECDH_compute_key(Span<byte> output, nuint length, nint publicKey, nint key, nint kdf);

    [LibraryImport(LibCrypto)]
    private static partial nint ECDSA_SIG_new();

    [LibraryImport(LibCrypto)]
    private static partial void ECDSA_SIG_free(nint sig);

    [LibraryImport(LibCrypto)]
    private static partial int ECDSA_SIG_set0(nint sig, nint r, nint s);

    [LibraryImport(LibCrypto)]
    private static partial void ECDSA_SIG_get0(nint sig, out nint r, out nint s);

    [LibraryImport(LibCrypto)]
    private static partial int ECDSA_do_verify(ReadOnlySpan<byte> digest, int length, nint sig, nint key);

    [LibraryImport(LibCrypto)]
    private static partial nint ECDSA_do_sign_ex(ReadOnlySpan<byte> digest, int length, nint kInverse, nint r, nint key);

    [LibraryImport(LibCrypto)]
    private static partial nint BN_new();

    [LibraryImport(LibCrypto)]
    private static partial void BN_free(nint bn);

    [LibraryImport(LibCrypto)]
    private static partial void BN_clear_free(nint bn);

    [LibraryImport(LibCrypto)]
    private static partial nint BN_bin2bn(ReadOnlySpan<byte> bytes, int length, nint result);

    [LibraryImport(LibCrypto)]
    private static partial int BN_bn2binpad(nint bn, Span<byte> destination, int length);

    [LibraryImport(LibCrypto)]
    private static partial void BN_set_flags(nint bn, int flags);

    [LibraryImport(LibCrypto)]
    private static partial int BN_is_zero(nint bn);

    [LibraryImport(LibCrypto)]
    private static partial int BN_nnmod(nint result, nint a, nint modulus, nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial int BN_mod_exp_mont_consttime(nint result, nint a, nint exponent, nint modulus, nint ctx, nint montgomery);

    [LibraryImport(LibCrypto)]
    private static partial nint BN_CTX_new();

    [LibraryImport(LibCrypto)]
    private static partial nint BN_MONT_CTX_new();

    [LibraryImport(LibCrypto)]
    private static partial int BN_MONT_CTX_set(nint montgomery, nint modulus, nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial void BN_CTX_free(nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial void ERR_clear_error();
}
