using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// A key-agreement private key bound to its <see cref="KeyAgreementAlgorithm"/>, with its public key.
/// </summary>
/// <remarks>
/// <para>The 32-byte scalar lives in a pinned array wiped on <see cref="Dispose"/>; it leaves the holder only through
/// <see cref="ExportPrivateKey"/> into a caller buffer (caller wipes). <see cref="ToString"/> is redacted. A P-256 key also
/// holds a native OpenSSL key object (disposed with this holder; OpenSSL frees it with <c>BN_clear_free</c>).</para>
/// <para>Thread-safe for concurrent <see cref="KeyAgreementAlgorithm.TryAgree"/>; do not dispose while in use. Every member
/// except <see cref="Dispose"/>, <see cref="ToString"/> and <see cref="Algorithm"/> throws <see cref="ObjectDisposedException"/>
/// after dispose.</para>
/// </remarks>
public sealed class PrivateKey : IDisposable
{
    private readonly PinnedSecret _scalar;
    private readonly byte[] _publicKey;
    private readonly IDisposable? _native;
    private bool _disposed;

    internal PrivateKey(KeyAgreementAlgorithm algorithm, PinnedSecret scalar, byte[] publicKey, IDisposable? native)
    {
        Algorithm = algorithm;
        _scalar = scalar;
        _publicKey = publicKey;
        _native = native;
    }

    /// <summary>The suite this key belongs to.</summary>
    public KeyAgreementAlgorithm Algorithm { get; }

    /// <summary>The encoded public key (see <see cref="KeyAgreementAlgorithm"/> for the encoding).</summary>
    public ReadOnlySpan<byte> PublicKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _publicKey;
        }
    }

    internal bool IsDisposed => _disposed;

    internal IDisposable? Native => _native;

    /// <summary>A copy of the public key (public data).</summary>
    public byte[] ExportPublicKey() => PublicKey.ToArray();

    /// <summary>Writes the 32-byte private key into <paramref name="destination"/>; the caller wipes it.</summary>
    public void ExportPrivateKey(Span<byte> destination) => _scalar.CopyTo(destination, this, nameof(destination));

    /// <summary>Wipes the scalar and releases the native key. Idempotent.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _scalar.Wipe();
            _native?.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"PrivateKey({Algorithm.Id}, redacted{(_disposed ? ", disposed" : string.Empty)})";

    internal byte[] ScalarArray => _scalar.Array(this);

    internal ReadOnlySpan<byte> Scalar => _scalar.Span(this);
}
