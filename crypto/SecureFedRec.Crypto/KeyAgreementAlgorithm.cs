using System.Security.Cryptography;
using System.Diagnostics.CodeAnalysis;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>Identifier of a key-agreement suite (stable on the wire).</summary>
public enum KeyAgreementSuite
{
    /// <summary>X25519 (RFC 7748), the default.</summary>
    X25519 = 1,

    /// <summary>ECDH over NIST P-256 (SEC 1 §3.3.1; NIST SP 800-56A), for deployments that require FIPS-approved algorithms.</summary>
    P256 = 2,
}

/// <summary>
/// A Diffie–Hellman key-agreement suite: stateless sealed singletons <see cref="X25519"/> (default) and <see cref="P256"/>.
/// </summary>
/// <remarks>
/// <para>Encodings (fixed): X25519 public key = 32-byte little-endian u-coordinate (RFC 7748 §5); private key = 32 bytes,
/// clamped at use (RFC 7748 §5). P-256 public key = 65 bytes SEC 1 uncompressed 0x04 ‖ X ‖ Y (big-endian); private key =
/// 32-byte big-endian scalar in [1, n−1]. Shared secret = 32 bytes (X25519 output; P-256 x-coordinate), usable only through
/// <see cref="Hkdf"/>.</para>
/// <para>Failure modes: <see cref="TryAgree"/> returns false for a peer key of the wrong length, a P-256 point that is not
/// on the curve or has a coordinate ≥ p, a wrong leading byte, and an all-zero X25519 result (low-order points, RFC 7748 §6.1).
/// X25519 u-coordinates are otherwise accepted as RFC 7748 §5 requires (top bit masked, non-canonical values reduced).
/// Keys of the wrong suite and disposed keys throw.</para>
/// <para>Thread-safe.</para>
/// </remarks>
public abstract class KeyAgreementAlgorithm
{
    private protected KeyAgreementAlgorithm()
    {
    }

    /// <summary>
    /// X25519 (RFC 7748) on the system's OpenSSL 3 libcrypto (<c>EVP_PKEY_derive</c>, self-tested on RFC 7748 §6.1 before
    /// first use), falling back to BouncyCastle.Cryptography's constant-time ladder where libcrypto is absent. NSec
    /// (libsodium) was measured beside it in <c>bench crypto</c> and is slower here (see crypto/README.md).
    /// </summary>
    public static KeyAgreementAlgorithm X25519 { get; } = new X25519Agreement();

    /// <summary>ECDH P-256 (.NET <see cref="System.Security.Cryptography.ECDiffieHellman"/>, OpenSSL underneath; the peer point is validated by us first).</summary>
    public static KeyAgreementAlgorithm P256 { get; } = new P256Agreement();

    /// <summary>The suite identifier.</summary>
    public abstract KeyAgreementSuite Id { get; }

    /// <summary>Public key length: 32 (X25519) or 65 (P-256).</summary>
    public abstract int PublicKeyLength { get; }

    /// <summary>Private key length: 32.</summary>
    public int PrivateKeyLength => 32;

    /// <summary>Shared secret length: 32.</summary>
    public int SharedSecretLength => 32;

