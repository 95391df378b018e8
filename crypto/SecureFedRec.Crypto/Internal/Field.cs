using System.Numerics;
using System.Security.Cryptography;

namespace SecureFedRec.Crypto.Internal;

/// <summary>GF(p), p = 2^256 + 297, with <see cref="BigInteger"/> (immutable: values cannot be wiped).</summary>
internal static class Field
{
    /// <summary>p = 2^256 + 297, the smallest prime above 2^256.</summary>
    internal static readonly BigInteger P = (BigInteger.One << 256) + 297;

    internal static readonly BigInteger TwoTo256 = BigInteger.One << 256;

    /// <summary>Uniform element of [0, p) by rejection over 257-bit draws (accepts with probability ≈ 1/2).</summary>
    internal static BigInteger Random(RandomSource rng, Span<byte> scratch33)
    {
        while (true)
        {
            rng.Fill(scratch33);
            scratch33[0] &= 0x01;
            var v = new BigInteger(scratch33, isUnsigned: true, isBigEndian: true);
            if (v < P)
            {
                return v;
            }
        }
    }

    /// <summary>Writes v (0 ≤ v &lt; 2^264) big-endian, left-padded, into <paramref name="destination"/>.</summary>
    internal static void Write(BigInteger v, Span<byte> destination)
    {
        destination.Clear();
        int length = v.GetByteCount(isUnsigned: true);
        if (!v.TryWriteBytes(destination[(destination.Length - length)..], out _, isUnsigned: true, isBigEndian: true))
        {
            throw new InvalidOperationException("Field element does not fit.");
        }
    }

    internal static ShamirResult WriteSecret(BigInteger value, Span<byte> secret32)
    {
        if (value >= TwoTo256)
        {
            CryptographicOperations.ZeroMemory(secret32);
            return ShamirResult.NotASecret;
        }

        Write(value, secret32);
        return ShamirResult.Ok;
    }

    /// <summary>
    /// Montgomery's batch inversion: all inverses for one inversion. Inputs are non-zero mod p and PUBLIC: the inversion
    /// is the variable-time extended Euclidean algorithm (<see cref="InversePublic"/>), and every caller passes values
    /// computed from the x set of a Lagrange cache or an evaluation point only, never from a share or a secret.
    /// </summary>
    internal static BigInteger[] BatchInverse(BigInteger[] values)
    {
        int n = values.Length;
        var prefix = new BigInteger[n];
        BigInteger acc = BigInteger.One;
        for (int i = 0; i < n; i++)
        {
            prefix[i] = acc;
            acc = acc * values[i] % P;
        }

        BigInteger inv = InversePublic(acc);
        var result = new BigInteger[n];
        for (int i = n - 1; i >= 0; i--)
        {
            result[i] = inv * prefix[i] % P;
            inv = inv * values[i] % P;
        }

        return result;
    }

    /// <summary>
    /// a⁻¹ mod p for 0 &lt; a &lt; p by the extended Euclidean algorithm: variable time (its running time depends on a),
    /// so for public values only; an order of magnitude faster than Fermat's a^(p−2) with <see cref="BigInteger.ModPow"/>,
    /// which dominated the coordinator's Lagrange set-up when every owner has its own holder set (SecAgg+ graphs).
    /// </summary>
    internal static BigInteger InversePublic(BigInteger a)
    {
        if (a.Sign <= 0 || a >= P)
        {
            throw new ArgumentOutOfRangeException(nameof(a), "Only 0 < a < p has an inverse here.");
        }

        // Invariants: r0 ≡ s0·a, r1 ≡ s1·a (mod p); gcd(a, p) = 1 since p is prime.
        BigInteger r0 = P, r1 = a;
        BigInteger s0 = BigInteger.Zero, s1 = BigInteger.One;
        while (!r1.IsZero)
        {
            BigInteger q = BigInteger.DivRem(r0, r1, out BigInteger r2);
            (r0, r1) = (r1, r2);
            (s0, s1) = (s1, s0 - (q * s1));
        }

        return s0.Sign < 0 ? s0 + P : s0;
    }

