using System.Globalization;
using System.Security.Cryptography;
using SecureFedRec.Crypto;
using SecureFedRec.Roster;

namespace SecureFedRec.Wire.Auth;

/// <summary>
/// A client's one identity — its roster member key (<c>protocol-spec/roster.md</c>), Ed25519 by default or ECDSA P-256 in
/// the FIPS suite — and the request signer built on it (<see cref="RequestSignature"/>). The same key signs requests to the
/// coordinator and, in a round, the client's advertised keys. The private key stays inside the wrapped
/// <see cref="IdentitySigningKey"/>; key files are read and written by <see cref="IdentityKeyFile"/> (PKCS#8 PEM, mode 0600,
/// O_EXCL, no symbolic links).
/// </summary>
/// <remarks>
/// Thread-safe for signing. Dispose wipes the key. Nonces come from the OS CSPRNG; timestamps from the given
/// <see cref="TimeProvider"/> (plus a clock offset learnt from the coordinator's status, see <see cref="ClockOffset"/>).
/// </remarks>
public sealed class ClientIdentity : IRequestAuthenticator, IDisposable
{
    private readonly IdentitySigningKey _key;
    private readonly TimeProvider _time;
    private readonly byte[] _publicKey;
    private long _clockOffsetTicks;

    private ClientIdentity(IdentitySigningKey key, TimeProvider? time)
    {
        _key = key;
        _time = time ?? TimeProvider.System;
        _publicKey = key.ExportPublicKey();
        ClientId = RequestSignature.ClientIdOf(_publicKey);
    }

    /// <summary>Generates a new Ed25519 identity (the default suite) from the OS CSPRNG.</summary>
    public static ClientIdentity Generate(TimeProvider? time = null) => Generate(IdentitySuite.Ed25519, time);

    /// <summary>Generates a new identity of <paramref name="suite"/> from the OS CSPRNG.</summary>
    public static ClientIdentity Generate(IdentitySuite suite, TimeProvider? time = null) =>
        new(IdentitySigningKey.Generate(suite), time);

    /// <summary>Wraps <paramref name="key"/>; the identity takes ownership (disposing it disposes the key).</summary>
    public static ClientIdentity FromKey(IdentitySigningKey key, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new ClientIdentity(key, time);
    }

    /// <summary>Reads a PKCS#8 PEM identity key file (<c>securefedrec keygen identity</c>; Ed25519 or P-256).</summary>
    /// <exception cref="ArgumentException">Not a PKCS#8 PEM key of a supported suite.</exception>
    /// <exception cref="IOException">The file cannot be read (or is a symbolic link).</exception>
    public static ClientIdentity FromKeyFile(string path, TimeProvider? time = null) => new(IdentityKeyFile.Read(path), time);

    /// <summary>Lowercase hex SHA-256 of <see cref="PublicKey"/>: the value of <c>x-sfr-client-id</c>.</summary>
    public string ClientId { get; }

    /// <summary>Suite of the identity key.</summary>
    public IdentitySuite Suite => _key.Suite;

    /// <summary>The public key (32 bytes Ed25519, 65 bytes SEC 1 P-256; a copy: it is public).</summary>
    public byte[] PublicKey => (byte[])_publicKey.Clone();

    /// <summary>The signing key (for the round pipeline, which signs advertised keys with the same identity). Not a copy: do
    /// not dispose it; it lives as long as this identity.</summary>
    public IdentitySigningKey SigningKey => _key;

    /// <summary>Added to the local clock when signing (coordinator time minus local time), to absorb clock skew.</summary>
    public TimeSpan ClockOffset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _clockOffsetTicks));
        set => Interlocked.Exchange(ref _clockOffsetTicks, value.Ticks);
    }

    /// <summary>Writes the private key to a new key file (<see cref="IdentityKeyFile.Write"/>: mode 0600, never over an
    /// existing file or through a link).</summary>
    public void WriteKeyFile(string path) => IdentityKeyFile.Write(path, _key);

    /// <summary>Signs a call: returns the five authentication headers (binary ones base64, as on the wire).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> CreateHeaders(string method, ReadOnlySpan<byte> requestBytes)
    {
        long timestamp = (_time.GetUtcNow() + ClockOffset).ToUnixTimeMilliseconds();
        Span<byte> nonce = stackalloc byte[RequestSignature.NonceLength];
        RandomNumberGenerator.Fill(nonce);
        byte[] hash = SHA256.HashData(requestBytes);
        byte[] message = RequestSignature.BuildSignedMessageFromHash(method, hash, ClientId, timestamp, nonce);
        byte[] signature = _key.Sign(message);
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
    public override string ToString() => "ClientIdentity(" + IdentitySignature.NameOf(Suite) + ", " + ClientId + ")";

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
