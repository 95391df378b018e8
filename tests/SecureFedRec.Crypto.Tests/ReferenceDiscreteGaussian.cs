using System.Buffers.Binary;
using System.Numerics;

namespace SecureFedRec.Crypto.Tests;

/// <summary>
/// A frozen, unoptimised transcription of CKS 2020 Algorithms 1–3 (every Bernoulli and bounded draw written out: 4 bytes
/// per draw below 2^32, 8 below 2^64, 16 per rejection attempt above, a 4-byte sign), as the product drew them until its
/// Bernoulli(exp(−x)) became a lazy comparison. <see cref="SamplerEquivalenceTests"/> checks that the product's sampler
/// and this transcription draw the same distribution. Test code only: never used to draw noise.
/// </summary>
internal sealed class ReferenceDiscreteGaussian
{
    private readonly BigInteger _num;
    private readonly BigInteger _den;
    private readonly BigInteger _t;
    private readonly RandomSource _source;
    private bool _bytewise;

    internal ReferenceDiscreteGaussian(BigInteger num, BigInteger den, RandomSource source)
    {
        BigInteger g = BigInteger.GreatestCommonDivisor(num, den);
        _num = num / g;
        _den = den / g;
        BigInteger q = _num / _den;
        BigInteger s = (BigInteger)Math.Sqrt((double)q);
        while (s * s > q)
        {
            s--;
        }

        while ((s + 1) * (s + 1) <= q)
        {
            s++;
        }

        _t = s + 1;
        _source = source;
    }

    internal long Sample()
    {
        BigInteger denominator = 2 * _t * _t * _den * _num;
        bool fast = denominator < (BigInteger.One << 127) && _t * _den <= ulong.MaxValue && _num <= ulong.MaxValue;
        while (true)
        {
            BigInteger y = Laplace(_t);
            BigInteger d = (BigInteger.Abs(y) * _t * _den) - _num;
            _bytewise = !(fast && BigInteger.Abs(d) <= ulong.MaxValue);
            bool accept = BernoulliExp(d * d, denominator);
            _bytewise = false;
            if (accept)
            {
                return (long)y;
            }
        }
    }

    private BigInteger Laplace(BigInteger t)
    {
        while (true)
        {
            BigInteger u = Below(t);
            if (!BernoulliExp(u, t))
            {
                continue;
            }

            BigInteger v = 0;
            while (BernoulliExpAtMostOne(1, 1))
            {
                v++;
            }

            BigInteger x = u + (t * v);
            bool negative = (U32() & 1) != 0;
            if (negative && x.IsZero)
            {
                continue;
            }

            return negative ? -x : x;
        }
    }

    private bool BernoulliExp(BigInteger n, BigInteger d)
    {
        BigInteger whole = BigInteger.DivRem(n, d, out BigInteger rest);
        for (BigInteger i = 0; i < whole; i++)
        {
            if (!BernoulliExpAtMostOne(1, 1))
            {
                return false;
            }
        }

        return BernoulliExpAtMostOne(rest, d);
    }

    private bool BernoulliExpAtMostOne(BigInteger n, BigInteger d)
    {
        BigInteger k = 1;
        while (true)
        {
            if (k > 1 && !Below(k).IsZero)
            {
                break;
            }

            if (Below(d) >= n)
            {
                break;
            }

            k++;
        }

        return k.IsEven == false;
    }

    /// <summary>Uniform in [0, bound): Lemire with one 32-bit draw per attempt below 2^32, one 64-bit draw below 2^64,
    /// else 16 bytes (first 8 the high word) masked to the bound's bit length per attempt; on the arbitrary-size path one
    /// 32-bit draw per byte of a big-endian candidate whose top byte is masked to the bound's bit length.</summary>
    private BigInteger Below(BigInteger bound)
    {
        if (bound <= uint.MaxValue)
        {
            ulong b = (ulong)bound;
            while (true)
            {
                ulong m = U32() * b;
                if ((uint)m >= (uint)((0x1_0000_0000UL - b) % b) || (uint)m >= b)
                {
                    return m >> 32;
                }
            }
        }

        if (bound <= ulong.MaxValue)
        {
            ulong b = (ulong)bound;
            ulong threshold = unchecked(0UL - b) % b;
            while (true)
            {
                UInt128 m = (UInt128)U64() * b;
                if ((ulong)m >= threshold)
                {
                    return (ulong)(m >> 64);
                }
            }
        }

        int bits = (int)bound.GetBitLength();
        if (_bytewise)
        {
            int bytes = bound.GetByteCount(isUnsigned: true);
            byte top = (byte)((1 << (((bits - 1) % 8) + 1)) - 1);
            byte[] scratch = new byte[bytes];
            while (true)
            {
                for (int i = 0; i < bytes; i++)
                {
                    scratch[i] = (byte)U32();
                }

                scratch[0] &= top;
                var candidate = new BigInteger(scratch, isUnsigned: true, isBigEndian: true);
                if (candidate < bound)
                {
                    return candidate;
                }
            }
        }

        BigInteger mask = (BigInteger.One << bits) - 1;
        while (true)
        {
            BigInteger hi = U64();
            BigInteger v = ((hi << 64) | U64()) & mask;
            if (v < bound)
            {
                return v;
            }
        }
    }

    private ulong U32()
    {
        Span<byte> b = stackalloc byte[4];
        _source.Fill(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private ulong U64()
    {
        Span<byte> b = stackalloc byte[8];
        _source.Fill(b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }
}
