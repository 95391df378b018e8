using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFedRec.Wire.Client;

/// <summary>
/// A pinned coordinator identity: the SHA-256 of the leaf certificate (DER) or of its SubjectPublicKeyInfo (RFC 7469
/// §2.4, survives re-issuing with the same key). When a pin is configured the coordinator's leaf must match it,
/// WHATEVER the machine's trust store says: a certificate that chains to a trusted root (a TLS-inspection box's CA,
/// say) but is not the pinned one is refused with <see cref="TlsFailure.PinMismatch"/>. A matching pin also accepts a
/// self-signed certificate the trust store does not know (development certificates); the host name must still match.
/// </summary>
/// <remarks>Immutable; thread-safe. Comparison is constant-time.</remarks>
public sealed class CertificatePin
{
    private readonly byte[] _sha256;

    private CertificatePin(byte[] sha256, bool spki)
    {
        _sha256 = sha256;
        IsSpki = spki;
    }

    /// <summary>Whether the pin is over the SubjectPublicKeyInfo (else over the whole leaf certificate).</summary>
    public bool IsSpki { get; }

    /// <summary>Pins exactly <paramref name="certificate"/> (SHA-256 of its DER encoding).</summary>
    public static CertificatePin ForCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new CertificatePin(SHA256.HashData(certificate.RawData), spki: false);
    }

    /// <summary>Pins the public key of <paramref name="certificate"/> (SHA-256 of its SubjectPublicKeyInfo).</summary>
    public static CertificatePin ForPublicKey(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new CertificatePin(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()), spki: true);
    }

    /// <summary>
    /// Parses an SPKI pin: 64 hex digits, or base64 of the 32 bytes (the <c>pin-sha256</c> form of RFC 7469), optionally
    /// prefixed <c>sha256/</c>. <see cref="FormatException"/> otherwise.
    /// </summary>
    public static CertificatePin ParseSpki(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string value = text.Trim();
        if (value.StartsWith("sha256/", StringComparison.Ordinal))
        {
            value = value["sha256/".Length..];
        }

        byte[]? hash = null;
        if (value.Length == 64 && value.All(Uri.IsHexDigit))
        {
            hash = Convert.FromHexString(value);
        }
        else
        {
            Span<byte> buffer = stackalloc byte[48];
            if (Convert.TryFromBase64String(value, buffer, out int written) && written == 32)
            {
                hash = buffer[..32].ToArray();
            }
        }

        return hash is { Length: 32 }
            ? new CertificatePin(hash, spki: true)
            : throw new FormatException("An SPKI pin is 64 hex digits or base64 of a 32-byte SHA-256.");
    }

    /// <summary>Whether <paramref name="leaf"/> matches this pin.</summary>
    public bool Matches(X509Certificate leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        byte[] actual = IsSpki
            ? SHA256.HashData((leaf as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(leaf.GetRawCertData())).PublicKey.ExportSubjectPublicKeyInfo())
            : SHA256.HashData(leaf.GetRawCertData());
        return CryptographicOperations.FixedTimeEquals(actual, _sha256);
    }

    /// <inheritdoc />
    public override string ToString() => (IsSpki ? "spki-sha256:" : "cert-sha256:") + Convert.ToHexStringLower(_sha256);
}
