using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests.Vectors;

/// <summary>
/// The libcrypto low-level SHA-256 path and the HMAC/HKDF built on it (Internal/OpenSslSha256.cs) against .NET's own
/// SHA-256 and HKDF, at every block boundary and key length that changes the construction (RFC 2104: keys longer than the
/// 64-byte block are hashed first; RFC 5869: output over several T(i), empty salt and info).
/// </summary>
public sealed class OpenSslSha256Tests
{
    [Fact]
    public void OpenSsl_path_is_available_and_self_tested() => Assert.True(OpenSslSha256.IsAvailable);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(119)]
    [InlineData(120)]
    [InlineData(1000)]
    [InlineData(100_003)]
    public void Sha256_equals_dotnet(int length)
    {
        byte[] message = Bytes(length, (ulong)length);
        byte[] expected = SHA256.HashData(message);
        byte[] core = new byte[32];
        OpenSslSha256.HashCore(message, core);
        Assert.Equal(expected, core);
        Assert.Equal(expected, Sha256.HashData(message));
        byte[] longer = new byte[40];
        Sha256.HashData(message, longer);
        Assert.Equal(expected, longer[..32]);
        Assert.All(longer[32..], b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    public void Sha256_refuses_a_short_destination(int length) =>
        Assert.Throws<ArgumentException>(() => Sha256.HashData([1, 2, 3], new byte[length]));

    [Theory]
    [InlineData(32, 0, 0, 32)]
    [InlineData(32, 32, 40, 32)]
    [InlineData(0, 0, 0, 1)]
    [InlineData(22, 13, 10, 42)]
    [InlineData(32, 63, 5, 31)]
    [InlineData(32, 64, 5, 33)]
    [InlineData(32, 65, 5, 64)]
    [InlineData(80, 200, 300, 100)]
    [InlineData(200, 1, 4096, 65)]
    [InlineData(32, 32, 60, 8160)]
    public void Hkdf_equals_dotnet(int ikmLength, int saltLength, int infoLength, int outputLength)
    {
        byte[] ikm = Bytes(ikmLength, 1);
        byte[] salt = Bytes(saltLength, 2);
        byte[] info = Bytes(infoLength, 3);
        byte[] expected = new byte[outputLength];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, expected, salt, info);
        byte[] core = new byte[outputLength];
        OpenSslSha256.HkdfCore(ikm, salt, info, core);
        Assert.Equal(expected, core);
        byte[] viaPublic = new byte[outputLength];
        Hkdf.DeriveKey(ikm, salt, DomainLabel.For("test/openssl-hkdf"), viaPublic);
        byte[] expectedLabelled = new byte[outputLength];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, expectedLabelled, salt, DomainLabel.For("test/openssl-hkdf").Span);
        Assert.Equal(expectedLabelled, viaPublic);
    }

    [Fact]
    public void Hkdf_writes_only_its_output()
    {
        byte[] buffer = new byte[48];
        Array.Fill(buffer, (byte)0xA5);
        OpenSslSha256.HkdfCore(Bytes(32, 4), [], Bytes(20, 5), buffer.AsSpan(8, 32));
        Assert.All(buffer[..8], b => Assert.Equal(0xA5, b));
        Assert.All(buffer[40..], b => Assert.Equal(0xA5, b));
    }

    private static byte[] Bytes(int length, ulong seed)
    {
        var bytes = new byte[length];
        using var rng = DeterministicRandomSource.FromTestSeed(seed);
        rng.Fill(bytes);
        return bytes;
    }
}
