using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace SecureFedRec.Crypto.Internal;

/// <summary>Which implementation of the AES-CTR keystream to use (tests force each one; production uses <see cref="Auto"/>).</summary>
internal enum AesCtrBackend
{
    Auto = 0,
    /// <summary>AES-NI: one block per 128-bit register, 8 blocks in flight.</summary>
    AesNi128 = 2,
    /// <summary>.NET <c>Aes.EncryptEcb</c> over counter blocks.</summary>
    Portable = 3,
}

/// <summary>How keystream words are combined into a vector of <see cref="uint"/>.</summary>
internal enum MaskOperation
{
    Overwrite = 0,
    Add = 1,
    Subtract = 2,
}

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
        if (operation == MaskOperation.Overwrite && BitConverter.IsLittleEndian)
        {
            // The output itself holds the keystream (same contiguous stream as the chunked path), then is reduced in place.
            schedule.Generate(UInt128.Zero, MemoryMarshal.AsBytes(vector));
            if (mask != uint.MaxValue)
            {
                ReduceInPlace(vector, mask);
            }

            return;
        }

        UInt128 counter = UInt128.Zero;
        if (schedule.CanCombineInRegisters)
        {
            int done = schedule.CombineAesNi(vector, mask, operation == MaskOperation.Subtract);
            vector = vector[done..];
            counter = (UInt128)(ulong)(done / 4);
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
                Span<uint> target = vector[..words];
                switch (operation)
                {
                    case MaskOperation.Add:
                        Combine<AddOp>(target, ks, mask);
                        break;
                    case MaskOperation.Subtract:
                        Combine<SubtractOp>(target, ks, mask);
                        break;
                    default:
                        Combine<OverwriteOp>(target, ks, mask);
                        break;
                }

                vector = vector[words..];
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chunk);
        }
    }

    private static void ReduceInPlace(Span<uint> vector, uint mask)
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

    private static void Combine<TOp>(Span<uint> vector, ReadOnlySpan<byte> keystream, uint mask)
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

    private interface IMaskOp
    {
        static abstract Vector256<uint> Apply(Vector256<uint> value, Vector256<uint> mask);

        static abstract Vector128<uint> Apply(Vector128<uint> value, Vector128<uint> mask);

        static abstract uint Apply(uint value, uint mask);
    }

    // Wrap-around mod 2^32 is intended: the result is then reduced mod 2^bits by the caller's mask.
    private readonly struct AddOp : IMaskOp
    {
        public static Vector256<uint> Apply(Vector256<uint> value, Vector256<uint> mask) => value + mask;

        public static Vector128<uint> Apply(Vector128<uint> value, Vector128<uint> mask) => value + mask;

        public static uint Apply(uint value, uint mask) => unchecked(value + mask);
    }

    private readonly struct SubtractOp : IMaskOp
    {
        public static Vector256<uint> Apply(Vector256<uint> value, Vector256<uint> mask) => value - mask;

        public static Vector128<uint> Apply(Vector128<uint> value, Vector128<uint> mask) => value - mask;

        public static uint Apply(uint value, uint mask) => unchecked(value - mask);
    }

    private readonly struct OverwriteOp : IMaskOp
    {
        public static Vector256<uint> Apply(Vector256<uint> value, Vector256<uint> mask) => mask;

        public static Vector128<uint> Apply(Vector128<uint> value, Vector128<uint> mask) => mask;

        public static uint Apply(uint value, uint mask) => mask;
    }
}

/// <summary>
/// An expanded AES key (computed once per stream with AESKEYGENASSIST, which is constant-time, or held by a .NET
/// <see cref="System.Security.Cryptography.Aes"/> object on the portable path). Round keys live in a pinned array wiped on dispose.
/// </summary>
internal sealed class AesKeySchedule : IDisposable
{
    private readonly AesCtrBackend _backend;
    private readonly int _rounds;
    private readonly Vector128<byte>[]? _roundKeys;
    private readonly System.Security.Cryptography.Aes? _portable;

    internal AesKeySchedule(ReadOnlySpan<byte> key, AesCtrBackend backend)
    {
        if (key.Length is not (16 or 32))
        {
            throw new ArgumentException("AES-CTR needs a 16-byte (AES-128) or 32-byte (AES-256) key.", nameof(key));
        }

        _backend = AesCtr.Resolve(backend);
        _rounds = key.Length == 16 ? 10 : 14;
        if (_backend == AesCtrBackend.Portable)
        {
            _portable = System.Security.Cryptography.Aes.Create();
            _portable.SetKey(key);
        }
        else
        {
            _roundKeys = GC.AllocateArray<Vector128<byte>>(15, pinned: true);
            if (key.Length == 16)
            {
                Expand128(key, _roundKeys);
            }
            else
            {
                Expand256(key, _roundKeys);
            }
        }
    }

