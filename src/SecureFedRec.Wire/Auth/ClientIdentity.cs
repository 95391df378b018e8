using System.Globalization;
using System.Security.Cryptography;

namespace SecureFedRec.Wire.Auth;

/// <summary>
/// A client's identity key (ECDSA P-256) and the request signer built on it. The private key stays inside the
/// platform <see cref="ECDsa"/> object and is only ever written out as PKCS#8 PEM by <see cref="ExportPrivateKeyPem"/>.
/// </summary>
/// <remarks>
/// Thread-safe for signing. Dispose releases the key. Nonces come from the OS CSPRNG; timestamps from the given
/// <see cref="TimeProvider"/> (plus a clock offset learnt from the coordinator's status, see <see cref="ClockOffset"/>).
/// </remarks>
public sealed class ClientIdentity : IRequestAuthenticator, IDisposable
{
    private readonly ECDsa _key;
    private readonly TimeProvider _time;
    private readonly byte[] _publicKey;

    private ClientIdentity(ECDsa key, TimeProvider? time)
    {
        _key = key;
        _time = time ?? TimeProvider.System;
        ECParameters p = key.ExportParameters(includePrivateParameters: false);
        _publicKey = new byte[RequestSignature.PublicKeyLength];
        _publicKey[0] = 0x04;
        p.Q.X!.CopyTo(_publicKey, 1);
        p.Q.Y!.CopyTo(_publicKey, 33);
        ClientId = RequestSignature.ClientIdOf(_publicKey);
    }

    /// <summary>Generates a new identity key from the OS CSPRNG.</summary>
    public static ClientIdentity Generate(TimeProvider? time = null) =>
        new(ECDsa.Create(ECCurve.NamedCurves.nistP256), time);

    /// <summary>Loads a PKCS#8 PEM P-256 private key; throws <see cref="ArgumentException"/> for anything else.</summary>
    public static ClientIdentity FromPem(string pem, TimeProvider? time = null)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new ArgumentException("The identity key must be an ECDSA P-256 key.", nameof(pem));
            }

            return new ClientIdentity(key, time);
        }
        catch (CryptographicException ex)
        {
            key.Dispose();
            throw new ArgumentException("Not a PEM-encoded ECDSA private key.", nameof(pem), ex);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Lowercase hex SHA-256 of <see cref="PublicKey"/>.</summary>
    public string ClientId { get; }

    /// <summary>The 65-byte SEC1 uncompressed public key (a copy: it is public).</summary>
    public byte[] PublicKey => (byte[])_publicKey.Clone();

    /// <summary>Added to the local clock when signing (coordinator time minus local time), to absorb clock skew.</summary>
    public TimeSpan ClockOffset { get; set; }

    /// <summary>The private key as PKCS#8 PEM, for writing to a key file with owner-only permissions.</summary>
    public string ExportPrivateKeyPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>Signs a call: returns the five authentication headers (binary ones base64, as on the wire).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> CreateHeaders(string method, ReadOnlySpan<byte> requestBytes)
    {
        long timestamp = (_time.GetUtcNow() + ClockOffset).ToUnixTimeMilliseconds();
        Span<byte> nonce = stackalloc byte[RequestSignature.NonceLength];
        RandomNumberGenerator.Fill(nonce);
        byte[] hash = SHA256.HashData(requestBytes);
        byte[] message = RequestSignature.BuildSignedMessageFromHash(method, hash, ClientId, timestamp, nonce);
        byte[] signature = _key.SignData(message, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return
        [
            new(RequestSignature.ClientIdHeader, ClientId),
            new(RequestSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture)),
            new(RequestSignature.NonceHeader, Convert.ToBase64String(nonce)),
            new(RequestSignature.RequestHashHeader, Convert.ToBase64String(hash)),
            new(RequestSignature.SignatureHeader, Convert.ToBase64String(signature)),
        ];
    }

    /// <inheritdoc />
    public override string ToString() => "ClientIdentity(" + ClientId + ")";

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}

/// <summary>Produces the authentication metadata of one request (<see cref="ClientIdentity"/>; tests substitute their own).</summary>
/// <remarks>Implementations must be thread-safe: a channel calls them concurrently.</remarks>
public interface IRequestAuthenticator
{
    /// <summary>
    /// Headers to add to the call of <paramref name="method"/> (its gRPC path) carrying <paramref name="requestBytes"/>;
    /// values of <c>-bin</c> headers are base64.
    /// </summary>
    IReadOnlyList<KeyValuePair<string, string>> CreateHeaders(string method, ReadOnlySpan<byte> requestBytes);
}
