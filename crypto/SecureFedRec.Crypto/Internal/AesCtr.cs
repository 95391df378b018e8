using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// AES-CTR keystream (NIST SP 800-38A §6.5) with AES-128 or AES-256 keys and a full 16-byte initial counter block,
/// incremented as one 128-bit big-endian integer (the standard incrementing function over all 128 bits).
/// The SP 800-38A F.5.1 / F.5.5 vectors test exactly this path.
/// </summary>
internal static class AesCtr
{
    /// <summary>Keystream bytes produced per step of the fused mask loops (stays in L1; wiped after use).</summary>
    internal const int ChunkBytes = 4096;

    internal static bool IsSupported(AesCtrBackend backend) => backend switch
    {
        AesCtrBackend.Auto => true,
        AesCtrBackend.AesNi128 => X86Aes.IsSupported && Sse41.IsSupported,
        AesCtrBackend.Portable => true,
        _ => false,
    };

    internal static AesCtrBackend Resolve(AesCtrBackend backend)
    {
        if (backend != AesCtrBackend.Auto)
        {
            if (!IsSupported(backend))
            {
                throw new PlatformNotSupportedException($"AES-CTR backend {backend} is not supported on this CPU.");
            }

            return backend;
        }

        // .NET 10 exposes no VAES (256-bit AES) intrinsics, so AES-NI with 8 blocks in flight is the fast path.
        return IsSupported(AesCtrBackend.AesNi128) ? AesCtrBackend.AesNi128 : AesCtrBackend.Portable;
    }

    /// <summary>Keystream from a 16-byte initial counter block (the SP 800-38A interface).</summary>
    internal static void Keystream(ReadOnlySpan<byte> key, ReadOnlySpan<byte> initialCounterBlock, Span<byte> output, AesCtrBackend backend = AesCtrBackend.Auto)
    {
        if (initialCounterBlock.Length != 16)
        {
            throw new ArgumentException("The initial counter block must be 16 bytes.", nameof(initialCounterBlock));
        }

        KeystreamAt(key, BinaryPrimitives.ReadUInt128BigEndian(initialCounterBlock), output, backend);
    }

    /// <summary>Keystream starting at counter value <paramref name="counter"/>.</summary>
    internal static void KeystreamAt(ReadOnlySpan<byte> key, UInt128 counter, Span<byte> output, AesCtrBackend backend = AesCtrBackend.Auto)
    {
        using var schedule = new AesKeySchedule(key, backend);
        schedule.Generate(counter, output);
    }

    /// <summary>
    /// Combines the keystream (counter from zero) into <paramref name="vector"/> word by word, mod 2^bits:
    /// each element uses one 32-bit little-endian keystream word masked with <paramref name="mask"/>.
    /// </summary>
    internal static void ApplyMask(ReadOnlySpan<byte> key32, Span<uint> vector, uint mask, MaskOperation operation, AesCtrBackend backend = AesCtrBackend.Auto)
    {
        using var schedule = new AesKeySchedule(key32, backend);
        ApplyMask(schedule, 0, vector, mask, operation);
    }

    /// <summary>
    /// Combines keystream words <paramref name="wordOffset"/> … <paramref name="wordOffset"/> + vector.Length − 1 into
    /// <paramref name="vector"/>: word w is bytes 4w … 4w + 3 of the stream, i.e. counter block ⌊w/4⌋ (from 0^128), bytes
    /// 4·(w mod 4) … of that block. The result equals the same words of a whole-stream call, for any offset and length.
    /// </summary>
    internal static void ApplyMask(AesKeySchedule schedule, ulong wordOffset, Span<uint> vector, uint mask, MaskOperation operation)
    {
        UInt128 counter = wordOffset / 4;
        int skip = (int)(wordOffset % 4);
        if (skip != 0 && !vector.IsEmpty)
        {
            // The first block is entered part-way: make it alone and use its last 4 − skip words.
            Span<byte> block = stackalloc byte[16];
            try
            {
                schedule.Generate(counter, block);
                int words = Math.Min(4 - skip, vector.Length);
                MaskCombine.Apply(operation, vector[..words], block.Slice(4 * skip, 4 * words), mask);
                vector = vector[words..];
                counter++;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(block);
            }
        }

        if (vector.IsEmpty)
        {
            return;
        }

        if (operation == MaskOperation.Overwrite && BitConverter.IsLittleEndian)
        {
            // The output itself holds the keystream (same contiguous stream as the chunked path), then is reduced in place.
            schedule.Generate(counter, MemoryMarshal.AsBytes(vector));
            if (mask != uint.MaxValue)
            {
                MaskCombine.ReduceInPlace(vector, mask);
            }

            return;
        }

        if (schedule.CanCombineInRegisters)
        {
            int done = schedule.CombineAesNi(counter, vector, mask, operation == MaskOperation.Subtract);
            vector = vector[done..];
            counter += (ulong)(done / 4);
        }

        if (vector.IsEmpty)
        {
            return;
        }

        Span<byte> chunk = stackalloc byte[ChunkBytes];
        try
        {
            while (!vector.IsEmpty)
            {
                int words = Math.Min(vector.Length, ChunkBytes / 4);
                int bytes = (words * 4 + 15) & ~15;
                Span<byte> ks = chunk[..bytes];
                schedule.Generate(counter, ks);
                counter += (ulong)(bytes / 16);
                MaskCombine.Apply(operation, vector[..words], ks, mask);
                vector = vector[words..];
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chunk);
        }
    }

    /// <summary>Keystream bytes from byte <paramref name="byteOffset"/> of the stream whose first counter block is 0^128.</summary>
    internal static void KeystreamFrom(AesKeySchedule schedule, ulong byteOffset, Span<byte> output)
    {
        UInt128 counter = byteOffset / 16;
        int skip = (int)(byteOffset % 16);
        if (skip != 0 && !output.IsEmpty)
        {
            Span<byte> block = stackalloc byte[16];
            try
            {
                schedule.Generate(counter, block);
                int take = Math.Min(16 - skip, output.Length);
                block.Slice(skip, take).CopyTo(output);
                output = output[take..];
                counter++;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(block);
            }
        }

        schedule.Generate(counter, output);
    }
}
