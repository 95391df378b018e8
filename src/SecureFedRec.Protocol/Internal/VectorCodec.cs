using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SecureFedRec.Protocol.Internal;

/// <summary>Masked-vector wire encoding: d little-endian u32 words (secagg.proto, MaskedInput.masked_vector).</summary>
internal static class VectorCodec
{
    public static byte[] Encode(ReadOnlySpan<uint> vector)
    {
        var bytes = new byte[vector.Length * 4];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(vector).CopyTo(bytes);
        }
        else
        {
            for (int i = 0; i < vector.Length; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4 * i), vector[i]);
            }
        }

        return bytes;
    }

    /// <summary>Decodes and range-checks; false for a wrong length or a word ≥ 2^bits.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, int dimension, uint modulusMask, Span<uint> output)
    {
        if (bytes.Length != 4L * dimension || output.Length != dimension)
        {
            return false;
        }

        for (int i = 0; i < dimension; i++)
        {
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(4 * i));
            if (word > modulusMask)
            {
                return false;
            }

            output[i] = word;
        }

        return true;
    }

    /// <summary>Adds the decoded words into <paramref name="sum"/> mod 2^bits after checking every word; false leaves sum unchanged.</summary>
    public static bool TryAccumulate(ReadOnlySpan<byte> bytes, uint modulusMask, Span<uint> sum)
    {
        if (bytes.Length != 4L * sum.Length)
        {
            return false;
        }

        ReadOnlySpan<uint> words = MemoryMarshal.Cast<byte, uint>(bytes);
        if (BitConverter.IsLittleEndian)
        {
            for (int i = 0; i < words.Length; i++)
            {
                if (words[i] > modulusMask)
                {
                    return false;
                }
            }

            for (int i = 0; i < words.Length; i++)
            {
                sum[i] = unchecked(sum[i] + words[i]) & modulusMask;
            }

            return true;
        }

        for (int i = 0; i < sum.Length; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(4 * i)) > modulusMask)
            {
                return false;
            }
        }

        for (int i = 0; i < sum.Length; i++)
        {
            sum[i] = unchecked(sum[i] + BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(4 * i))) & modulusMask;
        }

        return true;
    }
}
