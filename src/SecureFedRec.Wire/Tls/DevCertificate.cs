using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFedRec.Wire.Tls;

/// <summary>
/// Self-signed ECDSA P-256 server certificates for trying the coordinator out (RFC 5280: SAN for DNS names and IP
/// addresses, serverAuth extended key usage, digitalSignature key usage). Production deployments use a certificate
/// from their own CA; clients pin a development certificate by its SHA-256 hash.
/// </summary>
/// <remarks>Stateless; thread-safe. The private key is only ever written out as PKCS#8 PEM.</remarks>
public static class DevCertificate
{
    /// <summary>Creates a certificate for <paramref name="hostNames"/> (DNS names or IP literals), valid for <paramref name="validity"/>.</summary>
    public static X509Certificate2 Create(IReadOnlyList<string> hostNames, TimeSpan validity, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(hostNames);
        if (hostNames.Count == 0)
        {
            throw new ArgumentException("At least one host name.", nameof(hostNames));
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + hostNames[0], key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in hostNames)
        {
            if (IPAddress.TryParse(name, out IPAddress? ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        DateTimeOffset now = (time ?? TimeProvider.System).GetUtcNow();
        return request.CreateSelfSigned(now.AddMinutes(-5), now + validity);
    }

    /// <summary>Writes the certificate and its private key as PEM files (the key file readable by its owner only).</summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        using ECDsa key = certificate.GetECDsaPrivateKey()
            ?? throw new ArgumentException("The certificate has no ECDSA private key.", nameof(certificate));
        SecretFile.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Loads a PEM certificate and its PEM private key (for Kestrel).</summary>
    public static X509Certificate2 LoadPem(string certificatePath, string keyPath)
    {
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        // Re-import through PKCS#12 so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>SHA-256 of the certificate's DER encoding, lowercase hex: the pin clients configure.</summary>
    public static string Fingerprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }
}

/// <summary>Writes files that hold private keys: created with mode 0600 on Unix before any byte is written.</summary>
public static class SecretFile
{
    /// <summary>Creates or truncates <paramref name="path"/> with owner-only permissions and writes <paramref name="text"/>.</summary>
    public static void WriteAllText(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }
}
