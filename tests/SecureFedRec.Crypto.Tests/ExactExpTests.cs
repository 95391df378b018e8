using System.Globalization;
using System.Numerics;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests;

/// <summary>
/// The exact Bernoulli(exp(−x)) of the discrete Gaussian sampler (<see cref="ExactExp"/>): its tables are the true floors
/// of 2^64·exp(−x) (against literals from Python's correctly rounded <c>decimal.Decimal.exp</c> at 80 digits and against
/// an independent reference, the reciprocal of the positive series of e^x), its bounds hold the true value at every
/// precision, and a draw that ties a floor is decided exactly by the bits after it.
/// </summary>
public sealed class ExactExpTests
{
    // floor(2^64 · exp(−j)) and floor(2^64 · exp(−u/t)), from: Decimal(2)**64 * (-Decimal(x)).exp(), prec = 80.
    [Theory]
    [InlineData(1, 1, "6786177901268885274")]
    [InlineData(2, 1, "2496495334008788799")]
    [InlineData(10, 1, "837480885292947")]
    [InlineData(44, 1, "1")]
    [InlineData(45, 1, "0")]
    [InlineData(1, 1001, "18428324959840039070")]
    [InlineData(500, 1001, "11194105917838164783")]
    [InlineData(1000, 1001, "6792960687212514860")]
    [InlineData(1, 3, "13217669706954385033")]
    [InlineData(2, 3, "9470874197855498412")]
    [InlineData(65535, 65536, "6786281450916040438")]
    public void Floors_match_published_high_precision_values(int n, int d, string expected)
    {
        ulong value = ulong.Parse(expected, CultureInfo.InvariantCulture);
        Assert.Equal(value, ExactExp.Floor64(n, d));
        if (d == 1)
        {
            Assert.Equal(value, ExactExp.PowerFloor((ulong)n));
        }
        else
        {
            Assert.Equal(value, ExactExp.LaplaceFloors((ulong)d)[n]);
        }
    }

    [Fact]
    public void Every_power_floor_is_the_reference_floor()
    {
        for (ulong j = 1; j <= 60; j++)
        {
            Assert.Equal(ReferenceFloor(j, 1, 64), (BigInteger)ExactExp.PowerFloor(j));
        }
    }

    [Theory]
    [InlineData(2UL, 1UL)]
    [InlineData(3UL, 1UL)]
    [InlineData(7UL, 1UL)]
    [InlineData(1001UL, 1UL)]
    [InlineData(65536UL, 257UL)]
    public void The_fixed_point_chain_gives_the_reference_floor_of_every_entry(ulong t, ulong stride)
    {
        ulong[] floors = ExactExp.LaplaceFloors(t);
        Assert.Equal((int)t, floors.Length);
        for (ulong u = 1; u < t; u += stride)
        {
            Assert.True(ReferenceFloor(u, t, 64) == floors[u], $"t = {t}, u = {u}");
        }

        Assert.Equal(ReferenceFloor(t - 1, t, 64), (BigInteger)floors[t - 1]);
    }

    // Exponents of the shapes the sampler uses: u/t, integers, the acceptance exponent with a 2^81 denominator, large m.
    [Theory]
    [InlineData("1", "1001", 64)]
    [InlineData("1000", "1001", 200)]
    [InlineData("3", "1", 128)]
    [InlineData("44", "1", 64)]
    [InlineData("45", "1", 256)]
    [InlineData("1208925819614629174706177", "2417851639229258349412352", 128)]
    [InlineData("24178516392292583494124754", "2417851639229258349412352", 192)]
    [InlineData("300", "7", 320)]
    public void Bounds_hold_the_true_value_and_are_a_few_units_wide(string n, string d, int bits)
    {
        BigInteger num = BigInteger.Parse(n, CultureInfo.InvariantCulture);
        BigInteger den = BigInteger.Parse(d, CultureInfo.InvariantCulture);
        (BigInteger lo, BigInteger hi) = ExactExp.Bounds(num, den, bits);
        BigInteger floor = ReferenceFloor(num, den, bits);

        // lo ≤ exp(−x)·2^bits < floor + 1 and lo is an integer, so lo ≤ floor; hi ≥ exp(−x)·2^bits > floor.
        Assert.True(lo <= floor, $"lo {lo} above the floor {floor}");
        Assert.True(hi >= floor + 1, $"hi {hi} not above the floor {floor}");
        Assert.True(hi - lo <= 4, $"width {hi - lo}");
    }

