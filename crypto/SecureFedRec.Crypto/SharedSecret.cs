using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// The raw output of a key agreement (X25519: RFC 7748 §6.1; P-256: the x-coordinate, SEC 1 §3.3.1). It is not uniformly
/// random and is usable only as HKDF input (<see cref="Hkdf.DeriveKey(SharedSecret, ReadOnlySpan{byte}, DomainLabel, Span{byte})"/>):
/// there is no export.
/// </summary>
/// <remarks>32 bytes, pinned, wiped on dispose; <see cref="ToString"/> redacted; use after dispose throws
/// <see cref="ObjectDisposedException"/>. Not meant to be shared between threads while being disposed.</remarks>
public sealed class SharedSecret : IDisposable
{
    private readonly PinnedSecret _secret;

    internal SharedSecret(KeyAgreementSuite suite, PinnedSecret secret)
    {
        Suite = suite;
        _secret = secret;
    }

    /// <summary>The suite that produced this secret.</summary>
    public KeyAgreementSuite Suite { get; }

    /// <summary>Length in bytes (32).</summary>
    public int Length => _secret.Length;

    internal ReadOnlySpan<byte> Span => _secret.Span(this);

    /// <summary>Wipes the secret. Idempotent.</summary>
    public void Dispose() => _secret.Wipe();

    /// <inheritdoc />
    public override string ToString() => $"SharedSecret({Suite}, redacted{(_secret.IsWiped ? ", disposed" : string.Empty)})";
}
