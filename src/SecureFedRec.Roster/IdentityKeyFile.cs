using System.Security.Cryptography;
using System.Text;
using SecureFedRec.Crypto;

namespace SecureFedRec.Roster;

/// <summary>
/// Identity and authority private key files: PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>), readable by OpenSSL.
/// Ed25519 keys are RFC 8410 §7 (OID 1.3.101.112, the 32-byte seed); P-256 keys RFC 5915 inside PKCS#8 (what
/// <c>securefedrec keygen client</c> has always written, so an existing client key is an <c>ecdsa-p256-sha256</c> identity).
/// </summary>
/// <remarks>Every intermediate buffer (file bytes, PEM characters, DER, scalar) is wiped in <c>finally</c>. Writing goes through
/// <see cref="SafeFile.CreateNew"/> (O_EXCL, mode 0600, no symlinks, never overwrites). Stateless and thread-safe.</remarks>
public static class IdentityKeyFile
{
    private const int MaxKeyFileBytes = 16 * 1024;
    private const string Label = "PRIVATE KEY";

    // RFC 8410 §7: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
    private static readonly byte[] Ed25519Prefix = Convert.FromHexString("302e020100300506032b657004220420");

    /// <summary>Writes <paramref name="key"/> to a new file at <paramref name="path"/> (refuses an existing path or a link).</summary>
    public static void Write(string path, IdentitySigningKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        byte[] der = ExportPkcs8(key);
        char[] pem = [];
        byte[] text = [];
        try
        {
            pem = PemEncoding.Write(Label, der);
            text = new byte[pem.Length + 1];
            Encoding.ASCII.GetBytes(pem, text);
            text[^1] = (byte)'\n';
            SafeFile.CreateNew(path, text, secret: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
            CryptographicOperations.ZeroMemory(text);
            Array.Clear(pem);
        }
    }

    /// <summary>Reads a key file written by <see cref="Write"/> (or any PKCS#8 PEM Ed25519 / P-256 key).</summary>
    /// <exception cref="ArgumentException">Not a PKCS#8 PEM key of a supported suite.</exception>
    public static IdentitySigningKey Read(string path)
    {
        byte[] file = SafeFile.ReadAll(path, MaxKeyFileBytes);
        char[] chars = new char[file.Length];
        byte[] der = new byte[file.Length];
        try
        {
            int count = Encoding.ASCII.GetChars(file, chars);
            if (!PemEncoding.TryFind(chars.AsSpan(0, count), out PemFields fields)
                || !chars.AsSpan(fields.Label).SequenceEqual(Label)
                || !Convert.TryFromBase64Chars(chars.AsSpan(fields.Base64Data), der, out int length))
            {
                throw new ArgumentException($"{path}: not a PKCS#8 PEM private key (-----BEGIN {Label}-----).", nameof(path));
            }

            return ImportPkcs8(der.AsSpan(0, length), path);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(file);
            CryptographicOperations.ZeroMemory(der);
            Array.Clear(chars);
        }
    }

    /// <summary>The PKCS#8 DER of <paramref name="key"/>; the caller wipes it.</summary>
    internal static byte[] ExportPkcs8(IdentitySigningKey key)
    {
        Span<byte> secret = stackalloc byte[32];
        try
        {
            key.ExportPrivateKey(secret);
            if (key.Suite == IdentitySuite.Ed25519)
            {
                byte[] der = new byte[Ed25519Prefix.Length + 32];
                Ed25519Prefix.CopyTo(der, 0);
                secret.CopyTo(der.AsSpan(Ed25519Prefix.Length));
                return der;
            }

            byte[] d = secret.ToArray();
            ReadOnlySpan<byte> q = key.PublicKey;
            var parameters = new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                D = d,
                Q = new ECPoint { X = q[1..33].ToArray(), Y = q[33..].ToArray() },
            };
            try
            {
                using var ecdsa = ECDsa.Create(parameters);
                return ecdsa.ExportPkcs8PrivateKey();
            }
            finally
            {
                CryptographicOperations.ZeroMemory(d);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    private static IdentitySigningKey ImportPkcs8(ReadOnlySpan<byte> der, string path)
    {
        if (der.Length == Ed25519Prefix.Length + 32 && der[..Ed25519Prefix.Length].SequenceEqual(Ed25519Prefix))
        {
            return IdentitySigningKey.Import(IdentitySuite.Ed25519, der[Ed25519Prefix.Length..]);
        }

        using var ecdsa = ECDsa.Create();
        ECParameters parameters = default;
        try
        {
            ecdsa.ImportPkcs8PrivateKey(der, out _);
            parameters = ecdsa.ExportParameters(includePrivateParameters: true);
            if (parameters.Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value || parameters.D is not { Length: 32 })
            {
                throw new ArgumentException($"{path}: an ECDSA key must be on P-256.", nameof(path));
            }

            return IdentitySigningKey.Import(IdentitySuite.EcdsaP256Sha256, parameters.D);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException($"{path}: not an Ed25519 or ECDSA P-256 PKCS#8 private key.", nameof(path), ex);
        }
        finally
        {
            if (parameters.D is not null)
            {
                CryptographicOperations.ZeroMemory(parameters.D);
            }
        }
    }
}