    [Fact]
    public void Bounds_refuse_bad_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactExp.Bounds(-1, 1, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactExp.Bounds(1, 0, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactExp.Bounds(1, 1, 0));
    }

    [Fact]
    public void Bounds_far_below_the_precision_are_zero_and_one() =>
        Assert.Equal((BigInteger.Zero, BigInteger.One), ExactExp.Bounds(5000, 1, 64)); // e^−5000·2^64 < 1

    // A first draw equal to the floor T = ⌊2^64·e^−x⌋: V = (T·2^64 + W)/2^128 + …, so V < e^−x exactly when
    // T·2^64 + W < F = ⌊2^128·e^−x⌋ (W ≠ F mod 2^64), and when W = F mod 2^64 the third draw decides against ⌊2^192·e^−x⌋.
    [Theory]
    [InlineData(1UL, 1UL)]
    [InlineData(7UL, 1001UL)]
    [InlineData(1000UL, 1001UL)]
    [InlineData(44UL, 1UL)]
    public void A_draw_that_ties_the_floor_is_decided_by_the_next_bits(ulong n, ulong d)
    {
        BigInteger f128 = ReferenceFloor(n, d, 128);
        BigInteger f192 = ReferenceFloor(n, d, 192);
        ulong floor = (ulong)(f128 >> 64);
        ulong low = (ulong)(f128 & ulong.MaxValue);
        ulong low192 = (ulong)(f192 & ulong.MaxValue);
        Assert.Equal(floor, ExactExp.Floor64(n, d));

        foreach (ulong w in new[] { 0UL, low - 1, low + 1, ulong.MaxValue, low / 3, low + ((ulong.MaxValue - low) / 2) })
        {
            if (w == low)
            {
                continue;
            }

            using RandomBuffer buffer = Scripted([floor, w]);
            bool expected = (((BigInteger)floor << 64) + w) < f128;
            Assert.True(expected == ExactExp.Less(buffer, buffer.NextUInt64(), floor, n, d), $"x = {n}/{d}, W = {w}");
        }

        foreach (ulong third in new[] { 0UL, low192 - 1, low192 + 1, ulong.MaxValue })
        {
            using RandomBuffer buffer = Scripted([floor, low, third]);
            bool expected = third < low192;
            Assert.True(expected == ExactExp.Less(buffer, buffer.NextUInt64(), floor, n, d), $"x = {n}/{d}, third draw {third}");
        }
    }

    [Fact]
    public void A_draw_away_from_the_floor_reads_nothing_more()
    {
        ulong floor = ExactExp.PowerFloor(1);
        using RandomBuffer buffer = Scripted([floor - 1, floor + 1, 12345]);
        Assert.True(ExactExp.Less(buffer, buffer.NextUInt64(), floor, 1, 1));
        Assert.False(ExactExp.Less(buffer, buffer.NextUInt64(), floor, 1, 1));
        Assert.Equal(12345UL, buffer.NextUInt64());
    }

