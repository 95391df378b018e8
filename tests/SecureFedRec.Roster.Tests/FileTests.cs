using System.Security.Cryptography;
using SecureFedRec.Crypto;

namespace SecureFedRec.Roster.Tests;

public sealed class FileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sfr-roster-files-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string P(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public void CreateNewWritesMode0600AndLeavesNoTemporaryFile()
    {
        SafeFile.CreateNew(P("key"), "secret"u8, secret: true);
        Assert.Equal("secret", File.ReadAllText(P("key")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(P("key")));
        }

        Assert.Single(_dir.GetFiles());
    }

    public static TheoryData<string> Refusals => ["existing file", "symlink to a file", "dangling symlink", "directory"];

    [Theory]
    [MemberData(nameof(Refusals))]
    public void CreateNewRefusesAnythingAtThePath(string name)
    {
        string target = P("target");
        File.WriteAllText(target, "keep");
        switch (name)
        {
            case "existing file": File.WriteAllText(P("out"), "keep"); break;
            case "symlink to a file": File.CreateSymbolicLink(P("out"), target); break;
            case "dangling symlink": File.CreateSymbolicLink(P("out"), P("nowhere")); break;
            case "directory": Directory.CreateDirectory(P("out")); break;
            default: throw new ArgumentOutOfRangeException(nameof(name));
        }

        Assert.Throws<UnsafeOutputPathException>(() => SafeFile.CreateNew(P("out"), "new"u8, secret: true));
        Assert.Equal("keep", File.ReadAllText(target));
        Assert.False(File.Exists(P("nowhere")));
        Assert.DoesNotContain(_dir.GetFiles(), f => f.Name.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void ReplaceRefusesASymlinkAndReplacesARegularFile()
    {
        string target = P("target");
        File.WriteAllText(target, "keep");
        File.CreateSymbolicLink(P("link"), target);
        Assert.Throws<UnsafeOutputPathException>(() => SafeFile.Replace(P("link"), "new"u8, secret: false));
        Assert.Equal("keep", File.ReadAllText(target));
        SafeFile.Replace(target, "new"u8, secret: false);
        Assert.Equal("new", File.ReadAllText(target));
        // Reading follows links (mounted secrets are links); writing never does.
        Assert.Equal("new"u8.ToArray(), SafeFile.ReadAll(P("link"), 100));
        Assert.Throws<IOException>(() => SafeFile.ReadAll(P("link"), 2));
    }

    [Theory]
    [InlineData(IdentitySuite.Ed25519)]
    [InlineData(IdentitySuite.EcdsaP256Sha256)]
    public void KeyFilesRoundTripAsPkcs8(IdentitySuite suite)
    {
        using IdentitySigningKey key = IdentitySigningKey.Generate(suite);
        IdentityKeyFile.Write(P("id.key"), key);
        string pem = File.ReadAllText(P("id.key"));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", pem, StringComparison.Ordinal);
        using IdentitySigningKey read = IdentityKeyFile.Read(P("id.key"));
        Assert.Equal(suite, read.Suite);
        Assert.Equal(key.ExportPublicKey(), read.ExportPublicKey());
        Assert.Throws<UnsafeOutputPathException>(() => IdentityKeyFile.Write(P("id.key"), key));
    }

    [Fact]
    public void AnExistingClientKeyFromDotNetIsAP256Identity()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(P("client.key"), ecdsa.ExportPkcs8PrivateKeyPem());
        using IdentitySigningKey key = IdentityKeyFile.Read(P("client.key"));
        Assert.Equal(IdentitySuite.EcdsaP256Sha256, key.Suite);
        byte[] sig = key.Sign("m"u8);
        Assert.True(ecdsa.VerifyData("m"u8, sig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Theory]
    [InlineData("not a key")]
    [InlineData("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")]
    public void MalformedKeyFilesAreRefused(string text)
    {
        File.WriteAllText(P("bad.key"), text);
        Assert.Throws<ArgumentException>(() => IdentityKeyFile.Read(P("bad.key")));
    }

    [Fact]
    public void AnOtherCurveIsRefused()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        File.WriteAllText(P("p384.key"), ecdsa.ExportPkcs8PrivateKeyPem());
        Assert.Throws<ArgumentException>(() => IdentityKeyFile.Read(P("p384.key")));
    }
}
