using System.Globalization;
using Grpc.Core;
using SecureFedRec.Crypto;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// Server-side check of the signed-request scheme (<see cref="RequestSignature"/>, coordinator.proto header) against an
/// allow-list, with replay protection (<see cref="ReplayGuard"/>). It needs the request's headers only — the request
/// hash travels in <c>x-sfr-request-sha256-bin</c> — so <see cref="SignedRequestMiddleware"/> runs it before the body
/// is read; the body's hash is compared afterwards (<see cref="SignedMessages"/>).
/// </summary>
/// <remarks>
/// Verdicts, never exceptions: missing or malformed headers → UNAUTHENTICATED; unknown client id or bad signature →
/// PERMISSION_DENIED with one fixed message, so that a caller cannot probe which ids are enrolled; stale timestamp or
/// replayed nonce → UNAUTHENTICATED; nonce cache full → UNAVAILABLE. The replay check runs only after the signature
/// verified, so nobody but the key holder can fill the cache with its nonces. An unknown client id still costs one ECDSA
/// verification (against a dummy P-256 key generated once per process, result discarded), so the response time does not
/// reveal whether an id is enrolled through a skipped signature check. Thread-safe.
/// </remarks>
public sealed class SignedRequestAuthenticator
{
    /// <summary>The one message sent for an unknown client or a bad signature.</summary>
    public const string DeniedMessage = "Permission denied.";

    /// <summary>A P-256 public key whose private key was discarded at creation: the unknown-id path verifies against it.</summary>
    private static readonly byte[] s_dummyPublicKey = CreateDummyPublicKey();

    private readonly Func<string, CancellationToken, ValueTask<byte[]?>> _lookup;
    private readonly ReplayGuard _replay;
    private readonly SignatureVerifier _verify;

    /// <summary>Signature check (<see cref="RequestSignature.Verify"/>; injectable for tests).</summary>
    internal delegate bool SignatureVerifier(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signedMessage, ReadOnlySpan<byte> signature);

    /// <summary>
    /// Creates the authenticator. <paramref name="lookupPublicKey"/> returns the 65-byte public key of an allow-listed
    /// client id, or null.
    /// </summary>
    public SignedRequestAuthenticator(Func<string, CancellationToken, ValueTask<byte[]?>> lookupPublicKey, ReplayGuard replay)
        : this(lookupPublicKey, replay, RequestSignature.Verify)
    {
    }

    internal SignedRequestAuthenticator(Func<string, CancellationToken, ValueTask<byte[]?>> lookupPublicKey, ReplayGuard replay, SignatureVerifier verify)
    {
        ArgumentNullException.ThrowIfNull(lookupPublicKey);
        ArgumentNullException.ThrowIfNull(replay);
        ArgumentNullException.ThrowIfNull(verify);
        _lookup = lookupPublicKey;
        _replay = replay;
        _verify = verify;
    }

    /// <summary>The dummy key the unknown-id path verifies against (public data; a copy).</summary>
    internal static byte[] DummyPublicKey => (byte[])s_dummyPublicKey.Clone();

    /// <summary>
    /// Authenticates one call of <paramref name="method"/> (its gRPC path) from its headers; <paramref name="header"/>
    /// returns a header's value or null (binary headers as base64, padded or not).
    /// </summary>
    public async ValueTask<AuthVerdict> AuthenticateAsync(string method, Func<string, string?> header, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(header);
        string? clientId = header(RequestSignature.ClientIdHeader);
        string? timestampText = header(RequestSignature.TimestampHeader);
        byte[]? nonce = Base64(header(RequestSignature.NonceHeader));
        byte[]? hash = Base64(header(RequestSignature.RequestHashHeader));
        byte[]? signature = Base64(header(RequestSignature.SignatureHeader));
        if (!RequestSignature.IsClientId(clientId) || timestampText is null || nonce is null || signature is null || hash is null
            || nonce.Length != RequestSignature.NonceLength || signature.Length != RequestSignature.SignatureLength
            || hash.Length != RequestSignature.RequestHashLength
            || !long.TryParse(timestampText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long timestamp))
        {
            return AuthVerdict.Refuse(StatusCode.Unauthenticated, "Missing or malformed request signature headers.");
        }

        byte[]? publicKey = await _lookup(clientId!, cancellationToken).ConfigureAwait(false);
        byte[] signed = RequestSignature.BuildSignedMessageFromHash(method, hash, clientId!, timestamp, nonce);
        // Unknown id: do the same ECDSA work against the dummy key and discard the result, then deny as for a bad signature.
        bool verified = _verify(publicKey ?? s_dummyPublicKey, signed, signature);
        if (publicKey is null || !verified)
        {
            return AuthVerdict.Refuse(StatusCode.PermissionDenied, DeniedMessage);
        }

        return _replay.Check(clientId!, nonce, timestamp) switch
        {
            ReplayVerdict.Fresh => new AuthVerdict(StatusCode.OK, string.Empty, clientId, hash),
            ReplayVerdict.Stale => AuthVerdict.Refuse(StatusCode.Unauthenticated, "Request timestamp outside the accepted window."),
            ReplayVerdict.Replayed => AuthVerdict.Refuse(StatusCode.Unauthenticated, "Replayed request."),
            _ => AuthVerdict.Refuse(StatusCode.Unavailable, "Too many requests in flight; retry later."),
        };
    }

    /// <summary>Decodes gRPC binary metadata: base64 with or without padding (PROTOCOL-HTTP2.md); null when malformed.</summary>
    internal static byte[]? Base64(string? value)
    {
        if (value is null || value.Length > 256)
        {
            return null;
        }

        string padded = (value.Length % 4) switch
        {
            2 => value + "==",
            3 => value + "=",
            _ => value,
        };
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static byte[] CreateDummyPublicKey()
    {
        // A valid P-256 point whose private key is discarded at once: no request can ever verify under it.
        using SigningKey key = SigningKey.Generate();
        return key.ExportPublicKey();
    }
}

/// <summary>The outcome of <see cref="SignedRequestAuthenticator.AuthenticateAsync"/>.</summary>
/// <param name="Status">OK, or the status that refuses the call.</param>
/// <param name="Message">The fixed status message (empty when OK).</param>
/// <param name="ClientId">The authenticated client id, when OK.</param>
/// <param name="RequestHash">The signed SHA-256 of the request body, when OK.</param>
public sealed record AuthVerdict(StatusCode Status, string Message, string? ClientId, byte[]? RequestHash)
{
    /// <summary>Whether the call is authenticated.</summary>
    public bool IsAuthenticated => Status == StatusCode.OK;

    internal static AuthVerdict Refuse(StatusCode status, string message) => new(status, message, null, null);
}
