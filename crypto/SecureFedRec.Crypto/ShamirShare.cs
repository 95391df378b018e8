using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// One Shamir share (x, y) over GF(p), p = 2^256 + 297: x is the participant index, y a 33-byte big-endian field element.
/// A secret holder: y lives in a pinned array wiped on <see cref="Dispose"/>, <see cref="ToString"/> shows only x.
/// </summary>
/// <remarks><see cref="Import"/> accepts any x and any 33-byte y so that a share received from the network can be held and
/// then judged by <see cref="Shamir.TryReconstruct"/> (which reports out-of-range indices and y ≥ p as typed results).
/// Members other than <see cref="X"/>, <see cref="Dispose"/> and <see cref="ToString"/> throw
/// <see cref="ObjectDisposedException"/> after dispose.</remarks>
public sealed class ShamirShare : IDisposable
{
    /// <summary>Length of the encoded y value: 33 bytes.</summary>
    public const int YLength = 33;

    private readonly PinnedSecret _y;

    internal ShamirShare(int x, PinnedSecret y)
    {
        X = x;
        _y = y;
    }

    /// <summary>The participant index (valid shares have 1 ≤ x &lt; 2^31).</summary>
    public int X { get; }

    internal bool IsDisposed => _y.IsWiped;

    internal ReadOnlySpan<byte> Y => _y.Span(this);

    /// <summary>Holds a received share (y is copied; the caller wipes its own copy).</summary>
    /// <exception cref="ArgumentException"><paramref name="y33"/> is not 33 bytes.</exception>
    public static ShamirShare Import(int x, ReadOnlySpan<byte> y33)
    {
        if (y33.Length != YLength)
        {
            throw new ArgumentException($"A share's y value is {YLength} bytes.", nameof(y33));
        }

        return new ShamirShare(x, new PinnedSecret(y33));
    }

    /// <summary>Writes y (33 bytes, big-endian) into <paramref name="destination"/>; the caller wipes it.</summary>
    public void ExportY(Span<byte> destination) => _y.CopyTo(destination, this, nameof(destination));

    /// <summary>Wipes y. Idempotent.</summary>
    public void Dispose() => _y.Wipe();

    /// <inheritdoc />
    public override string ToString() => $"ShamirShare(x={X}, y redacted{(_y.IsWiped ? ", disposed" : string.Empty)})";
}

/// <summary>Outcome of a reconstruction (closed set).</summary>
public enum ShamirResult
{
    /// <summary>The secret was reconstructed.</summary>
    Ok = 0,

    /// <summary>Fewer shares than the threshold.</summary>
    TooFewShares = 1,

    /// <summary>Two shares carry the same x.</summary>
    DuplicateIndex = 2,

    /// <summary>An x outside [1, 2^31), or (with a <see cref="LagrangeCache"/>) not in the cache's index set.</summary>
    IndexOutOfRange = 3,

    /// <summary>A y value ≥ p.</summary>
    MalformedShare = 4,

    /// <summary>The interpolated value is ≥ 2^256, so it cannot be a shared 32-byte secret (tampered shares).</summary>
    NotASecret = 5,

    /// <summary>More than threshold shares were given and they do not lie on one polynomial of degree &lt; threshold (tampering).</summary>
    InconsistentShares = 6,
}
