using System.Numerics;
using System.Runtime.CompilerServices;

namespace SecureFedRec.Crypto.Internal;

/// <summary>
/// Exact Bernoulli(exp(−x)) for rational x ≥ 0 by lazy comparison of a uniform real V ∈ [0, 1) with exp(−x): V's bits
/// are drawn 64 at a time and compared with integer bounds on exp(−x)·2^bits until V is on one side (P(V &lt; exp(−x)) =
/// exp(−x) exactly). The fast path is one 64-bit draw against a precomputed ⌊2^64·exp(−x)⌋; only a draw equal to that
/// floor (probability 2^−64) reads further bits, using <see cref="Bounds"/>. Hand-written: no maintained .NET library
/// provides exact (not floating-point) samplers; integer and rational arithmetic only, no floating point.
/// </summary>
/// <remarks>
/// Exactness: exp(−x) is irrational for rational x &gt; 0 (Lindemann), so 2^bits·exp(−x) is never an integer and the
/// comparison ends with probability 1; each further 64 bits leave it undecided with probability ≤ 4·2^−64.
/// The tie path keeps V's prefix in a <see cref="BigInteger"/>, which cannot be wiped; it runs with probability 2^−64
/// per comparison.
/// </remarks>
internal static class ExactExp
{
    /// <summary>Above this, ⌊2^64·exp(−j)⌋ = 0 (2^64·e^−45 ≈ 0.53).</summary>
    internal const int LastNonZeroPower = 44;

    /// <summary>⌊2^64·exp(−j)⌋ for j = 0 … 45 (entry 0 unused: exp(0) = 1 needs no draw).</summary>
    private static readonly ulong[] PowerFloors = BuildPowerFloors();

    /// <summary>⌊2^64·exp(−j)⌋ for an integer j ≥ 1 (0 for j ≥ 45).</summary>
    internal static ulong PowerFloor(ulong j) => j <= LastNonZeroPower + 1 ? PowerFloors[j] : 0;

    /// <summary><see cref="PowerFloor(ulong)"/> for an integer of any size.</summary>
    private static ulong PowerFloor(BigInteger j) => j <= ulong.MaxValue ? PowerFloor((ulong)j) : 0;

    /// <summary>Integers lo ≤ exp(−n/d)·2^bits ≤ hi (n ≥ 0, d ≥ 1, bits ≥ 1), a few units apart (≤ 4).</summary>
    /// <remarks>x = m + r/d with m = ⌊n/d⌋. exp(−r/d) lies between the alternating Taylor partial sums S_K and S_(K+1)
    /// (K odd; the terms (r/d)^k/k! do not increase since r/d &lt; 1), and exp(−1) between its own; exp(−x) between the
    /// products, the lower with S_K ≥ 1/3 &gt; 0. K is the least odd K with (K+1)! ≥ 8·(m+1)·2^bits, so the relative
    /// width is ≤ 2^−(bits+1). When m ≥ bits, exp(−x)·2^bits &lt; 2^(bits−m) ≤ 1 (e &gt; 2): (0, 1).</remarks>
    internal static (BigInteger Lo, BigInteger Hi) Bounds(BigInteger n, BigInteger d, int bits)
    {
        if (n.Sign < 0 || d.Sign <= 0 || bits < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(n), "Bounds need n ≥ 0, d ≥ 1 and bits ≥ 1.");
        }

        BigInteger m = BigInteger.DivRem(n, d, out BigInteger r);
        if (m >= bits)
        {
            return (BigInteger.Zero, BigInteger.One);
        }

        int mi = (int)m;
        BigInteger target = (8 * (m + 1)) << bits;
        int k = 1;
        BigInteger factorial = 2; // (k + 1)!
        while (factorial < target || k < 3)
        {
            k += 2;
            factorial *= (k * (k + 1));
        }

        (BigInteger loN, BigInteger loD) = Partial(r, d, k);
        (BigInteger hiN, BigInteger hiD) = Partial(r, d, k + 1);
        if (mi > 0)
        {
            (BigInteger eLoN, BigInteger eLoD) = Partial(BigInteger.One, BigInteger.One, k);
            (BigInteger eHiN, BigInteger eHiD) = Partial(BigInteger.One, BigInteger.One, k + 1);
            loN *= BigInteger.Pow(eLoN, mi);
            loD *= BigInteger.Pow(eLoD, mi);
            hiN *= BigInteger.Pow(eHiN, mi);
            hiD *= BigInteger.Pow(eHiD, mi);
        }

