using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using SecureFedRec.Crypto.Internal;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace SecureFedRec.Crypto;

/// <summary>
/// An ECDSA P-256 / SHA-256 signing key (FIPS 186-4 §6) with deterministic nonces (RFC 6979 §3.2), for client identities
/// and signed protocol messages.
/// </summary>
/// <remarks>
/// <para>Encodings: private key = 32-byte big-endian scalar in [1, n−1]; <see cref="PublicKey"/> = 65 bytes SEC 1
/// uncompressed 0x04 ‖ X ‖ Y; signature = 64 bytes r ‖ s, each 32 bytes big-endian (IEEE P1363). Signatures are not
/// normalised to low-s (so that they equal RFC 6979's vectors); do not use a signature as a unique identifier of a message.</para>
/// <para>Signing runs on the system's OpenSSL libcrypto where it loads and passes its self-test: the RFC 6979 §3.2 nonce is
/// computed here (HMAC-SHA-256 in wiped stack buffers) and OpenSSL computes k·G, k⁻¹ and s (<c>ECDSA_do_sign_ex</c> with the
/// supplied k⁻¹ and r), because neither .NET nor OpenSSL 3.0 offers RFC 6979 signing. Elsewhere, and for the r = 0 or s = 0
/// case (probability ≈ 2^-256), it uses BouncyCastle.Cryptography 2.x (<c>ECDsaSigner</c> + <c>HMacDsaKCalculator</c>); both
/// give the same signature bit for bit. Honest limit of the BouncyCastle path: it keeps the scalar as an immutable
/// <c>BigInteger</c> and its HMAC-DRBG state in managed arrays that cannot be wiped; this holder creates that
/// <c>BigInteger</c> only when that path is first used (once, not per signature) and drops it on dispose, after which it
/// lives until the garbage collector reuses its memory. The scalar bytes themselves live in a pinned array that is wiped on
/// <see cref="Dispose"/>; the native key is freed with <c>EC_KEY_free</c>, which clears its copy.</para>
/// <para>Thread-safe (signing is serialised per key). Every member except <see cref="Dispose"/> and <see cref="ToString"/>
/// throws <see cref="ObjectDisposedException"/> after dispose. Verification: <see cref="Signature.Verify"/>.</para>
/// </remarks>
public sealed class SigningKey : IDisposable
{
    /// <summary>Signature length: 64 bytes (r ‖ s).</summary>
    public const int SignatureLength = 64;

    /// <summary>Public key length: 65 bytes.</summary>
    public const int PublicKeyLength = 65;

    /// <summary>Private key length: 32 bytes.</summary>
    public const int PrivateKeyLength = 32;

    private static readonly ECDomainParameters Domain = CreateDomain();

    private readonly PinnedSecret _scalar;
    private readonly byte[] _publicKey = new byte[PublicKeyLength];
    private readonly object _gate = new();
    private readonly OpenSslP256.NativeKey? _native;
    private ECPrivateKeyParameters? _bcKey;
    private bool _disposed;

    private SigningKey(PinnedSecret scalar, bool useOpenSsl)
    {
        _scalar = scalar;
        if (useOpenSsl && OpenSslP256.IsAvailable)
        {
            _native = OpenSslP256.ImportPrivate(scalar.Span(scalar), _publicKey);
        }

        if (_native is null)
        {
            _bcKey = new ECPrivateKeyParameters(new BcBigInteger(1, scalar.Array(scalar)), Domain);
            Domain.G.Multiply(_bcKey.D).Normalize().GetEncoded(false).CopyTo(_publicKey, 0);
        }
    }

