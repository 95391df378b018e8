using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
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

        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(_position, 8));
        _position += 8;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint NextUInt32()
    {
        if (_position > _buffer.Length - 4)
        {
            Refill();
        }

        uint v = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_position, 4));
        _position += 4;
        return v;
    }

    internal bool NextBit() => (NextUInt32() & 1) != 0;

    /// <summary>Uniform in [0, bound), bound ≥ 1.</summary>
    internal ulong Below(ulong bound)
    {
        if (bound <= uint.MaxValue)
        {
            uint b = (uint)bound;
            ulong m = (ulong)NextUInt32() * b;
            uint low = (uint)m;
            if (low < b)
            {
                uint threshold = unchecked(0u - b) % b;
                while (low < threshold)
                {
                    m = (ulong)NextUInt32() * b;
                    low = (uint)m;
                }
            }

            return m >> 32;
        }

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

    /// <summary>Uniform in [0, bound), bound ≥ 1 (rejection over the bound's bit length above 64 bits).</summary>
    internal UInt128 Below(UInt128 bound)
    {
        if (bound <= ulong.MaxValue)
        {
            return Below((ulong)bound);
        }

        int bits = 128 - (int)UInt128.LeadingZeroCount(bound);
        UInt128 mask = bits == 128 ? UInt128.MaxValue : (UInt128.One << bits) - 1;
        while (true)
        {
            UInt128 v = new UInt128(NextUInt64(), NextUInt64()) & mask;
            if (v < bound)
            {
                return v;
            }
        }
    }

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

    /// <summary>Bernoulli(n/d) for 0 ≤ n ≤ d, d ≥ 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Bernoulli(UInt128 n, UInt128 d) => Below(d) < n;

    /// <summary>Bernoulli(exp(−n/d)) for n ≥ 0, d ≥ 1 (CKS 2020 Algorithm 1 and its γ &gt; 1 extension).</summary>
    internal bool BernoulliExp(UInt128 n, UInt128 d)
    {
        UInt128 whole = n / d;
        for (UInt128 i = 0; i < whole; i++)
        {
            if (!BernoulliExpAtMostOne(1, 1))
            {
                return false;
            }
        }

        return BernoulliExpAtMostOne(n - (whole * d), d);
    }

    /// <summary>Bernoulli(exp(−γ)), γ = n/d ∈ [0, 1]: K ← 1; while Bernoulli(γ/K): K ← K + 1; return K odd.
    /// Bernoulli(γ/K) is drawn as Bernoulli(1/K) ∧ Bernoulli(n/d), which has the same law and avoids computing d·K.</summary>
    internal bool BernoulliExpAtMostOne(UInt128 n, UInt128 d)
    {
        ulong k = 1;
        while (true)
        {
            if (k > 1 && Below(k) != 0)
            {
                break;
            }

            if (!Bernoulli(n, d))
            {
                break;
            }

            k++;
        }

        return (k & 1) == 1;
    }

    /// <summary>Bernoulli(exp(−n/d)) with arbitrary-size integers (slow path).</summary>
    internal bool BernoulliExp(BigInteger n, BigInteger d)
    {
        BigInteger whole = BigInteger.DivRem(n, d, out BigInteger rest);
        for (BigInteger i = 0; i < whole; i++)
        {
            if (!BernoulliExpAtMostOne(1, 1))
            {
                return false;
            }
        }

        ulong k = 1;
        while (true)
        {
            if (k > 1 && Below(k) != 0)
            {
                break;
            }

            if (Below(d) >= rest)
            {
                break;
            }

            k++;
        }

        return (k & 1) == 1;
    }

    private void Refill()
    {
        int keep = _buffer.Length - _position;
        _buffer.AsSpan(_position).CopyTo(_buffer);
        _source.Fill(_buffer.AsSpan(keep));
        _position = 0;
    }
}
