using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// Buffered exact randomness for the samplers: uniform integers below a bound (Lemire's unbiased method, 32-bit draws
/// when the bound fits), Bernoulli(n/d) and Bernoulli(exp(−n/d)) with integer arithmetic only (Canonne–Kamath–Steinke 2020,
/// Algorithm 1). The buffer holds randomness that determines DP noise, so it is pinned and wiped on dispose.
/// Not thread-safe; one per sampling call.
/// </summary>
internal sealed class RandomBuffer : IDisposable
{
    private readonly RandomSource _source;
    private readonly byte[] _buffer;
    private int _position;

    internal RandomBuffer(RandomSource source, int size)
    {
        _source = source;
        _buffer = GC.AllocateArray<byte>(size, pinned: true);
        _position = size;
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_buffer);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong NextUInt64()
    {
        if (_position > _buffer.Length - 8)
        {
            Refill();
        }

        ulong v = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_buffer), _position));
        _position += 8;
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint NextUInt32()
    {
        if (_position > _buffer.Length - 4)
        {
            Refill();
        }

        uint v = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_buffer), _position));
        _position += 4;
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }

    /// <summary>Consumes one 32-bit draw without using it: Below(1) draws once and always returns 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SkipUInt32()
    {
        if (_position > _buffer.Length - 4)
        {
            Refill();
        }

        _position += 4;
    }

    internal bool NextBit() => (NextUInt32() & 1) != 0;

    /// <summary>Uniform in [0, bound), bound ≥ 1: Lemire with one 32-bit draw per attempt when the bound fits in 32 bits,
    /// else one 64-bit draw per attempt.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Below(ulong bound)
    {
        if (bound <= uint.MaxValue)
        {
            uint b = (uint)bound;
            ulong m = (ulong)NextUInt32() * b;
            if ((uint)m < b)
            {
                m = BelowRetry32(m, b);
            }

            return m >> 32;
        }

        return Below64(bound);
    }

    /// <summary>Uniform in [0, bound), bound ≥ 1: 16 bytes per attempt above 2^64 (the first 8 the high word), masked to the
    /// bound's bit length, rejected when not below the bound.</summary>
    internal UInt128 Below(UInt128 bound) => bound <= ulong.MaxValue ? Below((ulong)bound) : BelowWide(bound, WideMask(bound));

    /// <summary>Uniform in [0, bound), bound ≥ 1.</summary>
    internal BigInteger Below(BigInteger bound)
    {
        if (bound <= ulong.MaxValue)
        {
            return Below((ulong)bound);
        }

        int bytes = bound.GetByteCount(isUnsigned: true);
        long bits = (long)bound.GetBitLength();
        byte topMask = (byte)((1 << (int)(((bits - 1) % 8) + 1)) - 1);
        byte[] scratch = new byte[bytes];
        try
        {
            while (true)
            {
                for (int i = 0; i < bytes; i++)
                {
                    scratch[i] = (byte)NextUInt32();
                }

                scratch[0] &= topMask;
                var v = new BigInteger(scratch, isUnsigned: true, isBigEndian: true);
                if (v < bound)
                {
                    return v;
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scratch);
        }
    }

    /// <summary>Bernoulli(exp(−n/d)) for n ≥ 0, d ≥ 1 (CKS 2020 Algorithm 1 and its γ &gt; 1 extension): ⌊n/d⌋ draws of
    /// Bernoulli(exp(−1)), then Bernoulli(exp(−(n mod d)/d)). The quotient is only computed when n ≥ d.</summary>
    internal bool BernoulliExp(ulong n, ulong d)
    {
        if (n >= d)
        {
            ulong whole = n / d;
            n -= whole * d;
            for (ulong i = 0; i < whole; i++)
            {
                if (!BernoulliExpOne())
                {
                    return false;
                }
            }
        }

        return BernoulliExpAtMostOne(n, d);
    }

    /// <summary>Bernoulli(exp(−γ)), γ = n/d ∈ [0, 1]: K ← 1; while Bernoulli(γ/K): K ← K + 1; return K odd.
    /// Bernoulli(γ/K) is drawn as Bernoulli(1/K) ∧ Bernoulli(n/d) (Below(K) = 0, then Below(d) &lt; n), which has the same
    /// law and avoids computing d·K.</summary>
    internal bool BernoulliExpAtMostOne(ulong n, ulong d)
    {
        if (Below(d) >= n)
        {
            return true;
        }

        ulong k = 2;
        while (Below(k) == 0 && Below(d) < n)
        {
            k++;
        }

        return (k & 1) == 1;
    }

    /// <summary>Bernoulli(exp(−1)): <see cref="BernoulliExpAtMostOne(ulong, ulong)"/> with n = d = 1, whose Bernoulli(1/1)
    /// draws are consumed but need no arithmetic.</summary>
    internal bool BernoulliExpOne()
    {
        SkipUInt32();
        ulong k = 2;
        while (Below(k) == 0)
        {
            SkipUInt32();
            k++;
        }

        return (k & 1) == 1;
    }

    /// <summary>Bernoulli(exp(−n/d)) for 0 ≤ n &lt; d with arbitrary-size integers: K ← 1; while Bernoulli(n/(d·K)):
    /// K ← K + 1; return K odd (the draws of <see cref="BernoulliExpAtMostOne(ulong, ulong)"/>).</summary>
    internal bool BernoulliExpAtMostOne(BigInteger n, BigInteger d)
    {
        ulong k = 1;
        while (true)
        {
            if (k > 1 && Below(k) != 0)
            {
                break;
            }

            if (Below(d) >= n)
            {
                break;
            }

            k++;
        }

        return (k & 1) == 1;
    }

    private static UInt128 WideMask(UInt128 bound)
    {
        int bits = 128 - (int)UInt128.LeadingZeroCount(bound);
        return bits == 128 ? UInt128.MaxValue : (UInt128.One << bits) - 1;
    }

    /// <summary>The 128-bit case of <see cref="BernoulliExpAtMostOne(ulong, ulong)"/> (d &gt; 2^64), the bound's mask
    /// computed once per call.</summary>
    internal bool BernoulliExpAtMostOneWide(UInt128 n, UInt128 d)
    {
        UInt128 mask = WideMask(d);
        if (BelowWide(d, mask) >= n)
        {
            return true;
        }

        ulong k = 2;
        while (Below(k) == 0 && BelowWide(d, mask) < n)
        {
            k++;
        }

        return (k & 1) == 1;
    }

    private UInt128 BelowWide(UInt128 bound, UInt128 mask)
    {
        while (true)
        {
            ulong upper = NextUInt64();
            UInt128 v = new UInt128(upper, NextUInt64()) & mask;
            if (v < bound)
            {
                return v;
            }
        }
    }

    private ulong BelowRetry32(ulong m, uint b)
    {
        uint threshold = unchecked(0u - b) % b;
        while ((uint)m < threshold)
        {
            m = (ulong)NextUInt32() * b;
        }

        return m;
    }

    private ulong Below64(ulong bound)
    {
        UInt128 mm = (UInt128)NextUInt64() * bound;
        ulong lo = (ulong)mm;
        if (lo < bound)
        {
            ulong threshold = unchecked(0UL - bound) % bound;
            while (lo < threshold)
            {
                mm = (UInt128)NextUInt64() * bound;
                lo = (ulong)mm;
            }
        }

        return (ulong)(mm >> 64);
    }

    private void Refill()
    {
        int keep = _buffer.Length - _position;
        _buffer.AsSpan(_position).CopyTo(_buffer);
        _source.Fill(_buffer.AsSpan(keep));
        _position = 0;
    }
}
