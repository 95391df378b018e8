using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace SecureFedRec.Wire.Auth;

/// <summary>
/// The signed-request scheme of <c>protocol-spec/proto/coordinator.proto</c> (normative text: <c>protocol-spec/coordinator.md</c>
/// §3): a signature in the suite of the caller's registered identity key — Ed25519 (RFC 8032, 32-byte key, the default) or
/// ECDSA P-256 / SHA-256 (FIPS 186-4, 65-byte SEC 1 key, signature IEEE P1363 r‖s), 64 bytes either way; the suite is the
/// registered key's (roster entry, or an allow-list key by its length) — over
/// <c>"SecureFedRec/v1" 0x00 "request-auth" 0x00 ‖ u32be(len method) ‖ method ‖ SHA-256(request) ‖
/// u32be(len client id) ‖ client id ‖ u64be(timestamp ms) ‖ nonce(16)</c>.
/// </summary>
/// <remarks>Stateless and thread-safe. <c>Verify</c> never throws for bad input: it returns false.</remarks>
public static class RequestSignature
{
    /// <summary>Length of a SEC1 uncompressed P-256 public key (0x04 ‖ X ‖ Y).</summary>
    public const int PublicKeyLength = 65;

    /// <summary>Length of an Ed25519 public key (RFC 8032 §5.1.5).</summary>
    public const int Ed25519PublicKeyLength = 32;

    /// <summary>Length of a signature (r ‖ s, big-endian, 32 bytes each).</summary>
    public const int SignatureLength = 64;

    /// <summary>Length of the per-request nonce.</summary>
    public const int NonceLength = 16;

    /// <summary>Length of a client id: lowercase hex of a SHA-256 digest.</summary>
    public const int ClientIdLength = 64;

    /// <summary>Length of the request hash (SHA-256 of the serialized request message).</summary>
    public const int RequestHashLength = 32;

    /// <summary>Metadata header: the signer's client id.</summary>
    public const string ClientIdHeader = "x-sfr-client-id";

    /// <summary>Metadata header: the signer's timestamp, Unix milliseconds.</summary>
    public const string TimestampHeader = "x-sfr-timestamp";

    /// <summary>Metadata header (binary): the 16-byte nonce.</summary>
    public const string NonceHeader = "x-sfr-nonce-bin";

    /// <summary>Metadata header (binary): SHA-256 of the serialized request, so the coordinator can verify before reading the body.</summary>
    public const string RequestHashHeader = "x-sfr-request-sha256-bin";

    /// <summary>Metadata header (binary): the 64-byte signature.</summary>
    public const string SignatureHeader = "x-sfr-signature-bin";

    private static ReadOnlySpan<byte> Domain => "SecureFedRec/v1\0request-auth\0"u8;

    /// <summary>The client id of an identity public key: lowercase hex SHA-256 of its raw bytes (32 bytes Ed25519, 65 bytes
    /// SEC 1 uncompressed P-256).</summary>
    /// <exception cref="ArgumentException">Neither a 32-byte nor a 65-byte (0x04 ‖ X ‖ Y) key.</exception>
    public static string ClientIdOf(ReadOnlySpan<byte> publicKey)
    {
        if (!TrySuiteOf(publicKey, out _))
        {
            throw new ArgumentException("Expected a 32-byte Ed25519 or a 65-byte SEC1 uncompressed P-256 public key.", nameof(publicKey));
        }

        return Convert.ToHexStringLower(SHA256.HashData(publicKey));
    }

    /// <summary>The suite of a raw identity public key by its length: 32 bytes → Ed25519, 65 bytes starting 0x04 → ECDSA
    /// P-256 (the allow-list rule; a roster names the suite itself). False for any other shape.</summary>
    public static bool TrySuiteOf(ReadOnlySpan<byte> publicKey, out Crypto.IdentitySuite suite)
    {
        if (publicKey.Length == Ed25519PublicKeyLength)
        {
            suite = Crypto.IdentitySuite.Ed25519;
            return true;
        }

        if (publicKey.Length == PublicKeyLength && publicKey[0] == 0x04)
        {
            suite = Crypto.IdentitySuite.EcdsaP256Sha256;
            return true;
        }

        suite = default;
        return false;
    }

    /// <summary>Whether a string has the shape of a client id (64 lowercase hex characters).</summary>
    public static bool IsClientId(string? value) =>
        value is { Length: ClientIdLength } && value.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    /// <summary>Builds the byte string that is signed, from the request bytes.</summary>
    public static byte[] BuildSignedMessage(string method, ReadOnlySpan<byte> request, string clientId, long timestampUnixMs, ReadOnlySpan<byte> nonce)
    {
        Span<byte> hash = stackalloc byte[RequestHashLength];
        SHA256.HashData(request, hash);
        return BuildSignedMessageFromHash(method, hash, clientId, timestampUnixMs, nonce);
    }

    /// <summary>Builds the byte string that is signed, from the request's SHA-256 (what the coordinator has before it reads the body).</summary>
    public static byte[] BuildSignedMessageFromHash(string method, ReadOnlySpan<byte> requestHash, string clientId, long timestampUnixMs, ReadOnlySpan<byte> nonce)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (requestHash.Length != RequestHashLength)
        {
            throw new ArgumentException("The request hash is 32 bytes.", nameof(requestHash));
        }

        ArgumentNullException.ThrowIfNull(clientId);
        if (nonce.Length != NonceLength)
        {
            throw new ArgumentException("The nonce is 16 bytes.", nameof(nonce));
        }

        byte[] methodBytes = Encoding.UTF8.GetBytes(method);
        byte[] idBytes = Encoding.ASCII.GetBytes(clientId);
        byte[] message = new byte[Domain.Length + 4 + methodBytes.Length + 32 + 4 + idBytes.Length + 8 + NonceLength];
        Span<byte> w = message;
        Domain.CopyTo(w);
        w = w[Domain.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(w, (uint)methodBytes.Length);
        methodBytes.CopyTo(w[4..]);
        w = w[(4 + methodBytes.Length)..];
        requestHash.CopyTo(w);
        w = w[32..];
        BinaryPrimitives.WriteUInt32BigEndian(w, (uint)idBytes.Length);
        idBytes.CopyTo(w[4..]);
        w = w[(4 + idBytes.Length)..];
        BinaryPrimitives.WriteInt64BigEndian(w, timestampUnixMs);
        nonce.CopyTo(w[8..]);
        return message;
    }

    /// <summary>
    /// Verifies a signature under an identity public key in the suite its length names (<see cref="TrySuiteOf"/>: 32 bytes
    /// Ed25519, 65 bytes SEC 1 P-256); false for any malformed key, signature or mismatch (the crypto library validates the
    /// point first).
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signedMessage, ReadOnlySpan<byte> signature) =>
        TrySuiteOf(publicKey, out Crypto.IdentitySuite suite) && Crypto.IdentitySignature.Verify(suite, publicKey, signedMessage, signature);

    /// <summary>Verifies a signature in <paramref name="suite"/> (<c>IdentitySignature.Verify</c>); false for any
    /// malformed key, signature or mismatch.</summary>
    public static bool Verify(Crypto.IdentitySuite suite, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signedMessage, ReadOnlySpan<byte> signature) =>
        Crypto.IdentitySignature.Verify(suite, publicKey, signedMessage, signature);
}
