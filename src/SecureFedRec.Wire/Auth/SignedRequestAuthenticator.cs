using System.Globalization;
using SecureFedRec.Crypto;
using SecureFedRec.Wire.Server;

namespace SecureFedRec.Wire.Auth;

/// <summary>
/// Server-side check of the signed-request scheme (<see cref="RequestSignature"/>) against an allow-list, with replay
/// protection (<see cref="ReplayGuard"/>). Use <see cref="AuthenticateAsync"/> as a <see cref="WireAuthenticator"/>.
/// </summary>
/// <remarks>
/// Status codes: missing or malformed headers → UNAUTHENTICATED; unknown client id or bad signature →
/// PERMISSION_DENIED with one fixed message, so that a caller cannot probe which ids are enrolled; stale timestamp or
/// replayed nonce → UNAUTHENTICATED; nonce cache full → UNAVAILABLE. The replay check runs only after the signature
/// verified, so nobody but the key holder can fill the cache with its nonces. An unknown client id still costs one ECDSA
/// verification (against a dummy P-256 key generated once per process, result discarded), so the response time does not
/// reveal whether an id is enrolled through a skipped signature check. The allow-list lookup itself is the caller's and
/// should not be much faster for a miss than for a hit. Thread-safe.
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

    /// <summary>Key under which the authenticated client id is stored in <c>HttpContext.Items</c>.</summary>
    public static readonly object ClientIdItem = new();

    /// <summary>The client id a call was authenticated as (set by <see cref="AuthenticateAsync"/>).</summary>
    public static string AuthenticatedClientId(WireCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.HttpContext.Items[ClientIdItem] as string
            ?? throw new InvalidOperationException("The call was not authenticated.");
    }

    /// <summary>Authenticates one call or throws <see cref="WireException"/>.</summary>
    public async ValueTask AuthenticateAsync(WireCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? clientId = context.GetHeader(RequestSignature.ClientIdHeader);
        string? timestampText = context.GetHeader(RequestSignature.TimestampHeader);
        byte[]? nonce = context.GetBinaryHeader(RequestSignature.NonceHeader);
        byte[]? signature = context.GetBinaryHeader(RequestSignature.SignatureHeader);
        if (!RequestSignature.IsClientId(clientId) || timestampText is null || nonce is null || signature is null
            || nonce.Length != RequestSignature.NonceLength || signature.Length != RequestSignature.SignatureLength
            || !long.TryParse(timestampText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long timestamp))
        {
            throw new WireException(GrpcStatusCode.Unauthenticated, "Missing or malformed request signature headers.");
        }

        byte[]? publicKey = await _lookup(clientId!, context.CancellationToken).ConfigureAwait(false);
        byte[] signed = RequestSignature.BuildSignedMessage(context.Method, context.RequestBytes.Span, clientId!, timestamp, nonce);
        // Unknown id: do the same ECDSA work against the dummy key and discard the result, then deny as for a bad signature.
        bool verified = _verify(publicKey ?? s_dummyPublicKey, signed, signature);
        if (publicKey is null || !verified)
        {
            throw new WireException(GrpcStatusCode.PermissionDenied, DeniedMessage);
        }

        switch (_replay.Check(clientId!, nonce, timestamp))
        {
            case ReplayVerdict.Fresh:
                context.HttpContext.Items[ClientIdItem] = clientId;
                return;
            case ReplayVerdict.Stale:
                throw new WireException(GrpcStatusCode.Unauthenticated, "Request timestamp outside the accepted window.");
            case ReplayVerdict.Replayed:
                throw new WireException(GrpcStatusCode.Unauthenticated, "Replayed request.");
            default:
                throw new WireException(GrpcStatusCode.Unavailable, "Too many requests in flight; retry later.");
        }
    }

    private static byte[] CreateDummyPublicKey()
    {
        // A valid P-256 point whose private key is discarded at once: no request can ever verify under it.
        using SigningKey key = SigningKey.Generate();
        return key.ExportPublicKey();
    }
}
