using System.Diagnostics.CodeAnalysis;

namespace SecureFedRec.Crypto;

/// <summary>The identity-signature suites (roster authority keys, member identity keys). Values are stable: they appear in
/// <c>protocol-spec/roster.md</c> by name, never by number.</summary>
public enum IdentitySuite
{
    /// <summary>Ed25519 (RFC 8032 PureEdDSA): the default. Name <c>"ed25519"</c>; public key 32 bytes, signature 64 bytes R ‖ S.</summary>
    Ed25519 = 1,

    /// <summary>ECDSA P-256 / SHA-256 (FIPS 186-4), RFC 6979 deterministic nonces: the FIPS suite. Name
    /// <c>"ecdsa-p256-sha256"</c>; public key 65 bytes SEC 1 uncompressed, signature 64 bytes r ‖ s (IEEE P1363).</summary>
    EcdsaP256Sha256 = 2,
}

/// <summary>
/// Names, sizes and verification of the <see cref="IdentitySuite"/>s: the one place that maps a suite to its algorithm.
/// </summary>
/// <remarks>Stateless and thread-safe. <see cref="Verify(IdentitySuite, ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> never throws for bad input: a wrong length, an invalid point
/// or a signature that does not verify is <c>false</c>.</remarks>
public static class IdentitySignature
{
    /// <summary>The wire/file name of <paramref name="suite"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined suite.</exception>
    public static string NameOf(IdentitySuite suite) => suite switch
    {
        IdentitySuite.Ed25519 => "ed25519",
        IdentitySuite.EcdsaP256Sha256 => "ecdsa-p256-sha256",
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "Not an identity suite."),
    };

    /// <summary>Parses a suite name (exact, lowercase); false for anything else.</summary>
    public static bool TryParse(string? name, out IdentitySuite suite)
    {
        switch (name)
        {
            case "ed25519":
                suite = IdentitySuite.Ed25519;
                return true;
            case "ecdsa-p256-sha256":
                suite = IdentitySuite.EcdsaP256Sha256;
                return true;
            default:
                suite = default;
                return false;
        }
    }

    /// <summary>Public key length of <paramref name="suite"/> (32 or 65).</summary>
    public static int PublicKeyLength(IdentitySuite suite) => suite switch
    {
        IdentitySuite.Ed25519 => Ed25519SigningKey.PublicKeyLength,
        IdentitySuite.EcdsaP256Sha256 => SigningKey.PublicKeyLength,
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "Not an identity suite."),
    };

    /// <summary>Signature length (64 for both suites).</summary>
    public static int SignatureLength(IdentitySuite suite) => suite switch
    {
        IdentitySuite.Ed25519 => Ed25519SigningKey.SignatureLength,
        IdentitySuite.EcdsaP256Sha256 => SigningKey.SignatureLength,
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "Not an identity suite."),
    };

    /// <summary>Whether <paramref name="publicKey"/> is a well-formed public key of <paramref name="suite"/> (length, and for
    /// P-256 a point on the curve; for Ed25519 a decodable point).</summary>
    public static bool IsValidPublicKey(IdentitySuite suite, ReadOnlySpan<byte> publicKey) => suite switch
    {
        IdentitySuite.Ed25519 => publicKey.Length == Ed25519SigningKey.PublicKeyLength
            && NSec.Cryptography.PublicKey.TryImport(NSec.Cryptography.SignatureAlgorithm.Ed25519, publicKey, NSec.Cryptography.KeyBlobFormat.RawPublicKey, out _),
        IdentitySuite.EcdsaP256Sha256 => publicKey.Length == SigningKey.PublicKeyLength && Internal.P256Curve.IsValidUncompressedPoint(publicKey),
        _ => false,
    };

    /// <summary>Verifies <paramref name="signature"/> over <paramref name="message"/> in <paramref name="suite"/>; false for an
    /// undefined suite.</summary>
    public static bool Verify(IdentitySuite suite, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) => suite switch
    {
        IdentitySuite.Ed25519 => Ed25519Signature.Verify(publicKey, message, signature),
        IdentitySuite.EcdsaP256Sha256 => Signature.Verify(publicKey, message, signature),
        _ => false,
    };

    /// <summary>Verifies <paramref name="signature"/> over <paramref name="message"/> under <paramref name="key"/> (its own
    /// suite); false for a wrong length, an invalid key or an undefined suite.</summary>
    public static bool Verify(IdentityPublicKey key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        Verify(key.Suite, key.Key.Span, message, signature);
}

/// <summary>
/// An identity public key together with its <see cref="IdentitySuite"/>: what a roster enrols and what a verifier checks a
/// signature against (<see cref="IdentitySignature.Verify(IdentityPublicKey, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>).
/// </summary>
/// <param name="Suite">The suite the key belongs to.</param>
/// <param name="Key">The public key bytes (32 bytes Ed25519, 65 bytes SEC 1 uncompressed P-256).</param>
/// <remarks>Equality is by reference of <see cref="Key"/>'s memory (record-struct default); compare keys with
/// <see cref="SameAs"/>.</remarks>
public readonly record struct IdentityPublicKey(IdentitySuite Suite, ReadOnlyMemory<byte> Key)
{
    /// <summary>Whether <see cref="Key"/> is a well-formed public key of <see cref="Suite"/>.</summary>
    public bool IsValid => IdentitySignature.IsValidPublicKey(Suite, Key.Span);

    /// <summary>Whether <paramref name="other"/> names the same suite and the same key bytes.</summary>
    public bool SameAs(IdentityPublicKey other) => Suite == other.Suite && Key.Span.SequenceEqual(other.Key.Span);

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Enum.IsDefined(Suite) ? IdentitySignature.NameOf(Suite) : ((int)Suite).ToString(System.Globalization.CultureInfo.InvariantCulture))}:{Convert.ToHexString(Key.Span)}";
}

