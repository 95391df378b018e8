using NSec.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// An Ed25519 signing key (RFC 8032 §5.1, PureEdDSA): the default identity-signature suite of SecureFedRec (roster
/// authority keys and member identity keys). Signatures are deterministic: one key and one message give one signature.
/// </summary>
/// <remarks>
/// <para>Encodings (RFC 8032 §5.1.5–5.1.6): private key = the 32-byte seed; <see cref="PublicKey"/> = 32 bytes (the
/// encoded point A); signature = 64 bytes R ‖ S.</para>
/// <para>Backend: NSec.Cryptography (libsodium <c>crypto_sign_ed25519</c>). The expanded secret lives in libsodium's
/// guarded memory inside an NSec <see cref="Key"/> and is wiped by NSec on dispose; the seed passes through a pinned
/// buffer of this library that is wiped before the constructor returns. No <c>byte[]</c> copy of the seed is kept.</para>
/// <para>Thread-safe for signing. Every member except <see cref="Dispose"/> and <see cref="ToString"/> throws
/// <see cref="ObjectDisposedException"/> after dispose. Verification: <see cref="Ed25519Signature.Verify"/>.</para>
/// </remarks>
public sealed class Ed25519SigningKey : IDisposable
{
    /// <summary>Signature length: 64 bytes (R ‖ S).</summary>
    public const int SignatureLength = 64;

    /// <summary>Public key length: 32 bytes.</summary>
    public const int PublicKeyLength = 32;

    /// <summary>Private key (seed) length: 32 bytes.</summary>
    public const int PrivateKeyLength = 32;

    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    private readonly byte[] _publicKey;
    private Key? _key;

    private Ed25519SigningKey(ReadOnlySpan<byte> seed)
    {
        var parameters = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        _key = Key.Import(Algorithm, seed, KeyBlobFormat.RawPrivateKey, in parameters);
        _publicKey = _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The 32-byte public key.</summary>
    public ReadOnlySpan<byte> PublicKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_key is null, this);
            return _publicKey;
        }
    }

    /// <summary>Generates a key whose seed is 32 bytes of <paramref name="rng"/> (null ⇒ <see cref="RandomSource.System"/>).</summary>
    public static Ed25519SigningKey Generate(RandomSource? rng = null)
    {
        var seed = new PinnedSecret(PrivateKeyLength);
        try
        {
            (rng ?? RandomSource.System).Fill(seed.Array(seed).AsSpan());
            return new Ed25519SigningKey(seed.Span(seed));
        }
        finally
        {
            seed.Wipe();
        }
    }

    /// <summary>Imports a 32-byte seed (the caller still wipes its copy).</summary>
    /// <exception cref="ArgumentException">Not 32 bytes.</exception>
    public static Ed25519SigningKey Import(ReadOnlySpan<byte> seed32)
    {
        if (seed32.Length != PrivateKeyLength)
        {
            throw new ArgumentException("An Ed25519 private key is a 32-byte seed (RFC 8032 §5.1.5).", nameof(seed32));
        }

        return new Ed25519SigningKey(seed32);
    }

    /// <summary>A copy of the public key.</summary>
    public byte[] ExportPublicKey() => PublicKey.ToArray();

    /// <summary>Writes the 32-byte seed into <paramref name="destination"/>; the caller wipes it.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not 32 bytes.</exception>
    public void ExportPrivateKey(Span<byte> destination)
    {
        Key key = _key ?? throw new ObjectDisposedException(nameof(Ed25519SigningKey));
        if (destination.Length != PrivateKeyLength)
        {
            throw new ArgumentException("The destination must be exactly 32 bytes.", nameof(destination));
        }

        if (!key.TryExport(KeyBlobFormat.RawPrivateKey, destination, out int written) || written != PrivateKeyLength)
        {
            destination.Clear();
            throw new InvalidOperationException("The Ed25519 seed could not be exported.");
        }
    }

    /// <summary>Signs <paramref name="message"/> (PureEdDSA, RFC 8032 §5.1.6) into 64 bytes R ‖ S.</summary>
    /// <exception cref="ArgumentException"><paramref name="signature"/> is not 64 bytes.</exception>
    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        if (signature.Length != SignatureLength)
        {
            throw new ArgumentException("An Ed25519 signature is 64 bytes.", nameof(signature));
        }

        Key key = _key ?? throw new ObjectDisposedException(nameof(Ed25519SigningKey));
        Algorithm.Sign(key, message, signature);
    }

    /// <summary>Allocating convenience for <see cref="Sign(ReadOnlySpan{byte}, Span{byte})"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        byte[] signature = new byte[SignatureLength];
        Sign(message, signature);
        return signature;
    }

    /// <summary>Releases (and, through NSec, wipes) the key. Idempotent.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _key, null)?.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"Ed25519SigningKey(redacted{(_key is null ? ", disposed" : string.Empty)})";
}

/// <summary>Ed25519 verification (RFC 8032 §5.1.7) through libsodium (NSec).</summary>
/// <remarks>Public key: 32 bytes; signature: 64 bytes R ‖ S. <see cref="Verify"/> returns false — never throws — for a wrong
/// length, a public key that does not decode or is of small order, a non-canonical S (S ≥ L) and a signature that does not
/// verify (libsodium's checks, cofactorless equation). Stateless and thread-safe.</remarks>
public static class Ed25519Signature
{
    /// <summary>Verifies <paramref name="signature64"/> over <paramref name="message"/> under <paramref name="publicKey32"/>.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey32, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature64)
    {
        if (publicKey32.Length != Ed25519SigningKey.PublicKeyLength || signature64.Length != Ed25519SigningKey.SignatureLength)
        {
            return false;
        }

        if (!NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, publicKey32, KeyBlobFormat.RawPublicKey, out NSec.Cryptography.PublicKey? key))
        {
            return false;
        }

        return key is not null && SignatureAlgorithm.Ed25519.Verify(key, message, signature64);
    }
}