    /// <summary>The 65-byte SEC 1 uncompressed public key.</summary>
    public ReadOnlySpan<byte> PublicKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _publicKey;
        }
    }

    /// <summary>Whether signatures are computed on OpenSSL (false: BouncyCastle only).</summary>
    internal bool UsesOpenSsl => _native is not null;

    /// <summary>Generates a key from <paramref name="rng"/> (null ⇒ <see cref="RandomSource.System"/>).</summary>
    public static SigningKey Generate(RandomSource? rng = null)
    {
        var scalar = new PinnedSecret(PrivateKeyLength);
        P256Curve.GenerateScalar(rng ?? RandomSource.System, scalar.Array(scalar));
        return new SigningKey(scalar, useOpenSsl: true);
    }

    /// <summary>Imports a 32-byte big-endian scalar (the caller still wipes its copy).</summary>
    /// <exception cref="ArgumentException">Wrong length or a scalar outside [1, n−1].</exception>
    public static SigningKey Import(ReadOnlySpan<byte> scalar32) => Import(scalar32, useOpenSsl: true);

    /// <summary><see cref="Import(ReadOnlySpan{byte})"/>; <paramref name="useOpenSsl"/> = false forces the BouncyCastle
    /// path (tests cross-check both; the benchmark measures both).</summary>
    internal static SigningKey Import(ReadOnlySpan<byte> scalar32, bool useOpenSsl)
    {
        if (scalar32.Length != PrivateKeyLength || !P256Curve.IsValidScalar(scalar32))
        {
            throw new ArgumentException("An ECDSA P-256 private key is a 32-byte big-endian scalar in [1, n−1].", nameof(scalar32));
        }

        return new SigningKey(new PinnedSecret(scalar32), useOpenSsl);
    }

    /// <summary>A copy of the public key.</summary>
    public byte[] ExportPublicKey() => PublicKey.ToArray();

    /// <summary>Writes the 32-byte scalar into <paramref name="destination"/>; the caller wipes it.</summary>
    public void ExportPrivateKey(Span<byte> destination) => _scalar.CopyTo(destination, this, nameof(destination));

    /// <summary>Signs SHA-256(<paramref name="message"/>) deterministically (RFC 6979) into 64 bytes r ‖ s.</summary>
    /// <exception cref="ArgumentException"><paramref name="signature"/> is not 64 bytes.</exception>
    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        if (signature.Length != SignatureLength)
        {
            throw new ArgumentException("An ECDSA P-256 signature is 64 bytes.", nameof(signature));
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(message, hash);
        Org.BouncyCastle.Math.BigInteger[] rs;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_native is not null && OpenSslP256.Sign(_native, _scalar.Span(this), hash, signature))
            {
                return;
            }

            _bcKey ??= new ECPrivateKeyParameters(new BcBigInteger(1, _scalar.Array(this)), Domain);
            var signer = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
            signer.Init(true, _bcKey);
            rs = signer.GenerateSignature(hash.ToArray());
        }

        WriteFixed(rs[0], signature[..32]);
        WriteFixed(rs[1], signature[32..]);
    }

    /// <summary>Allocating convenience for <see cref="Sign(ReadOnlySpan{byte}, Span{byte})"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        byte[] signature = new byte[SignatureLength];
        Sign(message, signature);
        return signature;
    }

    /// <summary>Wipes the scalar and drops the BouncyCastle key object. Idempotent.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _scalar.Wipe();
            _bcKey = null;
            _native?.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"SigningKey(P-256, redacted{(_disposed ? ", disposed" : string.Empty)})";

    private static void WriteFixed(BcBigInteger value, Span<byte> destination)
    {
        byte[] bytes = value.ToByteArrayUnsigned();
        destination.Clear();
        bytes.CopyTo(destination[(destination.Length - bytes.Length)..]);
    }

    private static ECDomainParameters CreateDomain()
    {
        var x9 = CustomNamedCurves.GetByName("secp256r1");
        return new ECDomainParameters(x9.Curve, x9.G, x9.N, x9.H, x9.GetSeed());
    }
}

/// <summary>
/// ECDSA P-256 / SHA-256 verification (FIPS 186-4 §6.4) on the system's OpenSSL libcrypto directly (<c>EC_KEY_oct2key</c> +
/// <c>ECDSA_do_verify</c>), or with .NET's <see cref="ECDsa"/> (OpenSSL underneath, with a second full key check) where
/// libcrypto cannot be loaded.
/// </summary>
/// <remarks>Public key: 65 bytes SEC 1 uncompressed, validated on the curve before use. Signature: 64 bytes r ‖ s.
/// <see cref="Verify"/> returns false — never throws — for any wrong length, invalid point, r or s outside [1, n−1],
/// or a signature that does not verify. Stateless and thread-safe.</remarks>
public static class Signature
{
    /// <summary>Verifies <paramref name="signature64"/> over SHA-256(<paramref name="message"/>).</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey65, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature64) =>
        VerifyOn(publicKey65, message, signature64, useOpenSsl: true);

    /// <summary><see cref="Verify(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>; <paramref name="useOpenSsl"/> =
    /// false forces the .NET <see cref="ECDsa"/> path (tests cross-check both; the benchmark measures both).</summary>
    internal static bool VerifyOn(ReadOnlySpan<byte> publicKey65, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature64, bool useOpenSsl)
    {
        if (publicKey65.Length != SigningKey.PublicKeyLength || signature64.Length != SigningKey.SignatureLength
            || !P256Curve.IsValidUncompressedPoint(publicKey65))
        {
            return false;
        }

        if (useOpenSsl && OpenSslP256.IsAvailable)
        {
            Span<byte> digest = stackalloc byte[32];
            SHA256.HashData(message, digest);
            return OpenSslP256.Verify(publicKey65, digest, signature64);
        }

        try
        {
            using var ecdsa = ECDsa.Create(P256Curve.PublicParameters(publicKey65));
            return ecdsa.VerifyData(message, signature64, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
