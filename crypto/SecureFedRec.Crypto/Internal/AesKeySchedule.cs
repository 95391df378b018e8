using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// An expanded AES key (computed once per stream with AESKEYGENASSIST, which is constant-time, or held by a .NET
/// <see cref="System.Security.Cryptography.Aes"/> object on the portable path). Round keys live in a pinned array wiped on dispose.
/// </summary>
/// <remarks>
/// The pinned round-key arrays are pooled (at most <see cref="PoolLimit"/> kept): a client opens k + 1 streams per round and
/// the coordinator one per survivor plus k per dropped client, so without the pool every round allocates that many pinned
/// arrays. An array is wiped before it is pooled, and taken back from this schedule exactly once (dispose is idempotent), so
/// no two live schedules ever share one.
/// </remarks>
internal sealed class AesKeySchedule : IDisposable
{
    /// <summary>Most wiped round-key arrays kept for reuse (4096 × 264 bytes ≈ 1 MiB).</summary>
    internal const int PoolLimit = 4096;

    private static readonly System.Collections.Concurrent.ConcurrentQueue<Vector128<byte>[]> Pool = new();
    private static int _pooled;

    private readonly AesCtrBackend _backend;
    private readonly int _rounds;
    private Vector128<byte>[]? _roundKeys;
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
            _roundKeys = RentRoundKeys();
            if (key.Length == 16)
            {
                AesKeyExpansion.Expand128(key, _roundKeys);
            }
            else
            {
                AesKeyExpansion.Expand256(key, _roundKeys);
            }
        }
    }

    public void Dispose()
    {
        if (System.Threading.Interlocked.Exchange(ref _roundKeys, null) is { } keys)
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(keys.AsSpan()));
            ReturnRoundKeys(keys);
        }

        _portable?.Dispose();
    }

    private static Vector128<byte>[] RentRoundKeys()
    {
        if (Pool.TryDequeue(out Vector128<byte>[]? keys))
        {
            System.Threading.Interlocked.Decrement(ref _pooled);
            return keys;
        }

        return GC.AllocateArray<Vector128<byte>>(15, pinned: true);
    }

    private static void ReturnRoundKeys(Vector128<byte>[] wiped)
    {
        if (System.Threading.Interlocked.Increment(ref _pooled) <= PoolLimit)
        {
            Pool.Enqueue(wiped);
        }
        else
        {
            System.Threading.Interlocked.Decrement(ref _pooled);
        }
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
                    AesNiBlocks.BlocksAesNi(_roundKeys!, _rounds, counter, output[..full]);
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
                        AesNiBlocks.BlocksAesNi(_roundKeys!, _rounds, c, last);
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

    /// <summary>
    /// Fused mask step on the AES-NI path: 8 keystream blocks (32 words) per iteration go straight from registers into the
    /// vector, without a trip through memory. Counter blocks start at <paramref name="counter"/>. Handles whole groups of 32
    /// elements and returns how many it consumed.
    /// </summary>
    internal int CombineAesNi(UInt128 counter, Span<uint> vector, uint mask, bool subtract)
    {
        Vector128<byte>[] rk = _roundKeys!;
        int rounds = _rounds;
        ref uint v = ref MemoryMarshal.GetReference(vector);
        ref Vector128<byte> keys = ref MemoryMarshal.GetArrayDataReference(rk);
        int blocks = vector.Length / 32 * 8;
        int i = 0;
        Vector128<byte> k0 = keys;
        Vector128<byte> kLast = Unsafe.Add(ref keys, rounds);
        Vector256<uint> m = Vector256.Create(mask);
        while (i + 8 <= blocks)
        {
            AesNiBlocks.EncryptAllButLastRound(ref keys, rounds, counter + (ulong)i, k0, out Vector128<byte> b0, out Vector128<byte> b1,
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
}
