using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests;

/// <summary>FsCheck properties: Shamir threshold behaviour and mask cancellation.</summary>
public sealed class ShamirProperties
{
    public sealed record Case(int N, int T, int[] Order, int Seed)
    {
        public override string ToString() => $"n={N} t={T} order=[{string.Join(',', Order)}] seed={Seed}";
    }

    private static Gen<Case> Cases() =>
        from n in Gen.Choose(1, 12)
        from t in Gen.Choose(1, n)
        from keys in Gen.ArrayOf(Gen.Choose(0, 1_000_000), n)
        from seed in Gen.Choose(0, int.MaxValue)
        select new Case(n, t, Enumerable.Range(0, n).OrderBy(i => keys[i]).ThenBy(i => i).ToArray(), seed);

    private static (byte[] Secret, ShamirShare[] Shares) Deal(Case c)
    {
        using var rng = DeterministicRandomSource.FromTestSeed((ulong)c.Seed);
        byte[] secret = new byte[32];
        rng.Fill(secret);
        int[] xs = Enumerable.Range(0, c.N).Select(i => 1 + (i * 7919 % 100_003)).ToArray();
        return (secret, Shamir.Split(secret, c.T, xs, rng));
    }

    [Fact]
    public void Any_t_or_more_shares_reconstruct() =>
        Prop.ForAll(Cases().ToArbitrary(), c =>
        {
            (byte[] secret, ShamirShare[] shares) = Deal(c);
            for (int k = c.T; k <= c.N; k++)
            {
                ShamirShare[] subset = c.Order.Take(k).Select(i => shares[i]).ToArray();
                byte[] output = new byte[32];
                if (Shamir.TryReconstruct(subset, c.T, output) != ShamirResult.Ok || !output.SequenceEqual(secret))
                {
                    return false;
                }
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    [Fact]
    public void Fewer_than_t_shares_are_refused_and_interpolate_to_something_else() =>
        Prop.ForAll(Cases().Where(c => c.T >= 2).ToArbitrary(), c =>
        {
            (byte[] secret, ShamirShare[] shares) = Deal(c);
            ShamirShare[] subset = c.Order.Take(c.T - 1).Select(i => shares[i]).ToArray();
            byte[] output = new byte[32];
            if (Shamir.TryReconstruct(subset, c.T, output) != ShamirResult.TooFewShares)
            {
                return false;
            }

            // Interpolating t−1 shares as if the threshold were t−1 lands on an unrelated value.
            ShamirResult r = Shamir.TryReconstruct(subset, c.T - 1, output);
            return r == ShamirResult.NotASecret || (r == ShamirResult.Ok && !output.SequenceEqual(secret));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    // Perfect secrecy, shown constructively: any t−1 shares together with ANY other candidate secret lie on some
    // polynomial of degree t−1, so a t-th share exists that makes them reconstruct to that candidate.
    [Fact]
    public void T_minus_1_shares_are_consistent_with_every_secret() =>
        Prop.ForAll(Cases().Where(c => c.T >= 2 && c.T < c.N).ToArbitrary(), c =>
        {
            (_, ShamirShare[] shares) = Deal(c);
            ShamirShare[] known = c.Order.Take(c.T - 1).Select(i => shares[i]).ToArray();
            ShamirShare outsider = shares[c.Order[c.T - 1]];
            byte[] candidate = new byte[32];
            using (var rng = DeterministicRandomSource.FromTestSeed((ulong)c.Seed + 1))
            {
                rng.Fill(candidate);
            }

            // The polynomial through (0, candidate) and the t−1 known shares, evaluated at the outsider's x.
            int[] xs = [.. known.Select(s => s.X), int.MaxValue];
            var cache = new LagrangeCache(xs.AsSpan(0, xs.Length - 1));
            BigInteger[] ys = known.Select(s => new BigInteger(s.Y, isUnsigned: true, isBigEndian: true)).ToArray();
            BigInteger forged = EvaluateThroughZero(known, ys, new BigInteger(candidate, isUnsigned: true, isBigEndian: true), outsider.X);
            byte[] y = new byte[33];
            Field.Write(forged, y);
            byte[] output = new byte[32];
            ShamirResult r = Shamir.TryReconstruct([.. known, ShamirShare.Import(outsider.X, y)], c.T, output);
            return cache.Threshold == c.T - 1 && r == ShamirResult.Ok && output.SequenceEqual(candidate);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));

    private static BigInteger EvaluateThroughZero(ShamirShare[] known, BigInteger[] ys, BigInteger atZero, int z)
    {
        // Plain Lagrange over the points (0, atZero) and (x_i, y_i), independent of the library's barycentric code.
        var px = new List<BigInteger> { 0 };
        var py = new List<BigInteger> { atZero };
        px.AddRange(known.Select(s => (BigInteger)s.X));
        py.AddRange(ys);
        BigInteger p = Field.P;
        BigInteger sum = 0;
        for (int i = 0; i < px.Count; i++)
        {
            BigInteger num = 1;
            BigInteger den = 1;
            for (int j = 0; j < px.Count; j++)
            {
                if (j != i)
                {
                    num = num * (z - px[j]) % p;
                    den = den * (px[i] - px[j]) % p;
                }
            }

            if (den < 0)
            {
                den += p;
            }

            if (num < 0)
            {
                num += p;
            }

            sum = (sum + (py[i] * num % p * BigInteger.ModPow(den, p - 2, p))) % p;
        }

        return sum;
    }
}

public sealed class MaskProperties
{
    public static TheoryData<int> AllBits()
    {
        var data = new TheoryData<int>();
        for (int b = 1; b <= 32; b++)
        {
            data.Add(b);
        }

        return data;
    }

    // Lengths 0..1100 cover the SIMD widths (8 and 4 lanes), their remainders and more than one 4 KiB keystream chunk.
    [Theory]
    [MemberData(nameof(AllBits))]
    public void Add_then_subtract_is_identity_mod_2_pow_b(int bits)
    {
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        Gen<(uint[] Vector, int Seed)> gen =
            from length in Gen.Choose(0, 1100)
            from values in Gen.ArrayOf(Gen.Choose(int.MinValue, int.MaxValue).Select(v => (uint)v & mask), length)
            from seed in Gen.Choose(0, int.MaxValue)
            select (values, seed);
        Prop.ForAll(gen.ToArbitrary(), input =>
        {
            byte[] seed = new byte[32];
            BitConverter.TryWriteBytes(seed, input.Seed);
            uint[] v = (uint[])input.Vector.Clone();
            MaskPrg.AddMask(seed, "ctx"u8, bits, v);
            bool allInRange = v.All(x => x <= mask);
            bool changed = input.Vector.Length < 8 || bits < 4 || !v.SequenceEqual(input.Vector);
            MaskPrg.SubtractMask(seed, "ctx"u8, bits, v);
            return allInRange && changed && v.SequenceEqual(input.Vector);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));
    }

    // Pairwise masks cancel in the sum: u adds the pair mask, v subtracts it.
    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(32)]
    public void Pairwise_masks_cancel_in_the_sum(int bits)
    {
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        Gen<(uint[] U, uint[] V)> gen =
            from length in Gen.Choose(1, 600)
            from u in Gen.ArrayOf(Gen.Choose(0, int.MaxValue).Select(x => (uint)x & mask), length)
            from v in Gen.ArrayOf(Gen.Choose(0, int.MaxValue).Select(x => (uint)x & mask), length)
            select (u, v);
        Prop.ForAll(gen.ToArbitrary(), p =>
        {
            byte[] seed = new byte[32];
            seed[3] = 9;
            uint[] mu = (uint[])p.U.Clone();
            uint[] mv = (uint[])p.V.Clone();
            MaskPrg.AddMask(seed, "pair"u8, bits, mu);
            MaskPrg.SubtractMask(seed, "pair"u8, bits, mv);
            return Enumerable.Range(0, mu.Length).All(i => ((mu[i] + mv[i]) & mask) == ((p.U[i] + p.V[i]) & mask));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
    }

    // Each masked element is uniform on [0, 2^b): χ² over 2^b cells for small b.
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public void Mask_elements_are_uniform(int bits)
    {
        uint[] m = new uint[200_000];
        MaskPrg.Generate(new byte[32], "uniform"u8, bits, m);
        int cells = 1 << bits;
        double expected = m.Length / (double)cells;
        double chi = m.GroupBy(x => x).Sum(g => Math.Pow(g.Count() - expected, 2) / expected);
        Assert.True(chi < Stats.ChiSquareCritical(cells - 1), $"χ² = {chi}");
    }
}
