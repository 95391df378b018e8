using System.Runtime.InteropServices;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// X25519 through the system's OpenSSL 3 <c>libcrypto</c> (the same library .NET's own cryptography uses on Linux):
/// <c>EVP_PKEY_new_raw_private_key</c>/<c>EVP_PKEY_derive</c> with <c>NID_X25519</c>. About 3–4× faster than the managed
/// BouncyCastle ladder, which stays as the fallback when libcrypto cannot be loaded or fails its self-test.
/// </summary>
/// <remarks>
/// OpenSSL clamps the scalar and masks the top bit of u (RFC 7748 §5) and refuses to derive an all-zero secret (§6.1),
/// which the caller also checks. The native private key is freed with <c>EVP_PKEY_free</c>, which clears the key bytes
/// (<c>OPENSSL_secure_clear_free</c>). <see cref="IsAvailable"/> runs the RFC 7748 §6.1 vector once before the path is used,
/// so a libcrypto that loads but misbehaves is never trusted. Thread-safe: each call uses its own native context.
/// </remarks>
internal static partial class OpenSslX25519
{
    private const string LibCrypto = "libcrypto.so.3";
    private const int NidX25519 = 1034;

    private static readonly Lazy<bool> Available = new(SelfTest);

    /// <summary>True when libcrypto loaded and reproduced RFC 7748 §6.1 (Alice's public key and the shared secret).</summary>
    internal static bool IsAvailable => Available.Value;

    /// <summary>Imports a raw 32-byte private key; writes its public key. Null when OpenSSL refuses.</summary>
    internal static NativeKey? ImportPrivate(ReadOnlySpan<byte> scalar, Span<byte> publicKey)
    {
        nint pkey = EVP_PKEY_new_raw_private_key(NidX25519, 0, scalar, (nuint)scalar.Length);
        if (pkey == 0)
        {
            return null;
        }

        var key = new NativeKey(pkey);
        nuint length = (nuint)publicKey.Length;
        if (EVP_PKEY_get_raw_public_key(pkey, publicKey, ref length) != 1 || length != 32)
        {
            key.Dispose();
            return null;
        }

        return key;
    }

    /// <summary>X25519(mine, peer) into <paramref name="output"/> (32 bytes); false when OpenSSL refuses (incl. all-zero).</summary>
    internal static bool Derive(NativeKey mine, ReadOnlySpan<byte> peerPublicKey, Span<byte> output)
    {
        nint peer = EVP_PKEY_new_raw_public_key(NidX25519, 0, peerPublicKey, (nuint)peerPublicKey.Length);
        if (peer == 0)
        {
            return false;
        }

        nint ctx = 0;
        bool added = false;
        try
        {
            mine.DangerousAddRef(ref added);
            ctx = EVP_PKEY_CTX_new(mine.DangerousGetHandle(), 0);
            if (ctx == 0 || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1)
            {
                return false;
            }

            nuint length = (nuint)output.Length;
            return EVP_PKEY_derive(ctx, output, ref length) == 1 && length == 32;
        }
        finally
        {
            if (ctx != 0)
            {
                EVP_PKEY_CTX_free(ctx);
            }

            EVP_PKEY_free(peer);
            if (added)
            {
                mine.DangerousRelease();
            }
        }
    }

    /// <summary>Raw RFC 7748 §5 scalar multiplication X25519(k, u) through OpenSSL (for the §5.2 vectors).</summary>
    internal static bool ScalarMult(ReadOnlySpan<byte> k, ReadOnlySpan<byte> u, Span<byte> output)
    {
        Span<byte> ignoredPublic = stackalloc byte[32];
        using NativeKey? key = ImportPrivate(k, ignoredPublic);
        return key is not null && Derive(key, u, output);
    }

    private static bool SelfTest()
    {
        // RFC 7748 §6.1: Alice's private key, her public key, Bob's public key, and the shared secret K.
        ReadOnlySpan<byte> alicePrivate = [0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a];
        ReadOnlySpan<byte> alicePublic = [0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a];
        ReadOnlySpan<byte> bobPublic = [0xde, 0x9e, 0xdb, 0x7d, 0x7b, 0x7d, 0xc1, 0xb4, 0xd3, 0x5b, 0x61, 0xc2, 0xec, 0xe4, 0x35, 0x37, 0x3f, 0x83, 0x43, 0xc8, 0x5b, 0x78, 0x67, 0x4d, 0xad, 0xfc, 0x7e, 0x14, 0x6f, 0x88, 0x2b, 0x4f];
        ReadOnlySpan<byte> shared = [0x4a, 0x5d, 0x9d, 0x5b, 0xa4, 0xce, 0x2d, 0xe1, 0x72, 0x8e, 0x3b, 0xf4, 0x80, 0x35, 0x0f, 0x25, 0xe0, 0x7e, 0x21, 0xc9, 0x47, 0xd1, 0x9e, 0x33, 0x76, 0xf0, 0x9b, 0x3c, 0x1e, 0x16, 0x17, 0x42];
        try
        {
            Span<byte> pub = stackalloc byte[32];
            Span<byte> k = stackalloc byte[32];
            using NativeKey? key = ImportPrivate(alicePrivate, pub);
            return key is not null && pub.SequenceEqual(alicePublic) && Derive(key, bobPublic, k) && k.SequenceEqual(shared);
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

    /// <summary>An owned <c>EVP_PKEY*</c>; released (and its key bytes cleared by OpenSSL) on dispose.</summary>
    internal sealed class NativeKey : SafeHandle
    {
        internal NativeKey(nint handle)
            : base(0, ownsHandle: true) => SetHandle(handle);

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            EVP_PKEY_free(handle);
            return true;
        }
    }

    [LibraryImport(LibCrypto)]
    private static partial nint EVP_PKEY_new_raw_private_key(int type, nint engine, ReadOnlySpan<byte> key, nuint keyLength);

    [LibraryImport(LibCrypto)]
    private static partial nint EVP_PKEY_new_raw_public_key(int type, nint engine, ReadOnlySpan<byte> key, nuint keyLength);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_get_raw_public_key(nint pkey, Span<byte> publicKey, ref nuint length);

    [LibraryImport(LibCrypto)]
    private static partial void EVP_PKEY_free(nint pkey);

    [LibraryImport(LibCrypto)]
    private static partial nint EVP_PKEY_CTX_new(nint pkey, nint engine);

    [LibraryImport(LibCrypto)]
    private static partial void EVP_PKEY_CTX_free(nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive_init(nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive_set_peer(nint ctx, nint peer);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_derive(nint ctx, Span<byte> key, ref nuint keyLength);
}
