using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace SecureFedRec.Crypto.Internal;

/// <summary>AES-NI counter-mode blocks: the 8-blocks-in-flight round function shared by the keystream and the fused mask paths.</summary>
internal static class AesNiBlocks
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> CounterBlock(UInt128 c) =>
        Vector128.Create(BinaryPrimitives.ReverseEndianness((ulong)(c >> 64)), BinaryPrimitives.ReverseEndianness((ulong)c)).AsByte();

    /// <summary>
    /// Eight consecutive counter blocks from <paramref name="c"/> (NIST SP 800-38A §6.5, big-endian 128-bit counter), whitened
    /// with <paramref name="k0"/> and taken through every AES round but the last; the callers finish with AESENCLAST and
    /// either store the keystream or fuse it into a vector. Inlined so the eight blocks stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void EncryptAllButLastRound(ref Vector128<byte> keys, int rounds, UInt128 c, Vector128<byte> k0,
        out Vector128<byte> b0, out Vector128<byte> b1, out Vector128<byte> b2, out Vector128<byte> b3,
        out Vector128<byte> b4, out Vector128<byte> b5, out Vector128<byte> b6, out Vector128<byte> b7)
    {
        uint low = (uint)c;
        if (low <= uint.MaxValue - 7)
        {
            // Only the last 32 bits change within these 8 blocks: patch the big-endian low word into one base block.
            Vector128<uint> baseBlock = CounterBlock(c).AsUInt32();
            b0 = Sse41.Insert(baseBlock, BinaryPrimitives.ReverseEndianness(low), 3).AsByte() ^ k0;
            b1 = Sse41.Insert(baseBlock, BinaryPrimitives.ReverseEndianness(low + 1), 3).AsByte() ^ k0;
            b2 = Sse41.Insert(baseBlock, BinaryPrimitives.ReverseEndianness(low + 2), 3).AsByte() ^ k0;
            b3 = Sse41.Insert(baseBlock, BinaryPrimitives.ReverseEndianness(low + 3), 3).AsByte() ^ k0;
            b4 = Sse41.Insert(baseBlock, BinaryPrimitives.ReverseEndianness(low + 4), 3).AsByte() ^ k0;
            b5 = Sse41.Insert(baseBlock, BinaryPrimitives.ReverseEndianness(low + 5), 3).AsByte() ^ k0;
            b6 = Sse41.Insert(baseBlock, BinaryPrimitives.ReverseEndianness(low + 6), 3).AsByte() ^ k0;
            b7 = Sse41.Insert(baseBlock, BinaryPrimitives.ReverseEndianness(low + 7), 3).AsByte() ^ k0;
        }
        else
        {
            b0 = CounterBlock(c) ^ k0;
            b1 = CounterBlock(c + 1) ^ k0;
            b2 = CounterBlock(c + 2) ^ k0;
            b3 = CounterBlock(c + 3) ^ k0;
            b4 = CounterBlock(c + 4) ^ k0;
            b5 = CounterBlock(c + 5) ^ k0;
            b6 = CounterBlock(c + 6) ^ k0;
            b7 = CounterBlock(c + 7) ^ k0;
        }

        // Each round key is loaded once into a register and shared by the eight blocks: as a memory operand of every AESENC
        // MaskPrg.Generate ran at 0.68-0.71x openssl, with the shared key 0.76-0.82x; unrolling the 13 AES-256 rounds on top
        // measured no faster (bench crypto, both forms three times in one sitting), so every key size takes this loop.
        for (int r = 1; r < rounds; r++)
        {
            Vector128<byte> k = Unsafe.Add(ref keys, r);
            b0 = X86Aes.Encrypt(b0, k);
            b1 = X86Aes.Encrypt(b1, k);
            b2 = X86Aes.Encrypt(b2, k);
            b3 = X86Aes.Encrypt(b3, k);
            b4 = X86Aes.Encrypt(b4, k);
            b5 = X86Aes.Encrypt(b5, k);
            b6 = X86Aes.Encrypt(b6, k);
            b7 = X86Aes.Encrypt(b7, k);
        }
    }

    internal static void BlocksAesNi(Vector128<byte>[] rk, int rounds, UInt128 counter, Span<byte> dest)
    {
        ref byte d = ref MemoryMarshal.GetReference(dest);
        ref Vector128<byte> keys = ref MemoryMarshal.GetArrayDataReference(rk);
        int blocks = dest.Length / 16;
        int i = 0;
        Vector128<byte> k0 = keys;
        Vector128<byte> kLast = Unsafe.Add(ref keys, rounds);
        while (i + 8 <= blocks)
        {
            EncryptAllButLastRound(ref keys, rounds, counter + (ulong)i, k0, out Vector128<byte> b0, out Vector128<byte> b1,
                out Vector128<byte> b2, out Vector128<byte> b3, out Vector128<byte> b4, out Vector128<byte> b5,
                out Vector128<byte> b6, out Vector128<byte> b7);
            nuint o = (nuint)i * 16;
            X86Aes.EncryptLast(b0, kLast).StoreUnsafe(ref d, o);
            X86Aes.EncryptLast(b1, kLast).StoreUnsafe(ref d, o + 16);
            X86Aes.EncryptLast(b2, kLast).StoreUnsafe(ref d, o + 32);
            X86Aes.EncryptLast(b3, kLast).StoreUnsafe(ref d, o + 48);
            X86Aes.EncryptLast(b4, kLast).StoreUnsafe(ref d, o + 64);
            X86Aes.EncryptLast(b5, kLast).StoreUnsafe(ref d, o + 80);
            X86Aes.EncryptLast(b6, kLast).StoreUnsafe(ref d, o + 96);
            X86Aes.EncryptLast(b7, kLast).StoreUnsafe(ref d, o + 112);
            i += 8;
        }

        for (; i < blocks; i++)
        {
            Vector128<byte> b = CounterBlock(counter + (ulong)i) ^ k0;
            for (int r = 1; r < rounds; r++)
            {
                b = X86Aes.Encrypt(b, Unsafe.Add(ref keys, r));
            }

            X86Aes.EncryptLast(b, kLast).StoreUnsafe(ref d, (nuint)i * 16);
        }
    }
}