    /// <summary>The product of small factors mod p, with a sign: (−1)^negative · Π factors, factors &lt; 2^32, via
    /// <see cref="FieldElement.MulSmallAdd"/> (no big-integer product per factor).</summary>
    internal static BigInteger SmallProduct(ReadOnlySpan<uint> factors, bool negative)
    {
        var acc = new FieldElement { L0 = 1 };
        FieldElement zero = default;
        foreach (uint f in factors)
        {
            acc = FieldElement.MulSmallAdd(acc, f, zero);
        }

        Span<byte> bytes = stackalloc byte[33];
        acc.Write33(bytes);
        var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
        return negative && !value.IsZero ? P - value : value;
    }
}

/// <summary>
/// A GF(p) element, p = 2^256 + 297, as five 64-bit limbs (little-endian; the top limb is 0 or 1), for the split's Horner
/// steps y·x + c with a small x: fixed-width, allocation-free and wipeable, unlike <see cref="BigInteger"/>.
/// </summary>
internal struct FieldElement
{
    internal ulong L0;
    internal ulong L1;
    internal ulong L2;
    internal ulong L3;
    internal ulong L4;

    /// <summary>Reads a big-endian value &lt; p from <paramref name="bytes"/> (32 or 33 bytes); false if it is ≥ p.</summary>
    internal static bool TryRead(ReadOnlySpan<byte> bytes, out FieldElement e)
    {
        e = default;
        int n = bytes.Length;
        if (n is not (32 or 33))
        {
            return false;
        }

        e.L0 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[(n - 8)..]);
        e.L1 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[(n - 16)..]);
        e.L2 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[(n - 24)..]);
        e.L3 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[(n - 32)..]);
        if (n == 33)
        {
            if (bytes[0] > 1)
            {
                return false;
            }

            e.L4 = bytes[0];
        }

        // ≥ p iff L4 = 1 and the low 256 bits are ≥ 297.
        return e.L4 == 0 || (e.L3 == 0 && e.L2 == 0 && e.L1 == 0 && e.L0 < 297);
    }

    /// <summary>Writes the value big-endian into 33 bytes.</summary>
    internal readonly void Write33(Span<byte> destination)
    {
        destination[0] = (byte)L4;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[1..], L3);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[9..], L2);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[17..], L1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[25..], L0);
    }

    /// <summary>(y·x + c) mod p for y, c &lt; p and 0 ≤ x &lt; 2^32, using 2^256 ≡ −297 (mod p).</summary>
    internal static FieldElement MulSmallAdd(in FieldElement y, uint x, in FieldElement c)
    {
        // value = H·2^256 + L with H < 2^34.
        UInt128 t = ((UInt128)y.L0 * x) + c.L0;
        ulong l0 = (ulong)t;
        t = ((UInt128)y.L1 * x) + c.L1 + (t >> 64);
        ulong l1 = (ulong)t;
        t = ((UInt128)y.L2 * x) + c.L2 + (t >> 64);
        ulong l2 = (ulong)t;
        t = ((UInt128)y.L3 * x) + c.L3 + (t >> 64);
        ulong l3 = (ulong)t;
        ulong h = (ulong)(t >> 64) + (y.L4 * x) + c.L4;

        // L − 297·H over 256 bits; on a borrow the true value is that wrap-around + 297 (it equals L − 297·H + p).
        UInt128 sub = (UInt128)h * 297;
        UInt128 d = (UInt128)l0 - (ulong)sub;
        ulong r0 = (ulong)d;
        ulong borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)l1 - (ulong)(sub >> 64) - borrow;
        ulong r1 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)l2 - borrow;
        ulong r2 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)l3 - borrow;
        ulong r3 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;

        // Add 297·borrow (branch-free), carrying into the top limb.
        UInt128 a = (UInt128)r0 + (297 * borrow);
        var e = default(FieldElement);
        e.L0 = (ulong)a;
        a = (UInt128)r1 + (ulong)(a >> 64);
        e.L1 = (ulong)a;
        a = (UInt128)r2 + (ulong)(a >> 64);
        e.L2 = (ulong)a;
        a = (UInt128)r3 + (ulong)(a >> 64);
        e.L3 = (ulong)a;
        e.L4 = (ulong)(a >> 64);
        return e;
    }
}
