using System.Globalization;
using Grpc.Core;
using SecureFedRec.Crypto;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// Server-side check of the signed-request scheme (<see cref="RequestSignature"/>, coordinator.proto header) against the
/// registered keys (current roster members, or the allow-list), in the suite of the registered key, with replay protection (<see cref="ReplayGuard"/>). It needs the request's headers only — the request
/// hash travels in <c>x-sfr-request-sha256-bin</c> — so <see cref="SignedRequestMiddleware"/> runs it before the body
/// is read; the body's hash is compared afterwards (<see cref="SignedMessages"/>).
/// </summary>
/// <remarks>
/// Verdicts, never exceptions: missing or malformed headers → UNAUTHENTICATED; unknown client id or bad signature →
/// PERMISSION_DENIED with one fixed message, so that a caller cannot probe which ids are enrolled; stale timestamp or
/// replayed nonce → UNAUTHENTICATED; the client's nonce quota used up → RESOURCE_EXHAUSTED; nonce cache full →
/// UNAVAILABLE. The replay check runs only after the signature verified, so nobody but the key holder can spend its
/// quota. An unknown client id still costs one signature verification (against a dummy key of the deployment's suite
/// generated once per process, result discarded), so the response time does not reveal whether an id is enrolled through
/// a skipped signature check. Thread-safe.
/// </remarks>
public sealed class SignedRequestAuthenticator
{
    /// <summary>The one message sent for an unknown client or a bad signature.</summary>
    public const string DeniedMessage = "Permission denied.";

    /// <summary>The message of a request refused because its client used up its nonce quota.</summary>
    public const string QuotaMessage = "Too many requests from this client within the replay window (rule: per-client nonce quota); slow down.";

    /// <summary>Public keys whose private keys were discarded at creation: the unknown-id path verifies against one.</summary>
    private static readonly byte[] s_dummyEd25519 = CreateDummyPublicKey(IdentitySuite.Ed25519);
    private static readonly byte[] s_dummyP256 = CreateDummyPublicKey(IdentitySuite.EcdsaP256Sha256);

    private readonly Func<string, CancellationToken, ValueTask<byte[]?>> _lookup;
    private readonly ReplayGuard _replay;
    private readonly SignatureVerifier _verify;
    private readonly byte[] _dummyPublicKey;

    /// <summary>Signature check (suite by the key's length, <see cref="RequestSignature.TrySuiteOf"/>; injectable for tests).</summary>
    internal delegate bool SignatureVerifier(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signedMessage, ReadOnlySpan<byte> signature);

    /// <summary>
    /// Creates the authenticator. <paramref name="lookupPublicKey"/> returns the registered public key of a client id (32
    /// bytes Ed25519 or 65 bytes SEC 1 P-256: the suite follows from the length) when the client may call now, or null;
    /// <paramref name="dummySuite"/> is the suite the unknown-id path verifies in (the deployment's members' suite).
    /// </summary>
    public SignedRequestAuthenticator(Func<string, CancellationToken, ValueTask<byte[]?>> lookupPublicKey, ReplayGuard replay, IdentitySuite dummySuite = IdentitySuite.Ed25519)
        : this(lookupPublicKey, replay, RequestSignature.Verify, dummySuite)
    {
    }

    internal SignedRequestAuthenticator(Func<string, CancellationToken, ValueTask<byte[]?>> lookupPublicKey, ReplayGuard replay, SignatureVerifier verify, IdentitySuite dummySuite = IdentitySuite.Ed25519)
    {
        ArgumentNullException.ThrowIfNull(lookupPublicKey);
        ArgumentNullException.ThrowIfNull(replay);
        ArgumentNullException.ThrowIfNull(verify);
        _lookup = lookupPublicKey;
        _replay = replay;
        _verify = verify;
        _dummyPublicKey = dummySuite == IdentitySuite.EcdsaP256Sha256 ? s_dummyP256 : s_dummyEd25519;
    }

    /// <summary>The dummy key the unknown-id path verifies against (public data; a copy).</summary>
    internal byte[] DummyPublicKey => (byte[])_dummyPublicKey.Clone();


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
        // Unknown id: do the same signature work against the dummy key and discard the result, then deny as for a bad signature.
        bool verified = _verify(publicKey ?? _dummyPublicKey, signed, signature);
        if (publicKey is null || !verified)
        {
            return AuthVerdict.Refuse(StatusCode.PermissionDenied, DeniedMessage);
        }

        return _replay.Check(clientId!, nonce, timestamp) switch
        {
            ReplayVerdict.Fresh => new AuthVerdict(StatusCode.OK, string.Empty, clientId, hash),
            ReplayVerdict.Stale => AuthVerdict.Refuse(StatusCode.Unauthenticated, "Request timestamp outside the accepted window."),
            ReplayVerdict.Replayed => AuthVerdict.Refuse(StatusCode.Unauthenticated, "Replayed request."),
            ReplayVerdict.QuotaExceeded => AuthVerdict.Refuse(StatusCode.ResourceExhausted, QuotaMessage),
            _ => AuthVerdict.Refuse(StatusCode.Unavailable, "Replay cache full (rule: nonce capacity); retry later."),
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

    private static byte[] CreateDummyPublicKey(IdentitySuite suite)
    {
        // A valid key whose private key is discarded at once: no request can ever verify under it.
        using IdentitySigningKey key = IdentitySigningKey.Generate(suite);
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
