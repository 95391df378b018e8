using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// Combining keystream words into a vector of <see cref="uint"/> mod 2^bits (add, subtract, overwrite), with 256/128-bit
/// SIMD where available. Keystream words are little-endian 32-bit words masked with (2^bits − 1).
/// </summary>
internal static class MaskCombine
{
    internal static void ReduceInPlace(Span<uint> vector, uint mask)
    {
        int i = 0;
        ref uint v = ref MemoryMarshal.GetReference(vector);
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(mask);
            for (; i + 8 <= vector.Length; i += 8)
            {
                (Vector256.LoadUnsafe(ref v, (nuint)i) & m).StoreUnsafe(ref v, (nuint)i);
            }
        }

        for (; i < vector.Length; i++)
        {
            vector[i] &= mask;
        }
    }

    internal static void Combine<TOp>(Span<uint> vector, ReadOnlySpan<byte> keystream, uint mask)
        where TOp : struct, IMaskOp
    {
        int n = vector.Length;
        int i = 0;
        if (BitConverter.IsLittleEndian)
        {
            ReadOnlySpan<uint> ks = MemoryMarshal.Cast<byte, uint>(keystream);
            ref uint v = ref MemoryMarshal.GetReference(vector);
            ref uint k = ref MemoryMarshal.GetReference(ks);
            if (Vector256.IsHardwareAccelerated)
            {
                var m = Vector256.Create(mask);
                for (; i + 8 <= n; i += 8)
                {
                    var r = TOp.Apply(Vector256.LoadUnsafe(ref v, (nuint)i), Vector256.LoadUnsafe(ref k, (nuint)i) & m);
                    (r & m).StoreUnsafe(ref v, (nuint)i);
                }
            }

            if (Vector128.IsHardwareAccelerated)
            {
                var m = Vector128.Create(mask);
                for (; i + 4 <= n; i += 4)
                {
                    var r = TOp.Apply(Vector128.LoadUnsafe(ref v, (nuint)i), Vector128.LoadUnsafe(ref k, (nuint)i) & m);
                    (r & m).StoreUnsafe(ref v, (nuint)i);
                }
            }
        }

        for (; i < n; i++)
        {
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(keystream.Slice(i * 4, 4)) & mask;
            vector[i] = TOp.Apply(vector[i], word) & mask;
        }
    }

    internal interface IMaskOp
    {
        static abstract Vector256<uint> Apply(Vector256<uint> value, Vector256<uint> mask);

        static abstract Vector128<uint> Apply(Vector128<uint> value, Vector128<uint> mask);

        static abstract uint Apply(uint value, uint mask);
    }

    // Wrap-around mod 2^32 is intended: the result is then reduced mod 2^bits by the caller's mask.
    internal readonly struct AddOp : IMaskOp
    {
        public static Vector256<uint> Apply(Vector256<uint> value, Vector256<uint> mask) => value + mask;

        public static Vector128<uint> Apply(Vector128<uint> value, Vector128<uint> mask) => value + mask;

        public static uint Apply(uint value, uint mask) => unchecked(value + mask);
    }

    internal readonly struct SubtractOp : IMaskOp
    {
        public static Vector256<uint> Apply(Vector256<uint> value, Vector256<uint> mask) => value - mask;

        public static Vector128<uint> Apply(Vector128<uint> value, Vector128<uint> mask) => value - mask;

        public static uint Apply(uint value, uint mask) => unchecked(value - mask);
    }

    internal readonly struct OverwriteOp : IMaskOp
    {
        public static Vector256<uint> Apply(Vector256<uint> value, Vector256<uint> mask) => mask;

        public static Vector128<uint> Apply(Vector128<uint> value, Vector128<uint> mask) => mask;

        public static uint Apply(uint value, uint mask) => mask;
    }

    /// <summary>Dispatches <see cref="Combine{TOp}"/> on <paramref name="operation"/>.</summary>
    internal static void Apply(MaskOperation operation, Span<uint> vector, ReadOnlySpan<byte> keystream, uint mask)
    {
        switch (operation)
        {
            case MaskOperation.Add:
                Combine<AddOp>(vector, keystream, mask);
                break;
            case MaskOperation.Subtract:
                Combine<SubtractOp>(vector, keystream, mask);
                break;
            default:
                Combine<OverwriteOp>(vector, keystream, mask);
                break;
        }
    }
}
