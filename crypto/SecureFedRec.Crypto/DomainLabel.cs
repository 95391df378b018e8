using System.Buffers.Binary;
using System.Text;

namespace SecureFedRec.Crypto;

/// <summary>
/// A domain-separation label used as HKDF <c>info</c>, so that no caller concatenates bytes by hand.
/// </summary>
/// <remarks>
/// <para>Encoding (normative; also in <c>crypto/README.md</c> and <c>protocol-spec/secagg.md</c>):
/// <c>"SecureFedRec/v1"</c> ‖ 0x00 ‖ purpose (ASCII) ‖ 0x00 ‖ for each context part in order: u32 big-endian length ‖ bytes.
/// <see cref="Add(uint)"/> adds a 4-byte part (the value big-endian), <see cref="Add(ulong)"/> an 8-byte part,
/// <see cref="Add(string)"/> the UTF-8 bytes. The purpose is 1..64 printable ASCII characters without NUL, so the prefix
/// is prefix-free and two different (purpose, parts) never encode to the same bytes.</para>
/// <para>Immutable: <c>Add</c> returns a new label, so a label may be shared between threads. Total size ≤ 65,536 bytes.</para>
/// </remarks>
public sealed class DomainLabel
{
    /// <summary>The protocol/version prefix of every label.</summary>
    public const string Prefix = "SecureFedRec/v1";

    /// <summary>Largest encoded label.</summary>
    public const int MaxEncodedLength = 65536;

    private readonly byte[] _encoded;

    private DomainLabel(byte[] encoded) => _encoded = encoded;

    /// <summary>The purpose string this label was created with.</summary>
    public string Purpose { get; private init; } = string.Empty;

    /// <summary>The encoded bytes (HKDF info).</summary>
    public ReadOnlySpan<byte> Span => _encoded;

    /// <summary>Starts a label for <paramref name="purpose"/> (e.g. <c>"mask-prg"</c>, <c>"share-encryption"</c>).</summary>
    /// <exception cref="ArgumentException">Empty, longer than 64, or not printable ASCII.</exception>
    public static DomainLabel For(string purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        if (purpose.Length is < 1 or > 64)
        {
            throw new ArgumentException("The purpose must be 1..64 characters.", nameof(purpose));
        }

        foreach (char c in purpose)
        {
            if (c is < (char)0x21 or > (char)0x7E)
            {
                throw new ArgumentException("The purpose must be printable ASCII without spaces.", nameof(purpose));
            }
        }

        byte[] encoded = new byte[Prefix.Length + 1 + purpose.Length + 1];
        Encoding.ASCII.GetBytes(Prefix, encoded);
        Encoding.ASCII.GetBytes(purpose, encoded.AsSpan(Prefix.Length + 1));
        return new DomainLabel(encoded) { Purpose = purpose };
    }

    /// <summary>Appends a byte-string context part.</summary>
    public DomainLabel Add(ReadOnlySpan<byte> part)
    {
        if (_encoded.Length + 4 + part.Length > MaxEncodedLength)
        {
            throw new ArgumentException($"A label may not exceed {MaxEncodedLength} bytes.", nameof(part));
        }

        byte[] next = new byte[_encoded.Length + 4 + part.Length];
        _encoded.CopyTo(next, 0);
        BinaryPrimitives.WriteUInt32BigEndian(next.AsSpan(_encoded.Length), (uint)part.Length);
        part.CopyTo(next.AsSpan(_encoded.Length + 4));
        return new DomainLabel(next) { Purpose = Purpose };
    }

    /// <summary>Appends a 32-bit integer part (4 bytes, big-endian).</summary>
    public DomainLabel Add(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return Add((ReadOnlySpan<byte>)b);
    }

    /// <summary>Appends a 64-bit integer part (8 bytes, big-endian).</summary>
    public DomainLabel Add(ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        return Add((ReadOnlySpan<byte>)b);
    }

    /// <summary>Appends a text part (its UTF-8 bytes).</summary>
    public DomainLabel Add(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Add((ReadOnlySpan<byte>)Encoding.UTF8.GetBytes(value));
    }

    /// <summary>A copy of the encoded bytes.</summary>
    public byte[] ToArray() => (byte[])_encoded.Clone();

    /// <inheritdoc />
    public override string ToString() => $"DomainLabel({Purpose}, {_encoded.Length} bytes)";
}
