using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// SHA-256 (FIPS 180-4) for many short messages: the system libcrypto's low-level <c>SHA256_Init/Update/Final</c> (SHA-NI where present) on a stack context, without the EVP digest context .NET's <see cref="System.Security.Cryptography.SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>
/// makes and frees per call (≈ 5× faster for a 100-byte message); .NET's implementation when libcrypto is absent or fails
/// its FIPS 180-2 self-test. Same digests either way.
/// </summary>
/// <remarks>For commitments and other public hashes checked by the hundred per round. Stateless and thread-safe.</remarks>
public static class Sha256
{
    /// <summary>Digest length: 32 bytes.</summary>
    public const int HashLength = OpenSslSha256.HashLength;

    /// <summary>Writes SHA-256(<paramref name="source"/>) into the first 32 bytes of <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 32 bytes.</exception>
    public static void HashData(ReadOnlySpan<byte> source, Span<byte> destination) => OpenSslSha256.HashData(source, destination);

    /// <summary>SHA-256(<paramref name="source"/>) as a new array.</summary>
    public static byte[] HashData(ReadOnlySpan<byte> source)
    {
        var digest = new byte[HashLength];
        OpenSslSha256.HashData(source, digest);
        return digest;
    }
}