        BigInteger lo = (loN << bits) / loD;
        BigInteger hi = ((hiN << bits) + hiD - 1) / hiD;
        return (lo, hi);
    }

    /// <summary>⌊2^64·exp(−n/d)⌋ for n/d &gt; 0, from <see cref="Bounds"/> at growing precision (construction only).</summary>
    internal static ulong Floor64(BigInteger n, BigInteger d)
    {
        for (int bits = 128; ; bits += 64)
        {
            (BigInteger lo, BigInteger hi) = Bounds(n, d, bits);
            BigInteger a = lo >> (bits - 64);
            if (a == (hi >> (bits - 64)))
            {
                return (ulong)a;
            }
        }
    }

    /// <summary>⌊2^64·exp(−u/t)⌋ for u = 0 … t − 1 (entry 0 unused), t ≥ 2: a chain of 192-bit fixed-point products with
    /// the lower bound rounded down and the upper rounded up at each step, so every entry's interval holds the true value;
    /// an entry whose interval straddles an integer is recomputed by <see cref="Floor64"/>.</summary>
    internal static ulong[] LaplaceFloors(ulong t)
    {
        const int P = 192;
        BigInteger one = BigInteger.One << P;
        BigInteger roundUp = one - 1;
        (BigInteger baseLo, BigInteger baseHi) = Bounds(BigInteger.One, t, P);
        var floors = new ulong[t];
        BigInteger lo = one;
        BigInteger hi = one;
        for (ulong u = 1; u < t; u++)
        {
            lo = (lo * baseLo) >> P;
            hi = ((hi * baseHi) + roundUp) >> P;
            BigInteger a = lo >> (P - 64);
            floors[u] = a == (hi >> (P - 64)) ? (ulong)a : Floor64(u, t);
        }

        return floors;
    }

    /// <summary>Bernoulli(exp(−n/d)) given the first 64 bits <paramref name="draw"/> of V and
    /// <paramref name="floor"/> = ⌊2^64·exp(−n/d)⌋, n/d &gt; 0: V &lt; exp(−n/d) is decided by the draw unless it equals
    /// the floor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Less(RandomBuffer random, ulong draw, ulong floor, ulong n, ulong d) =>
        draw != floor ? draw < floor : Tie(random, draw, n, d);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Tie(RandomBuffer random, ulong draw, BigInteger n, BigInteger d) => new LazyUniform(draw).Less(random, n, d);

    /// <summary>The number of j ≥ 1 with V &lt; exp(−j) for one uniform V: P(≥ j) = e^−j, the geometric count of CKS
    /// Algorithm 2 (Bernoulli(exp(−1)) successes before the first failure) from a single draw in all but 2^−64 cases.</summary>
    internal static ulong GeometricCount(RandomBuffer random)
    {
        ulong draw = random.NextUInt64();
        ulong v = 0;
        while (true)
        {
            ulong floor = PowerFloor(v + 1);
            if (draw < floor)
            {
                v++;
                continue;
            }

            if (draw > floor)
            {
                return v;
            }

            var lazy = new LazyUniform(draw);
            while (lazy.Less(random, v + 1, BigInteger.One))
            {
                v++;
            }

            return v;
        }
    }

    /// <summary>Bernoulli(exp(−m)) for an integer m ≥ 1 (<see cref="PowerFloor(ulong)"/> and the tie path).</summary>
    internal static bool PowerOfInverseE(RandomBuffer random, BigInteger m)
    {
        ulong floor = PowerFloor(m);
        ulong draw = random.NextUInt64();
        return draw != floor ? draw < floor : Tie(random, draw, m, BigInteger.One);
    }

    private static ulong[] BuildPowerFloors()
    {
        var floors = new ulong[LastNonZeroPower + 2];
        for (int j = 1; j < floors.Length; j++)
        {
            floors[j] = Floor64(j, BigInteger.One);
        }

        return floors;
    }

    /// <summary>Σ_(k=0..K) (−r/d)^k/k! as an exact fraction (Horner: h ← 1 − (r/(d·k))·h for k = K … 1); denominator
    /// d^K·K!.</summary>
    private static (BigInteger N, BigInteger D) Partial(BigInteger r, BigInteger d, int k)
    {
        BigInteger hn = BigInteger.One;
        BigInteger hd = BigInteger.One;
        for (int i = k; i >= 1; i--)
        {
            BigInteger kd = i * d;
            hn = (kd * hd) - (r * hn);
            hd = kd * hd;
        }

        return (hn, hd);
    }

    /// <summary>A uniform V ∈ [0, 1) known to <c>bits</c> bits: V ∈ [prefix/2^bits, (prefix + 1)/2^bits).</summary>
    internal sealed class LazyUniform
    {
        private BigInteger _prefix;
        private int _bits;

        internal LazyUniform(ulong first64)
        {
            _prefix = first64;
            _bits = 64;
        }

        /// <summary>Whether V &lt; exp(−n/d), drawing further bits of V while the bounds leave it open.</summary>
        internal bool Less(RandomBuffer random, BigInteger n, BigInteger d)
        {
            while (true)
            {
                (BigInteger lo, BigInteger hi) = Bounds(n, d, _bits);
                if (_prefix + 1 <= lo)
                {
                    return true;
                }

                if (_prefix >= hi)
                {
                    return false;
                }

                _prefix = (_prefix << 64) | random.NextUInt64();
                _bits += 64;
            }
        }
    }
}
