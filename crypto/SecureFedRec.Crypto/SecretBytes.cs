using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// A generic secret byte string (a 32-byte seed, an AEAD key, a Shamir secret, HKDF output): sealed, disposable, wiped on
/// dispose, with a redacted <see cref="ToString"/>.
/// </summary>
/// <remarks>
/// <para>The bytes live in one pinned array (no copies left behind by the GC) and leave the holder only through
/// <see cref="Export"/>, into a buffer the caller owns and must wipe (<see cref="CryptographicOperations.ZeroMemory"/>).</para>
/// <para>Length 1..4096 bytes. Thread-safety: reads may run concurrently; <see cref="Dispose"/> must not race with use.
/// Every member except <see cref="Dispose"/> and <see cref="ToString"/> throws <see cref="ObjectDisposedException"/>
/// after dispose.</para>
/// </remarks>
public sealed class SecretBytes : IDisposable
{
    /// <summary>Largest secret this holder accepts.</summary>
    public const int MaxLength = 4096;

    private readonly PinnedSecret _secret;

    private SecretBytes(PinnedSecret secret) => _secret = secret;

    /// <summary>Length in bytes.</summary>
    public int Length => _secret.Length;

    /// <summary>Copies <paramref name="value"/> into a new holder (the caller still wipes its own copy).</summary>
    /// <exception cref="ArgumentException">Empty or longer than <see cref="MaxLength"/>.</exception>
    public static SecretBytes Import(ReadOnlySpan<byte> value)
    {
        CheckLength(value.Length, nameof(value));
        return new SecretBytes(new PinnedSecret(value));
    }

    /// <summary>A fresh uniformly random secret of <paramref name="length"/> bytes (default 32).</summary>
    public static SecretBytes Generate(int length = 32, RandomSource? rng = null)
    {
        CheckLength(length, nameof(length));
        var secret = new PinnedSecret(length);
        (rng ?? RandomSource.System).Fill(secret.Array(secret).AsSpan());
        return new SecretBytes(secret);
    }

    /// <summary>Writes the secret into <paramref name="destination"/> (exactly <see cref="Length"/> bytes). The caller wipes it.</summary>
    public void Export(Span<byte> destination) => _secret.CopyTo(destination, this, nameof(destination));

    /// <summary>Constant-time comparison of contents (lengths are not secret).</summary>
    public bool ContentEquals(SecretBytes other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return CryptographicOperations.FixedTimeEquals(_secret.Span(this), other._secret.Span(other));
    }

    /// <summary>Wipes the secret. Idempotent.</summary>
    public void Dispose() => _secret.Wipe();

    /// <inheritdoc />
    public override string ToString() => $"SecretBytes({Length} bytes, redacted{(_secret.IsWiped ? ", disposed" : string.Empty)})";

    internal static SecretBytes TakeOwnership(PinnedSecret secret) => new(secret);

    internal ReadOnlySpan<byte> Span => _secret.Span(this);

    private static void CheckLength(int length, string name)
    {
        if (length is < 1 or > MaxLength)
        {
            throw new ArgumentException($"A secret must be 1..{MaxLength} bytes.", name);
        }
    }
}
