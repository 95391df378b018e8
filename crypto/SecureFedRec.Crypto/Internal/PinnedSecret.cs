using System.Security.Cryptography;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// A pinned byte array (so the GC never leaves a moved copy behind) that is wiped on <see cref="Wipe"/>. The one place
/// where the secret holders keep their bytes.
/// </summary>
internal sealed class PinnedSecret
{
    private readonly byte[] _bytes;
    private bool _wiped;

    internal PinnedSecret(int length)
    {
        _bytes = GC.AllocateArray<byte>(length, pinned: true);
    }

    internal PinnedSecret(ReadOnlySpan<byte> value)
        : this(value.Length)
    {
        value.CopyTo(_bytes);
    }

    internal int Length => _bytes.Length;

    internal bool IsWiped => _wiped;

    /// <summary>The array itself, for APIs (BouncyCastle) that take arrays; never hand it outside the library.</summary>
    internal byte[] Array(object owner)
    {
        ObjectDisposedException.ThrowIf(_wiped, owner);
        return _bytes;
    }

    internal ReadOnlySpan<byte> Span(object owner)
    {
        ObjectDisposedException.ThrowIf(_wiped, owner);
        return _bytes;
    }

    internal void CopyTo(Span<byte> destination, object owner, string parameterName)
    {
        ObjectDisposedException.ThrowIf(_wiped, owner);
        if (destination.Length != _bytes.Length)
        {
            throw new ArgumentException($"The destination must be exactly {_bytes.Length} bytes.", parameterName);
        }

        _bytes.CopyTo(destination);
    }

    internal void Wipe()
    {
        CryptographicOperations.ZeroMemory(_bytes);
        _wiped = true;
    }
}
