using System.Security.Cryptography;

namespace SecureFedRec.Crypto;

/// <summary>
/// AES-256-GCM authenticated encryption (NIST SP 800-38D; McGrew &amp; Viega 2004) with the nonce generated inside.
/// </summary>
/// <remarks>
/// <para>Sealed message = nonce (12 bytes, random from the given <see cref="RandomSource"/>) ‖ ciphertext ‖ tag (16 bytes);
/// <see cref="Overhead"/> = 28. Callers never pass a nonce. Random 96-bit nonces: keep one key under 2^32 messages
/// (SP 800-38D §8.3); SecureFedRec derives a fresh key per (session, sender, recipient), far below that.</para>
/// <para>Failure modes: wrong key or buffer lengths and disposed keys throw (<see cref="ArgumentException"/>,
/// <see cref="ObjectDisposedException"/>); a bad tag, a tampered nonce/ciphertext/associated data or a message shorter than
/// <see cref="Overhead"/> make <see cref="TryOpen"/> return <c>false</c> with the plaintext buffer wiped — never an exception.</para>
/// <para>Stateless and thread-safe (built on .NET <see cref="AesGcm"/>).</para>
/// </remarks>
public static class Aead
{
    /// <summary>Key length: 32 bytes (AES-256).</summary>
    public const int KeyLength = 32;

    /// <summary>Nonce length: 12 bytes.</summary>
    public const int NonceLength = 12;

    /// <summary>Tag length: 16 bytes.</summary>
    public const int TagLength = 16;

    /// <summary>Bytes added by sealing: nonce + tag = 28.</summary>
    public const int Overhead = NonceLength + TagLength;

    /// <summary>Largest plaintext accepted (64 MiB, a sanity bound on one protocol message).</summary>
    public const int MaxPlaintextLength = 64 << 20;

    /// <summary>Encrypts and authenticates <paramref name="plaintext"/> and <paramref name="associatedData"/>.</summary>
    /// <param name="key">A 32-byte key.</param>
    /// <param name="associatedData">Authenticated, not encrypted.</param>
    /// <param name="plaintext">The message.</param>
    /// <param name="output">Exactly <c>plaintext.Length + Overhead</c> bytes.</param>
    /// <param name="rng">Nonce source; null ⇒ <see cref="RandomSource.System"/>.</param>
    public static void Seal(SecretBytes key, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> output, RandomSource? rng = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        SealWithKey(key.Span, associatedData, plaintext, output, rng);
    }

    /// <summary>Allocating convenience: returns nonce ‖ ciphertext ‖ tag (public data).</summary>
    public static byte[] Seal(SecretBytes key, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, RandomSource? rng = null)
    {
        byte[] output = new byte[plaintext.Length + Overhead];
        Seal(key, associatedData, plaintext, output, rng);
        return output;
    }

    /// <summary>Length of the plaintext inside a sealed message of <paramref name="sealedLength"/> bytes (−1 if too short).</summary>
    public static int PlaintextLength(int sealedLength) => sealedLength < Overhead ? -1 : sealedLength - Overhead;

    /// <summary>Verifies and decrypts. Returns false (plaintext wiped) on any authentication failure or a too-short message.</summary>
    /// <param name="key">The 32-byte key.</param>
    /// <param name="associatedData">Must equal the sealing side's.</param>
    /// <param name="sealedMessage">nonce ‖ ciphertext ‖ tag.</param>
    /// <param name="plaintext">Exactly <c>sealedMessage.Length − Overhead</c> bytes (when the message is at least Overhead long).</param>
    public static bool TryOpen(SecretBytes key, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> sealedMessage, Span<byte> plaintext)
    {
        ArgumentNullException.ThrowIfNull(key);
        return TryOpenWithKey(key.Span, associatedData, sealedMessage, plaintext);
    }

    /// <summary><see cref="Seal(SecretBytes, ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte}, RandomSource?)"/> with the key
    /// in a caller's (wiped-by-the-caller) buffer: no <see cref="SecretBytes"/> copy of the key per message.</summary>
    internal static void SealWithKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> output, RandomSource? rng = null)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException("AES-256-GCM needs a 32-byte key.", nameof(key));
        }

        if (plaintext.Length > MaxPlaintextLength)
        {
            throw new ArgumentException($"The plaintext exceeds {MaxPlaintextLength} bytes.", nameof(plaintext));
        }

        if (output.Length != plaintext.Length + Overhead)
        {
            throw new ArgumentException("The output must be exactly plaintext.Length + Aead.Overhead bytes.", nameof(output));
        }

        Span<byte> nonce = output[..NonceLength];
        (rng ?? RandomSource.System).Fill(nonce);
        SealCore(key, nonce, associatedData, plaintext, output.Slice(NonceLength, plaintext.Length), output[(NonceLength + plaintext.Length)..]);
    }

    /// <summary><see cref="TryOpen(SecretBytes, ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> with the key in a
    /// caller's buffer (same checks, same constant-time tag verification by <see cref="AesGcm"/>).</summary>
    internal static bool TryOpenWithKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> sealedMessage, Span<byte> plaintext)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException("AES-256-GCM needs a 32-byte key.", nameof(key));
        }

        if (sealedMessage.Length < Overhead)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }

        if (plaintext.Length != sealedMessage.Length - Overhead)
        {
            throw new ArgumentException("The plaintext buffer must be exactly sealedMessage.Length − Aead.Overhead bytes.", nameof(plaintext));
        }

        return OpenCore(
            key,
            sealedMessage[..NonceLength],
            associatedData,
            sealedMessage.Slice(NonceLength, plaintext.Length),
            sealedMessage[(NonceLength + plaintext.Length)..],
            plaintext);
    }

    /// <summary>GCM with an explicit nonce: internal, for the McGrew–Viega vectors only.</summary>
    internal static void SealCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        using var gcm = new AesGcm(key, TagLength);
        gcm.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
    }

    internal static bool OpenCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        using var gcm = new AesGcm(key, TagLength);
        try
        {
            gcm.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            // .NET already clears the output on a tag mismatch; wipe again so the guarantee does not depend on it.
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }
    }
}
