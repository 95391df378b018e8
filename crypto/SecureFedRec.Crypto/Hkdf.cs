using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// HKDF-SHA256 (RFC 5869) with a mandatory <see cref="DomainLabel"/> as <c>info</c>. This is the only way a
/// <see cref="SharedSecret"/> becomes key material.
/// </summary>
/// <remarks>Output length 1..8160 bytes (255·32, RFC 5869 §2.3); the salt may be empty (RFC 5869 §2.2: a string of zeros).
/// Stateless and thread-safe. HMAC-SHA256 on libcrypto's low-level SHA-256 (<c>Internal/OpenSslSha256.cs</c>: no KDF
/// context and digest look-up per call, ≈ 6× faster for the protocol's 32-byte keys), falling back to .NET's
/// <see cref="HKDF"/> when libcrypto is absent; both pinned by the RFC 5869 vectors.</remarks>
public static class Hkdf
{
    /// <summary>Largest output (255 × HashLen).</summary>
    public const int MaxOutputLength = 255 * 32;

    /// <summary>Derives <paramref name="output"/>.Length bytes from <paramref name="ikm"/>.</summary>
    /// <exception cref="ArgumentException">Empty or too long output.</exception>
    public static void DeriveKey(ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt, DomainLabel label, Span<byte> output)
    {
        ArgumentNullException.ThrowIfNull(label);
        CheckOutput(output.Length, nameof(output));
        DeriveKeyCore(ikm, salt, label.Span, output);
    }

    /// <summary>Derives key material from a key-agreement result.</summary>
    public static void DeriveKey(SharedSecret secret, ReadOnlySpan<byte> salt, DomainLabel label, Span<byte> output)
    {
        ArgumentNullException.ThrowIfNull(secret);
        DeriveKey(secret.Span, salt, label, output);
    }

    /// <summary>Derives key material from a secret held in a <see cref="SecretBytes"/>.</summary>
    public static void DeriveKey(SecretBytes secret, ReadOnlySpan<byte> salt, DomainLabel label, Span<byte> output)
    {
        ArgumentNullException.ThrowIfNull(secret);
        DeriveKey(secret.Span, salt, label, output);
    }

    /// <summary>Derives a new secret holder of <paramref name="length"/> bytes.</summary>
    public static SecretBytes DeriveSecret(ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt, DomainLabel label, int length = 32)
    {
        ArgumentNullException.ThrowIfNull(label);
        CheckOutput(length, nameof(length));
        var holder = new PinnedSecret(length);
        DeriveKeyCore(ikm, salt, label.Span, holder.Array(holder));
        return SecretBytes.TakeOwnership(holder);
    }

    /// <summary>Derives a new secret holder from a key-agreement result.</summary>
    public static SecretBytes DeriveSecret(SharedSecret secret, ReadOnlySpan<byte> salt, DomainLabel label, int length = 32)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return DeriveSecret(secret.Span, salt, label, length);
    }

    /// <summary>Derives a new secret holder from another secret holder.</summary>
    public static SecretBytes DeriveSecret(SecretBytes secret, ReadOnlySpan<byte> salt, DomainLabel label, int length = 32)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return DeriveSecret(secret.Span, salt, label, length);
    }

    /// <summary>Raw RFC 5869 HKDF with arbitrary info: for the RFC 5869 Appendix A vectors only.</summary>
    internal static void DeriveKeyCore(ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, Span<byte> output) =>
        OpenSslSha256.Hkdf(ikm, salt, info, output);

    private static void CheckOutput(int length, string name)
    {
        if (length is < 1 or > MaxOutputLength)
        {
            throw new ArgumentException($"HKDF-SHA256 output must be 1..{MaxOutputLength} bytes.", name);
        }
    }
}