    [Fact]
    public void The_geometric_count_is_the_number_of_thresholds_above_the_draw()
    {
        // Away from every threshold: one draw.
        foreach ((ulong draw, ulong count) in new[]
        {
            (ulong.MaxValue, 0UL), (ExactExp.PowerFloor(1) + 1, 0UL), (ExactExp.PowerFloor(1) - 1, 1UL),
            (ExactExp.PowerFloor(3) - 1, 3UL), (ExactExp.PowerFloor(43) - 1, 43UL),
        })
        {
            using RandomBuffer buffer = Scripted([draw, 777]);
            Assert.Equal(count, ExactExp.GeometricCount(buffer));
            Assert.Equal(777UL, buffer.NextUInt64());
        }

        // Tied with the threshold e^−2 (already below e^−1): the next 64 bits decide it, and the same V is compared on.
        BigInteger f2 = ReferenceFloor(2, 1, 128);
        ulong tie = (ulong)(f2 >> 64);
        ulong low = (ulong)(f2 & ulong.MaxValue);
        using (RandomBuffer below = Scripted([tie, low - 1]))
        {
            Assert.Equal(2UL, ExactExp.GeometricCount(below)); // V < e^−2 but V > e^−3
        }

        using RandomBuffer above = Scripted([tie, low + 1]);
        Assert.Equal(1UL, ExactExp.GeometricCount(above));
    }

    [Fact]
    public void A_zero_draw_reaches_past_the_table_and_stays_exact()
    {
        // V < 2^−128: below e^−j for every j with e^−j > 2^−128 (j ≤ 88), decided on the refined prefix.
        using RandomBuffer buffer = Scripted([0, 0, ulong.MaxValue]);
        ulong v = ExactExp.GeometricCount(buffer);
        Assert.Equal(88UL, v); // e^−88 ≈ 2^−126.96 > V ≥ 2^−128·(1 − 2^−64) … and e^−89 ≈ 2^−128.4 < 2^−128·(2^64 − 1)/2^64
    }

    /// <summary>⌊2^bits·exp(−n/d)⌋ from the reciprocal of e^x's positive series: L_K = Σ_(k≤K) x^k/k! ≤ e^x ≤ L_K + 2·x^(K+1)/(K+1)!
    /// once K + 2 ≥ 2x, refined until both reciprocals have the same floor (exp(−x) is irrational, so this ends).</summary>
    private static BigInteger ReferenceFloor(BigInteger n, BigInteger d, int bits)
    {
        BigInteger one = BigInteger.One << bits;
        int start = Math.Max(20, (int)(2 * n / d) + 2);
        for (int k = start; ; k += 20)
        {
            // Σ_(i≤k) n^i d^(k−i) k!/i!  over  d^k k!
            BigInteger termN = BigInteger.One;
            BigInteger termD = BigInteger.One;
            BigInteger sumN = BigInteger.Zero;
            BigInteger sumD = BigInteger.One;
            for (int i = 0; i <= k; i++)
            {
                if (i > 0)
                {
                    termN *= n;
                    termD *= d * i;
                }

                sumN = (sumN * termD / sumD) + termN;
                sumD = termD;
            }

            // K + 2 ≥ 2x holds from the start value of k.
            BigInteger nextN = termN * n;
            BigInteger nextD = termD * d * (k + 1);
            // e^x ∈ [sumN/sumD, sumN/sumD + 2·nextN/nextD]; sumD divides nextD.
            BigInteger upperN = (sumN * (nextD / sumD)) + (2 * nextN);
            BigInteger low = one * nextD / upperN; // ⌊2^bits / upper⌋
            BigInteger high = one * sumD / sumN;   // ⌊2^bits / lower⌋
            if (low == high)
            {
                return low;
            }
        }
    }

    private static RandomBuffer Scripted(ulong[] draws)
    {
        byte[] bytes = new byte[draws.Length * 8];
        for (int i = 0; i < draws.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), draws[i]);
        }

        return new RandomBuffer(new ScriptedSource(bytes), 8);
    }

    /// <summary>The given bytes, then zeros (a test that reads past its script sees zeros, not an error).</summary>
    private sealed class ScriptedSource(byte[] bytes) : RandomSource
    {
        private int _position;

        public override void Fill(Span<byte> destination)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = _position < bytes.Length ? bytes[_position++] : (byte)0;
            }
        }
    }
}