    public void Dispose()
    {
        if (_roundKeys is not null)
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_roundKeys.AsSpan()));
        }

        _portable?.Dispose();
    }

    /// <summary>Writes the keystream for counter values <paramref name="counter"/>, +1, … into <paramref name="output"/> (any length).</summary>
    internal void Generate(UInt128 counter, Span<byte> output)
    {
        int full = output.Length & ~15;
        if (full > 0)
        {
            switch (_backend)
            {
                case AesCtrBackend.AesNi128:
                    BlocksAesNi(_roundKeys!, _rounds, counter, output[..full]);
                    break;
                default:
                    BlocksPortable(_portable!, counter, output[..full]);
                    break;
            }
        }

        if (full < output.Length)
        {
            Span<byte> last = stackalloc byte[16];
            try
            {
                UInt128 c = counter + (ulong)(full / 16);
                switch (_backend)
                {
                    case AesCtrBackend.AesNi128:
                        BlocksAesNi(_roundKeys!, _rounds, c, last);
                        break;
                    default:
                        BlocksPortable(_portable!, c, last);
                        break;
                }

                last[..(output.Length - full)].CopyTo(output[full..]);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(last);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> CounterBlock(UInt128 c) =>
        Vector128.Create(BinaryPrimitives.ReverseEndianness((ulong)(c >> 64)), BinaryPrimitives.ReverseEndianness((ulong)c)).AsByte();

    /// <summary>
    /// Fused mask step on the AES-NI path: 8 keystream blocks (32 words) per iteration go straight from registers into the
    /// vector, without a trip through memory. Handles whole groups of 32 elements and returns how many it consumed.
    /// </summary>
    internal int CombineAesNi(Span<uint> vector, uint mask, bool subtract)
    {
        Vector128<byte>[] rk = _roundKeys!;
        int rounds = _rounds;
        UInt128 counter = UInt128.Zero;
        ref uint v = ref MemoryMarshal.GetReference(vector);
        ref Vector128<byte> keys = ref MemoryMarshal.GetArrayDataReference(rk);
        int blocks = vector.Length / 32 * 8;
        int i = 0;
        Vector128<byte> k0 = keys;
        Vector128<byte> kLast = Unsafe.Add(ref keys, rounds);
        Vector256<uint> m = Vector256.Create(mask);
        while (i + 8 <= blocks)
        {
            EncryptAllButLastRound(ref keys, rounds, counter + (ulong)i, k0, out Vector128<byte> b0, out Vector128<byte> b1,
                out Vector128<byte> b2, out Vector128<byte> b3, out Vector128<byte> b4, out Vector128<byte> b5,
                out Vector128<byte> b6, out Vector128<byte> b7);
            nuint o = (nuint)i * 4;
            Vector256<uint> w0 = Vector256.Create(X86Aes.EncryptLast(b0, kLast), X86Aes.EncryptLast(b1, kLast)).AsUInt32() & m;
            Vector256<uint> w1 = Vector256.Create(X86Aes.EncryptLast(b2, kLast), X86Aes.EncryptLast(b3, kLast)).AsUInt32() & m;
            Vector256<uint> w2 = Vector256.Create(X86Aes.EncryptLast(b4, kLast), X86Aes.EncryptLast(b5, kLast)).AsUInt32() & m;
            Vector256<uint> w3 = Vector256.Create(X86Aes.EncryptLast(b6, kLast), X86Aes.EncryptLast(b7, kLast)).AsUInt32() & m;
            if (subtract)
            {
                ((Vector256.LoadUnsafe(ref v, o) - w0) & m).StoreUnsafe(ref v, o);
                ((Vector256.LoadUnsafe(ref v, o + 8) - w1) & m).StoreUnsafe(ref v, o + 8);
                ((Vector256.LoadUnsafe(ref v, o + 16) - w2) & m).StoreUnsafe(ref v, o + 16);
                ((Vector256.LoadUnsafe(ref v, o + 24) - w3) & m).StoreUnsafe(ref v, o + 24);
            }
            else
            {
                ((Vector256.LoadUnsafe(ref v, o) + w0) & m).StoreUnsafe(ref v, o);
                ((Vector256.LoadUnsafe(ref v, o + 8) + w1) & m).StoreUnsafe(ref v, o + 8);
                ((Vector256.LoadUnsafe(ref v, o + 16) + w2) & m).StoreUnsafe(ref v, o + 16);
                ((Vector256.LoadUnsafe(ref v, o + 24) + w3) & m).StoreUnsafe(ref v, o + 24);
            }

            i += 8;
        }

        return blocks * 4;
    }

    /// <summary>Whether <see cref="CombineAesNi"/> applies (AES-NI backend on a little-endian machine).</summary>
    internal bool CanCombineInRegisters => _backend == AesCtrBackend.AesNi128 && BitConverter.IsLittleEndian && Vector256.IsHardwareAccelerated;

    /// <summary>
    /// Eight consecutive counter blocks from <paramref name="c"/> (NIST SP 800-38A §6.5, big-endian 128-bit counter), whitened
    /// with <paramref name="k0"/> and taken through every AES round but the last; the callers finish with AESENCLAST and
    /// either store the keystream or fuse it into a vector. Inlined so the eight blocks stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EncryptAllButLastRound(ref Vector128<byte> keys, int rounds, UInt128 c, Vector128<byte> k0,
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

        if (rounds == 14)
        {
            // AES-256 (the mask PRG): rounds unrolled so each round key is a memory operand of AESENC, no loop overhead.
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 1));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 1));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 1));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 1));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 1));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 1));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 1));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 1));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 2));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 2));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 2));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 2));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 2));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 2));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 2));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 2));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 3));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 3));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 3));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 3));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 3));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 3));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 3));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 3));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 4));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 4));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 4));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 4));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 4));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 4));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 4));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 4));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 5));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 5));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 5));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 5));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 5));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 5));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 5));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 5));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 6));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 6));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 6));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 6));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 6));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 6));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 6));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 6));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 7));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 7));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 7));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 7));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 7));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 7));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 7));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 7));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 8));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 8));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 8));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 8));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 8));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 8));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 8));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 8));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 9));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 9));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 9));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 9));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 9));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 9));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 9));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 9));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 10));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 10));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 10));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 10));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 10));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 10));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 10));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 10));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 11));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 11));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 11));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 11));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 11));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 11));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 11));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 11));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 12));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 12));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 12));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 12));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 12));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 12));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 12));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 12));
            b0 = X86Aes.Encrypt(b0, Unsafe.Add(ref keys, 13));
            b1 = X86Aes.Encrypt(b1, Unsafe.Add(ref keys, 13));
            b2 = X86Aes.Encrypt(b2, Unsafe.Add(ref keys, 13));
            b3 = X86Aes.Encrypt(b3, Unsafe.Add(ref keys, 13));
            b4 = X86Aes.Encrypt(b4, Unsafe.Add(ref keys, 13));
            b5 = X86Aes.Encrypt(b5, Unsafe.Add(ref keys, 13));
            b6 = X86Aes.Encrypt(b6, Unsafe.Add(ref keys, 13));
            b7 = X86Aes.Encrypt(b7, Unsafe.Add(ref keys, 13));
        }
        else
        {
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

    }

    private static void BlocksAesNi(Vector128<byte>[] rk, int rounds, UInt128 counter, Span<byte> dest)
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

    private static void BlocksPortable(System.Security.Cryptography.Aes aes, UInt128 counter, Span<byte> dest)
    {
        const int Batch = 64;
        Span<byte> counters = stackalloc byte[Batch * 16];
        int blocks = dest.Length / 16;
        for (int i = 0; i < blocks; i += Batch)
        {
            int n = Math.Min(Batch, blocks - i);
            for (int j = 0; j < n; j++)
            {
                BinaryPrimitives.WriteUInt128BigEndian(counters.Slice(j * 16, 16), counter + (ulong)(i + j));
            }

            aes.EncryptEcb(counters[..(n * 16)], dest.Slice(i * 16, n * 16), PaddingMode.None);
        }
    }

    private static Vector128<byte> ExpandStep(Vector128<byte> key, Vector128<byte> assist)
    {
        Vector128<byte> t = Sse2.ShiftLeftLogical128BitLane(key, 4);
        key ^= t;
        t = Sse2.ShiftLeftLogical128BitLane(t, 4);
        key ^= t;
        t = Sse2.ShiftLeftLogical128BitLane(t, 4);
        key ^= t;
        return key ^ assist;
    }

    private static Vector128<byte> Word3(Vector128<byte> v) => Sse2.Shuffle(v.AsInt32(), 0xFF).AsByte();

    private static Vector128<byte> Word2(Vector128<byte> v) => Sse2.Shuffle(v.AsInt32(), 0xAA).AsByte();

    /// <summary>FIPS 197 §5.2 key expansion for AES-128 via AESKEYGENASSIST (Intel AES-NI white paper, Fig. 19).</summary>
    private static void Expand128(ReadOnlySpan<byte> key, Vector128<byte>[] rk)
    {
        Vector128<byte> k = Vector128.Create(key);
        rk[0] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x01))); rk[1] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x02))); rk[2] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x04))); rk[3] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x08))); rk[4] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x10))); rk[5] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x20))); rk[6] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x40))); rk[7] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x80))); rk[8] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x1B))); rk[9] = k;
        k = ExpandStep(k, Word3(X86Aes.KeygenAssist(k, 0x36))); rk[10] = k;
    }

    /// <summary>FIPS 197 §5.2 key expansion for AES-256 via AESKEYGENASSIST (Intel AES-NI white paper, Fig. 25).</summary>
    private static void Expand256(ReadOnlySpan<byte> key, Vector128<byte>[] rk)
    {
        Vector128<byte> a = Vector128.Create(key[..16]);
        Vector128<byte> b = Vector128.Create(key[16..]);
        rk[0] = a;
        rk[1] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x01))); rk[2] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[3] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x02))); rk[4] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[5] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x04))); rk[6] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[7] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x08))); rk[8] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[9] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x10))); rk[10] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[11] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x20))); rk[12] = a;
        b = ExpandStep(b, Word2(X86Aes.KeygenAssist(a, 0x00))); rk[13] = b;
        a = ExpandStep(a, Word3(X86Aes.KeygenAssist(b, 0x40))); rk[14] = a;
    }
}