    /// <summary>The algorithm for a suite identifier.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Unknown suite.</exception>
    public static KeyAgreementAlgorithm FromId(KeyAgreementSuite id) => id switch
    {
        KeyAgreementSuite.X25519 => X25519,
        KeyAgreementSuite.P256 => P256,
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "Unknown key-agreement suite."),
    };

    /// <summary>Generates a key pair from <paramref name="rng"/> (null ⇒ <see cref="RandomSource.System"/>).</summary>
    public PrivateKey GenerateKey(RandomSource? rng = null)
    {
        rng ??= RandomSource.System;
        var scalar = new PinnedSecret(32);
        try
        {
            GenerateScalar(rng, scalar.Array(scalar));
            return CreateKey(scalar);
        }
        catch
        {
            scalar.Wipe();
            throw;
        }
    }

    /// <summary>Imports a 32-byte private key (the caller still wipes its copy).</summary>
    /// <exception cref="ArgumentException">Wrong length, or (P-256) a scalar outside [1, n−1].</exception>
    public PrivateKey ImportPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != PrivateKeyLength)
        {
            throw new ArgumentException($"A {Id} private key is {PrivateKeyLength} bytes.", nameof(privateKey));
        }

        var scalar = new PinnedSecret(privateKey);
        try
        {
            if (!IsValidScalar(scalar.Span(scalar)))
            {
                throw new ArgumentException($"Not a valid {Id} private key.", nameof(privateKey));
            }

            return CreateKey(scalar);
        }
        catch
        {
            scalar.Wipe();
            throw;
        }
    }

    /// <summary>Computes the shared secret with a peer's public key.</summary>
    /// <returns>false for a malformed or invalid peer key and for an all-zero X25519 result.</returns>
    /// <exception cref="ArgumentException"><paramref name="mine"/> belongs to another suite.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="mine"/> was disposed.</exception>
    public bool TryAgree(PrivateKey mine, ReadOnlySpan<byte> peerPublicKey, [NotNullWhen(true)] out SharedSecret? secret)
    {
        ArgumentNullException.ThrowIfNull(mine);
        if (mine.Algorithm != this)
        {
            throw new ArgumentException($"The private key belongs to {mine.Algorithm.Id}, not {Id}.", nameof(mine));
        }

        ObjectDisposedException.ThrowIf(mine.IsDisposed, mine);
        secret = null;
        if (peerPublicKey.Length != PublicKeyLength)
        {
            return false;
        }

        var output = new PinnedSecret(32);
        bool ok = false;
        try
        {
            ok = AgreeCore(mine, peerPublicKey, output.Array(output));
            if (ok)
            {
                secret = new SharedSecret(Id, output);
            }

            return ok;
        }
        finally
        {
            if (!ok)
            {
                output.Wipe();
            }
        }
    }

    /// <summary>Per-thread pinned scratch for the raw shared secret of <see cref="TryAgreeAndDerive"/> (wiped after every use).</summary>
    [ThreadStatic]
    private static byte[]? t_sharedScratch;

    /// <summary>
    /// HKDF-SHA256(ikm = DH(mine, peer), salt, info) straight into <paramref name="output"/>: the raw shared secret lives only in
    /// a per-thread pinned buffer, wiped before this returns, so a pair derivation allocates nothing (no <see cref="SharedSecret"/>).
    /// Same checks and failures as <see cref="TryAgree"/>; <paramref name="info"/> is an encoded <see cref="DomainLabel"/>.
    /// </summary>
    /// <returns>false for a malformed or invalid peer key and for an all-zero X25519 result (output then zeroed).</returns>
    internal bool TryAgreeAndDerive(PrivateKey mine, ReadOnlySpan<byte> peerPublicKey, ReadOnlySpan<byte> salt,
        ReadOnlySpan<byte> info, Span<byte> output)
    {
        ArgumentNullException.ThrowIfNull(mine);
        if (mine.Algorithm != this)
        {
            throw new ArgumentException($"The private key belongs to {mine.Algorithm.Id}, not {Id}.", nameof(mine));
        }

        ObjectDisposedException.ThrowIf(mine.IsDisposed, mine);
        if (output.Length is < 1 or > Hkdf.MaxOutputLength)
        {
            throw new ArgumentException($"HKDF-SHA256 output must be 1..{Hkdf.MaxOutputLength} bytes.", nameof(output));
        }

        if (peerPublicKey.Length != PublicKeyLength)
        {
            CryptographicOperations.ZeroMemory(output);
            return false;
        }

        byte[] shared = t_sharedScratch ??= GC.AllocateArray<byte>(32, pinned: true);
        try
        {
            if (!AgreeCore(mine, peerPublicKey, shared))
            {
                CryptographicOperations.ZeroMemory(output);
                return false;
            }

            Hkdf.DeriveKeyCore(shared, salt, info, output);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"KeyAgreementAlgorithm.{Id}";

    private protected abstract void GenerateScalar(RandomSource rng, byte[] scalar);

    private protected abstract bool IsValidScalar(ReadOnlySpan<byte> scalar);

    private protected abstract PrivateKey CreateKey(PinnedSecret scalar);

    private protected abstract bool AgreeCore(PrivateKey mine, ReadOnlySpan<byte> peerPublicKey, byte[] output);
}