/// <summary>
/// An identity signing key of either <see cref="IdentitySuite"/>: one type for code that signs under a configured suite
/// (the roster authority, a member's identity). Wraps <see cref="Ed25519SigningKey"/> or <see cref="SigningKey"/>.
/// </summary>
/// <remarks>Sealed, disposable (wipes the wrapped key), redacted <see cref="ToString"/>; the private key leaves only through
/// <see cref="ExportPrivateKey"/> into the caller's buffer. Thread-safe for signing.</remarks>
public sealed class IdentitySigningKey : IDisposable
{
    private readonly Ed25519SigningKey? _ed25519;
    private readonly SigningKey? _p256;

    private IdentitySigningKey(Ed25519SigningKey? ed25519, SigningKey? p256)
    {
        _ed25519 = ed25519;
        _p256 = p256;
        Suite = ed25519 is not null ? IdentitySuite.Ed25519 : IdentitySuite.EcdsaP256Sha256;
    }

    /// <summary>The suite of this key.</summary>
    public IdentitySuite Suite { get; }

    /// <summary>The public key (32 bytes Ed25519, 65 bytes P-256).</summary>
    public ReadOnlySpan<byte> PublicKey => _ed25519 is not null ? _ed25519.PublicKey : _p256!.PublicKey;

    /// <summary>Private key length of <paramref name="suite"/> (32 for both).</summary>
    public static int PrivateKeyLength(IdentitySuite suite) => suite switch
    {
        IdentitySuite.Ed25519 => Ed25519SigningKey.PrivateKeyLength,
        IdentitySuite.EcdsaP256Sha256 => SigningKey.PrivateKeyLength,
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "Not an identity suite."),
    };

    /// <summary>Generates a key of <paramref name="suite"/> from <paramref name="rng"/> (null ⇒ <see cref="RandomSource.System"/>).</summary>
    public static IdentitySigningKey Generate(IdentitySuite suite, RandomSource? rng = null) => suite switch
    {
        IdentitySuite.Ed25519 => new IdentitySigningKey(Ed25519SigningKey.Generate(rng), null),
        IdentitySuite.EcdsaP256Sha256 => new IdentitySigningKey(null, SigningKey.Generate(rng)),
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "Not an identity suite."),
    };

    /// <summary>Imports a private key of <paramref name="suite"/> (Ed25519: 32-byte seed; P-256: 32-byte big-endian scalar).</summary>
    /// <exception cref="ArgumentException">Wrong length or an invalid scalar.</exception>
    public static IdentitySigningKey Import(IdentitySuite suite, ReadOnlySpan<byte> privateKey) => suite switch
    {
        IdentitySuite.Ed25519 => new IdentitySigningKey(Ed25519SigningKey.Import(privateKey), null),
        IdentitySuite.EcdsaP256Sha256 => new IdentitySigningKey(null, SigningKey.Import(privateKey)),
        _ => throw new ArgumentOutOfRangeException(nameof(suite), suite, "Not an identity suite."),
    };

    /// <summary>Tries <see cref="Import"/>; false (and null) for a malformed key instead of an exception.</summary>
    public static bool TryImport(IdentitySuite suite, ReadOnlySpan<byte> privateKey, [NotNullWhen(true)] out IdentitySigningKey? key)
    {
        try
        {
            key = Import(suite, privateKey);
            return true;
        }
        catch (ArgumentException)
        {
            key = null;
            return false;
        }
    }

    /// <summary>A copy of the public key.</summary>
    public byte[] ExportPublicKey() => PublicKey.ToArray();

    /// <summary>The public key with its suite (a copy of the bytes).</summary>
    public IdentityPublicKey PublicIdentity => new(Suite, ExportPublicKey());

    /// <summary>Writes the private key (32 bytes) into <paramref name="destination"/>; the caller wipes it.</summary>
    public void ExportPrivateKey(Span<byte> destination)
    {
        if (_ed25519 is not null)
        {
            _ed25519.ExportPrivateKey(destination);
        }
        else
        {
            _p256!.ExportPrivateKey(destination);
        }
    }

    /// <summary>Signs <paramref name="message"/> into a 64-byte <paramref name="signature"/> (Ed25519: PureEdDSA over the
    /// message; P-256: ECDSA over SHA-256 of the message, RFC 6979 nonce).</summary>
    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        if (_ed25519 is not null)
        {
            _ed25519.Sign(message, signature);
        }
        else
        {
            _p256!.Sign(message, signature);
        }
    }

    /// <summary>Allocating convenience for <see cref="Sign(ReadOnlySpan{byte}, Span{byte})"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        byte[] signature = new byte[IdentitySignature.SignatureLength(Suite)];
        Sign(message, signature);
        return signature;
    }

    /// <summary>Wipes the wrapped key. Idempotent.</summary>
    public void Dispose()
    {
        _ed25519?.Dispose();
        _p256?.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"IdentitySigningKey({IdentitySignature.NameOf(Suite)}, redacted)";
}
