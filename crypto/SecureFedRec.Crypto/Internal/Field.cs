using System.Numerics;
using System.Security.Cryptography;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// GF(p), p = 2^256 + 297, with <see cref="BigInteger"/> (immutable: values cannot be wiped): the reference arithmetic the
/// tests check <see cref="FieldElement"/> against, and the byte-level helpers. Sharing and reconstruction run on
/// <see cref="FieldElement"/>.
/// </summary>
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
    /// <see cref="FieldElement.SmallProduct"/> (no big-integer product per factor).</summary>
    internal static BigInteger SmallProduct(ReadOnlySpan<uint> factors, bool negative)
    {
        FieldElement acc = FieldElement.SmallProduct(factors, negative);
        Span<byte> bytes = stackalloc byte[33];
        acc.Write33(bytes);
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }
}

/// <summary>
/// A GF(p) element, p = 2^256 + 297, as five 64-bit limbs (little-endian; the top limb is 0 or 1; always reduced, value
/// &lt; p): fixed-width, allocation-free and wipeable, unlike <see cref="BigInteger"/>. Horner steps y·x + c with a small x
/// for the split; addition, subtraction and full multiplication for reconstruction.
/// </summary>
/// <remarks>
/// Constant time: every operation but <see cref="InversePublic"/>'s callers' choice of inputs runs the same instruction
/// sequence whatever the values (carries and borrows through <see cref="UInt128"/> arithmetic, reductions and
/// conditional subtractions through masks, no data-dependent branch or index), so shares and secrets may pass through
/// it. Reduction uses 2^256 ≡ −297 (mod p).
/// </remarks>
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

    /// <summary>1.</summary>
    internal static FieldElement One => new() { L0 = 1 };

    /// <summary>Whether the value is below 2^256 (so that it is a 32-byte secret); the top limb is 0 or 1.</summary>
    internal readonly bool IsBelow2To256 => L4 == 0;

    /// <summary>
    /// Reads a big-endian 33-byte value; false if it is ≥ p (or the top byte is above 1). Unlike <see cref="TryRead"/>,
    /// the check has no data-dependent branch: it reads received shares.
    /// </summary>
    internal static bool TryRead33ConstantTime(ReadOnlySpan<byte> bytes33, out FieldElement e)
    {
        if (bytes33.Length != 33)
        {
            throw new ArgumentException("A field element is 33 bytes here.", nameof(bytes33));
        }

        e = default;
        e.L0 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes33[25..]);
        e.L1 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes33[17..]);
        e.L2 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes33[9..]);
        e.L3 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes33[1..]);
        e.L4 = bytes33[0];

        // value − p borrows iff value < p.
        return SubtractP(e.L0, e.L1, e.L2, e.L3, e.L4, out _) == 1;
    }

    /// <summary>Writes the low 256 bits big-endian into 32 bytes (the caller checked <see cref="IsBelow2To256"/>).</summary>
    internal readonly void Write32(Span<byte> destination)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination, L3);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[8..], L2);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[16..], L1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[24..], L0);
    }

    /// <summary>Whether a = b, without a data-dependent branch.</summary>
    internal static bool EqualsConstantTime(in FieldElement a, in FieldElement b)
    {
        ulong diff = (a.L0 ^ b.L0) | (a.L1 ^ b.L1) | (a.L2 ^ b.L2) | (a.L3 ^ b.L3) | (a.L4 ^ b.L4);
        return ((diff | (0 - diff)) >> 63) == 0;
    }

    /// <summary>(a + b) mod p.</summary>
    internal static FieldElement Add(in FieldElement a, in FieldElement b)
    {
        UInt128 t = (UInt128)a.L0 + b.L0;
        ulong s0 = (ulong)t;
        t = (UInt128)a.L1 + b.L1 + (ulong)(t >> 64);
        ulong s1 = (ulong)t;
        t = (UInt128)a.L2 + b.L2 + (ulong)(t >> 64);
        ulong s2 = (ulong)t;
        t = (UInt128)a.L3 + b.L3 + (ulong)(t >> 64);
        ulong s3 = (ulong)t;
        ulong s4 = a.L4 + b.L4 + (ulong)(t >> 64); // < 4
        return ReduceOnce(s0, s1, s2, s3, s4);
    }

    /// <summary>(a − b) mod p.</summary>
    internal static FieldElement Sub(in FieldElement a, in FieldElement b)
    {
        UInt128 d = (UInt128)a.L0 - b.L0;
        ulong r0 = (ulong)d;
        ulong borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)a.L1 - b.L1 - borrow;
        ulong r1 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)a.L2 - b.L2 - borrow;
        ulong r2 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)a.L3 - b.L3 - borrow;
        ulong r3 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)a.L4 - b.L4 - borrow;
        ulong r4 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;

        // Negative (borrow out): add p (mod 2^320), branch-free.
        ulong mask = 0 - borrow;
        UInt128 c = (UInt128)r0 + (297 & mask);
        var e = default(FieldElement);
        e.L0 = (ulong)c;
        c = (UInt128)r1 + (ulong)(c >> 64);
        e.L1 = (ulong)c;
        c = (UInt128)r2 + (ulong)(c >> 64);
        e.L2 = (ulong)c;
        c = (UInt128)r3 + (ulong)(c >> 64);
        e.L3 = (ulong)c;
        e.L4 = r4 + (1 & mask) + (ulong)(c >> 64);
        return e;
    }

    /// <summary>−a mod p.</summary>
    internal static FieldElement Negate(in FieldElement a) => Sub(default, a);

    /// <summary>(a · b) mod p.</summary>
    internal static FieldElement Mul(in FieldElement a, in FieldElement b)
    {
        // A·B over the low 256 bits of each: eight limbs r0 … r7.
        Span<ulong> r = stackalloc ulong[8];
        r.Clear();
        ulong a0 = a.L0, a1 = a.L1, a2 = a.L2, a3 = a.L3;
        ulong b0 = b.L0, b1 = b.L1, b2 = b.L2, b3 = b.L3;
        MulRow(a0, b0, b1, b2, b3, r[0..]);
        MulRow(a1, b0, b1, b2, b3, r[1..]);
        MulRow(a2, b0, b1, b2, b3, r[2..]);
        MulRow(a3, b0, b1, b2, b3, r[3..]);

        // a·b = A·B + (a4·B + b4·A)·2^256 + a4·b4·2^512 ≡ r_lo − 297·T + 297²·a4·b4, T = r_hi + a4·B + b4·A.
        ulong ma = 0 - a.L4, mb = 0 - b.L4;
        UInt128 t = (UInt128)r[4] + (b0 & ma) + (a0 & mb);
        ulong t0 = (ulong)t;
        t = (UInt128)r[5] + (b1 & ma) + (a1 & mb) + (ulong)(t >> 64);
        ulong t1 = (ulong)t;
        t = (UInt128)r[6] + (b2 & ma) + (a2 & mb) + (ulong)(t >> 64);
        ulong t2 = (ulong)t;
        t = (UInt128)r[7] + (b3 & ma) + (a3 & mb) + (ulong)(t >> 64);
        ulong t3 = (ulong)t;
        ulong t4 = (ulong)(t >> 64); // ≤ 2

        // U = 297·T (U4 < 2^10).
        UInt128 u = (UInt128)t0 * 297;
        ulong u0 = (ulong)u;
        u = ((UInt128)t1 * 297) + (ulong)(u >> 64);
        ulong u1 = (ulong)u;
        u = ((UInt128)t2 * 297) + (ulong)(u >> 64);
        ulong u2 = (ulong)u;
        u = ((UInt128)t3 * 297) + (ulong)(u >> 64);
        ulong u3 = (ulong)u;
        ulong u4 = (t4 * 297) + (ulong)(u >> 64);

        // X = r_lo + 88209·a4·b4 (five limbs), then R = X − U as a 320-bit two's complement value in (−2^266, 2^257).
        UInt128 x = (UInt128)r[0] + (88209UL & ma & mb);
        ulong x0 = (ulong)x;
        x = (UInt128)r[1] + (ulong)(x >> 64);
        ulong x1 = (ulong)x;
        x = (UInt128)r[2] + (ulong)(x >> 64);
        ulong x2 = (ulong)x;
        x = (UInt128)r[3] + (ulong)(x >> 64);
        ulong x3 = (ulong)x;
        ulong x4 = (ulong)(x >> 64);
        r.Clear();

        UInt128 d = (UInt128)x0 - u0;
        ulong s0 = (ulong)d;
        ulong borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)x1 - u1 - borrow;
        ulong s1 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)x2 - u2 - borrow;
        ulong s2 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)x3 - u3 - borrow;
        ulong s3 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        ulong s4 = x4 - u4 - borrow; // the signed top limb h ∈ [−2^10, 1]

        // R = h·2^256 + low ≡ low − 297·h: add m = −297·h (sign-extended) to the low 256 bits.
        long m = -297 * (long)s4;
        ulong mExt = (ulong)(m >> 63);
        UInt128 c = (UInt128)s0 + (ulong)m;
        ulong v0 = (ulong)c;
        c = (UInt128)s1 + mExt + (ulong)(c >> 64);
        ulong v1 = (ulong)c;
        c = (UInt128)s2 + mExt + (ulong)(c >> 64);
        ulong v2 = (ulong)c;
        c = (UInt128)s3 + mExt + (ulong)(c >> 64);
        ulong v3 = (ulong)c;
        ulong v4 = mExt + (ulong)(c >> 64); // two's complement top limb: the value is in [−297, 2^256 + 2^19)

        // Negative: add p (the value is then below p). Then one conditional subtraction brings [0, 2p) to [0, p).
        ulong neg = (ulong)((long)v4 >> 63);
        c = (UInt128)v0 + (297 & neg);
        v0 = (ulong)c;
        c = (UInt128)v1 + (ulong)(c >> 64);
        v1 = (ulong)c;
        c = (UInt128)v2 + (ulong)(c >> 64);
        v2 = (ulong)c;
        c = (UInt128)v3 + (ulong)(c >> 64);
        v3 = (ulong)c;
        v4 = v4 + (1 & neg) + (ulong)(c >> 64);
        return ReduceOnce(v0, v1, v2, v3, v4);
    }

    /// <summary>
    /// a⁻¹ mod p for a ≠ 0 by Fermat (a^(p−2), p − 2 = 2^256 + 295: 264 squarings and 5 multiplications on fixed-width
    /// limbs, a fixed sequence). Called for public values only (functions of the x set of a Lagrange cache or of an
    /// evaluation point), like <see cref="Field.InversePublic"/>, which it replaces on the reconstruction path.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">a = 0.</exception>
    internal static FieldElement InversePublic(in FieldElement a)
    {
        if (EqualsConstantTime(a, default))
        {
            throw new ArgumentOutOfRangeException(nameof(a), "Zero has no inverse.");
        }

        // a^295, 295 = 0b1_0010_0111, by left-to-right square-and-multiply.
        FieldElement low = a;
        const uint Tail = 295;
        for (int bit = 7; bit >= 0; bit--)
        {
            low = Mul(low, low);
            if (((Tail >> bit) & 1) != 0)
            {
                low = Mul(low, a);
            }
        }

        // a^(2^256) · a^295.
        FieldElement high = a;
        for (int i = 0; i < 256; i++)
        {
            high = Mul(high, high);
        }

        return Mul(high, low);
    }

    /// <summary>(−1)^negative · Π factors mod p (factors &lt; 2^32), by <see cref="MulSmallAdd"/>.</summary>
    internal static FieldElement SmallProduct(ReadOnlySpan<uint> factors, bool negative)
    {
        FieldElement acc = One;
        FieldElement zero = default;
        foreach (uint f in factors)
        {
            acc = MulSmallAdd(acc, f, zero);
        }

        return negative ? Negate(acc) : acc;
    }

    /// <summary>r[0..4] += a · (b0, b1, b2, b3) (one schoolbook row; r[4] receives the row's carry).</summary>
    private static void MulRow(ulong a, ulong b0, ulong b1, ulong b2, ulong b3, Span<ulong> r)
    {
        UInt128 t = ((UInt128)a * b0) + r[0];
        r[0] = (ulong)t;
        t = ((UInt128)a * b1) + r[1] + (ulong)(t >> 64);
        r[1] = (ulong)t;
        t = ((UInt128)a * b2) + r[2] + (ulong)(t >> 64);
        r[2] = (ulong)t;
        t = ((UInt128)a * b3) + r[3] + (ulong)(t >> 64);
        r[3] = (ulong)t;
        r[4] = (ulong)(t >> 64);
    }

    /// <summary>s − p over five limbs (wrapping), branch-free; returns the borrow out: 1 iff s &lt; p.</summary>
    private static ulong SubtractP(ulong s0, ulong s1, ulong s2, ulong s3, ulong s4, out FieldElement difference)
    {
        UInt128 d = (UInt128)s0 - 297;
        difference.L0 = (ulong)d;
        ulong borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)s1 - borrow;
        difference.L1 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)s2 - borrow;
        difference.L2 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)s3 - borrow;
        difference.L3 = (ulong)d;
        borrow = (ulong)(d >> 64) & 1;
        d = (UInt128)s4 - 1 - borrow;
        difference.L4 = (ulong)d;
        return (ulong)(d >> 64) & 1;
    }

    /// <summary>s mod p for 0 ≤ s &lt; 2p (five limbs): subtracts p unless that borrows, branch-free.</summary>
    private static FieldElement ReduceOnce(ulong s0, ulong s1, ulong s2, ulong s3, ulong s4)
    {
        ulong borrow = SubtractP(s0, s1, s2, s3, s4, out FieldElement d);

        // borrow = 1: s < p, keep s; else keep s − p.
        ulong keep = 0 - borrow;
        var e = default(FieldElement);
        e.L0 = (s0 & keep) | (d.L0 & ~keep);
        e.L1 = (s1 & keep) | (d.L1 & ~keep);
        e.L2 = (s2 & keep) | (d.L2 & ~keep);
        e.L3 = (s3 & keep) | (d.L3 & ~keep);
        e.L4 = (s4 & keep) | (d.L4 & ~keep);
        return e;
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
