using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace SecureFedRec.Protocol.Internal;

/// <summary>Masked-vector wire encoding: d little-endian u32 words (secagg.proto, MaskedInput.masked_vector).</summary>
internal static class VectorCodec
{
    /// <summary>
    /// The words of a 4·d-byte encoding buffer, to be filled in place; on a little-endian host they are already in wire
    /// order, on a big-endian host <see cref="FinishInPlace(byte[])"/> swaps them.
    /// </summary>
    public static Span<uint> AsWords(byte[] encoded) => AsWords(encoded, encoded.Length);

    /// <summary>The words of the first <paramref name="length"/> bytes of <paramref name="encoded"/> (a pooled buffer may be longer).</summary>
    public static Span<uint> AsWords(byte[] encoded, int length) => MemoryMarshal.Cast<byte, uint>(encoded.AsSpan(0, length));

    /// <summary>Completes a buffer filled through <see cref="AsWords(byte[])"/> into the little-endian wire encoding; returns it.</summary>
    public static byte[] FinishInPlace(byte[] encoded) => FinishInPlace(encoded, encoded.Length);

    /// <summary><see cref="FinishInPlace(byte[])"/> for the first <paramref name="length"/> bytes.</summary>
    public static byte[] FinishInPlace(byte[] encoded, int length)
    {
        if (!BitConverter.IsLittleEndian)
        {
            Span<uint> words = AsWords(encoded, length);
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        return encoded;
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
            int vectorEnd = words.Length - (words.Length % Vector<uint>.Count);
            var limit = new Vector<uint>(modulusMask);
            if (modulusMask != uint.MaxValue)
            {
                ReadOnlySpan<Vector<uint>> wordVectors = MemoryMarshal.Cast<uint, Vector<uint>>(words[..vectorEnd]);
                for (int i = 0; i < wordVectors.Length; i++)
                {
                    if (Vector.GreaterThanAny(wordVectors[i], limit))
                    {
                        return false;
                    }
                }

                for (int i = vectorEnd; i < words.Length; i++)
                {
                    if (words[i] > modulusMask)
                    {
                        return false;
                    }
                }
            }

            AddInto(sum, words, modulusMask);
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

    /// <summary>sum[i] = (sum[i] + add[i]) AND modulusMask, SIMD where available; the spans have equal length.</summary>
    public static void AddInto(Span<uint> sum, ReadOnlySpan<uint> add, uint modulusMask)
    {
        int vectorEnd = sum.Length - (sum.Length % Vector<uint>.Count);
        var limit = new Vector<uint>(modulusMask);
        Span<Vector<uint>> sumVectors = MemoryMarshal.Cast<uint, Vector<uint>>(sum[..vectorEnd]);
        ReadOnlySpan<Vector<uint>> addVectors = MemoryMarshal.Cast<uint, Vector<uint>>(add[..vectorEnd]);
        for (int i = 0; i < sumVectors.Length; i++)
        {
            sumVectors[i] = (sumVectors[i] + addVectors[i]) & limit;
        }

        for (int i = vectorEnd; i < sum.Length; i++)
        {
            sum[i] = unchecked(sum[i] + add[i]) & modulusMask;
        }
    }
}
