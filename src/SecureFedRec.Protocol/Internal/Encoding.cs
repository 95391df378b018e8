using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using SecureFedRec.Crypto;

namespace SecureFedRec.Protocol.Internal;

/// <summary>
/// The protocol's one unambiguous byte encoding for everything that is hashed or signed (secagg.md §"Encoding"):
/// <c>"SecureFedRec/v1" ‖ 0x00 ‖ purpose ‖ 0x00 ‖ for each part: u32be(length) ‖ bytes</c>, the same layout as
/// <see cref="DomainLabel"/> uses for HKDF info strings.
/// </summary>
internal sealed class Encoder
{
    public const string Prefix = "SecureFedRec/v1";
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> Headers = new(StringComparer.Ordinal);

    private Encoder(string purpose) => Write(HeaderOf(purpose));

    /// <summary><c>"SecureFedRec/v1" ‖ 0x00 ‖ purpose ‖ 0x00</c> (cached per purpose; do not modify).</summary>
    public static byte[] HeaderOf(string purpose) => Headers.GetOrAdd(purpose, static p =>
    {
        byte[] prefix = Encoding.ASCII.GetBytes(Prefix);
        byte[] name = Encoding.ASCII.GetBytes(p);
        var header = new byte[prefix.Length + 1 + name.Length + 1];
        prefix.CopyTo(header, 0);
        name.CopyTo(header, prefix.Length + 1);
        return header;
    });

    /// <summary>Appends one part (u32be(length) ‖ bytes) to a running hash: the streamed form of <see cref="Add"/>.</summary>
    public static void AppendPart(System.Security.Cryptography.IncrementalHash hash, ReadOnlySpan<byte> part)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)part.Length);
        hash.AppendData(length);
        hash.AppendData(part);
    }

    /// <summary>Appends the part u32be(value) to a running hash.</summary>
    public static void AppendU32Part(System.Security.Cryptography.IncrementalHash hash, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        AppendPart(hash, bytes);
    }

    public static Encoder For(string purpose) => new(purpose);

    public Encoder Add(ReadOnlySpan<byte> part)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)part.Length);
        Write(length);
        Write(part);
        return this;
    }

    public Encoder AddU32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return Add(bytes);
    }

    public Encoder AddU64(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return Add(bytes);
    }

    /// <summary>Adds a list of ids as one part: the concatenation of u32be(id).</summary>
    public Encoder AddIds(IEnumerable<int> ids)
    {
        var list = ids as IReadOnlyCollection<int> ?? ids.ToList();
        var bytes = new byte[4 * list.Count];
        int i = 0;
        foreach (int id in list)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 * i++), (uint)id);
        }

        return Add(bytes);
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public byte[] Sha256() => Primitives.Sha256(_buffer.WrittenSpan);

    private void Write(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    /// <summary>u32be(a) as a 4-byte array.</summary>
    public static byte[] U32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)value);
        return bytes;
    }
}
