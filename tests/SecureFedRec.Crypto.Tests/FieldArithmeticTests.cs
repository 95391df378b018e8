using System.Numerics;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests;

/// <summary>
/// The reconstruction's fixed-width GF(2^256 + 297) arithmetic (addition, subtraction, full multiplication, Fermat
/// inversion) against <see cref="BigInteger"/>, and the span overloads of split and reconstruction against the share-object ones.
/// </summary>
public sealed class FieldArithmeticTests
{
    private static readonly BigInteger P = Field.P;

    private static readonly string[] EdgeValues = ["0", "1", "2", "296", "p-1", "p-2", "2^256", "2^256-1", "2^256+1", "2^255", "2^64-1", "2^128", "2^192+7"];

    public static TheoryData<string, string> EdgePairs()
    {
        var data = new TheoryData<string, string>();
        foreach (string a in EdgeValues)
        {
            foreach (string b in EdgeValues)
            {
                data.Add(a, b);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EdgePairs))]
    public void Add_Sub_Mul_match_BigInteger_at_the_edges(string a, string b) => Check(Parse(a), Parse(b));

    [Fact]
    public void Add_Sub_Mul_match_BigInteger_at_random()
    {
        using var rng = DeterministicRandomSource.FromTestSeed(2027);
        Span<byte> scratch = stackalloc byte[33];
        for (int i = 0; i < 3000; i++)
        {
            Check(Field.Random(rng, scratch), Field.Random(rng, scratch));
        }
    }

    [Fact]
    public void InversePublic_matches_the_Euclidean_inverse()
    {
        using var rng = DeterministicRandomSource.FromTestSeed(2028);
        Span<byte> scratch = stackalloc byte[33];
        var values = new List<BigInteger> { 1, 2, 297, P - 1, P - 2, BigInteger.One << 256, (BigInteger.One << 256) - 1 };
        for (int i = 0; i < 200; i++)
        {
            BigInteger v = Field.Random(rng, scratch);
            if (!v.IsZero)
            {
                values.Add(v);
            }
        }

        foreach (BigInteger v in values)
        {
            Assert.Equal(Field.InversePublic(v), Value(FieldElement.InversePublic(Element(v))));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => FieldElement.InversePublic(default));
    }

    [Theory]
    [InlineData("p", false)]
    [InlineData("p-1", true)]
    [InlineData("2^256", true)]
    [InlineData("0", true)]
    public void Constant_time_read_refuses_values_at_or_above_p(string value, bool expected)
    {
        byte[] bytes = new byte[33];
        Field.Write(Parse(value), bytes);
        Assert.Equal(expected, FieldElement.TryRead33ConstantTime(bytes, out _));
        bytes[0] = 0x02;
        Assert.False(FieldElement.TryRead33ConstantTime(bytes, out _));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(20, 43)]
    [InlineData(64, 64)]
    [InlineData(70, 90)]
    public void SplitInto_gives_the_shares_of_Split_and_span_reconstruction_their_secret(int t, int n)
    {
        byte[] secret = new byte[32];
        using (var r = DeterministicRandomSource.FromTestSeed((ulong)(t * 1000 + n)))
        {
            r.Fill(secret);
        }

        int[] xs = [.. Enumerable.Range(0, n).Select(i => (i * 7919) + 3)];
        using var rngA = DeterministicRandomSource.FromTestSeed(77);
        using var rngB = DeterministicRandomSource.FromTestSeed(77);
        ShamirShare[] shares = Shamir.Split(secret, t, xs, rngA);
        byte[] ys = new byte[ShamirShare.YLength * n];
        Shamir.SplitInto(secret, t, xs, ys, rngB);
        byte[] y = new byte[ShamirShare.YLength];
        for (int i = 0; i < n; i++)
        {
            shares[i].ExportY(y);
            Assert.Equal(y, ys.AsSpan(ShamirShare.YLength * i, ShamirShare.YLength).ToArray());
        }

        // The last t holders, in reverse order, through the cache's span overload and its share-object one.
        int[] chosen = [.. xs.Skip(n - t).Reverse()];
        var cache = new LagrangeCache(chosen);
        byte[] gathered = new byte[ShamirShare.YLength * t];
        for (int i = 0; i < t; i++)
        {
            ys.AsSpan(ShamirShare.YLength * Array.IndexOf(xs, chosen[i]), ShamirShare.YLength).CopyTo(gathered.AsSpan(ShamirShare.YLength * i));
        }

        byte[] fromSpan = new byte[32];
        Assert.Equal(ShamirResult.Ok, cache.TryReconstruct(gathered, fromSpan));
        Assert.Equal(secret, fromSpan);
        byte[] fromShares = new byte[32];
        Assert.Equal(ShamirResult.Ok, cache.TryReconstruct(shares.Skip(n - t).ToList(), fromShares));
        Assert.Equal(secret, fromShares);
        byte[] generic = new byte[32];
        Assert.Equal(ShamirResult.Ok, Shamir.TryReconstruct(shares, t, generic));
        Assert.Equal(secret, generic);

        // A y ≥ p is malformed; a tampered y gives another value (or one that is not a secret), never this secret silently.
        gathered[0] = 0x02;
        Assert.Equal(ShamirResult.MalformedShare, cache.TryReconstruct(gathered, fromSpan));
        Assert.All(fromSpan, b => Assert.Equal(0, b));
        Assert.Throws<ArgumentException>(() => cache.TryReconstruct(gathered.AsSpan(1), fromSpan));
        foreach (ShamirShare share in shares)
        {
            share.Dispose();
        }
    }

    private static void Check(BigInteger a, BigInteger b)
    {
        FieldElement ea = Element(a), eb = Element(b);
        Assert.Equal((a + b) % P, Value(FieldElement.Add(ea, eb)));
        Assert.Equal(((a - b) % P + P) % P, Value(FieldElement.Sub(ea, eb)));
        Assert.Equal(a * b % P, Value(FieldElement.Mul(ea, eb)));
        Assert.Equal((P - a) % P, Value(FieldElement.Negate(ea)));
        Assert.Equal(a == b, FieldElement.EqualsConstantTime(ea, eb));
    }

    private static FieldElement Element(BigInteger v)
    {
        byte[] bytes = new byte[33];
        Field.Write(v, bytes);
        Assert.True(FieldElement.TryRead33ConstantTime(bytes, out FieldElement e));
        return e;
    }

    private static BigInteger Value(FieldElement e)
    {
        byte[] bytes = new byte[33];
        e.Write33(bytes);
        BigInteger v = new(bytes, isUnsigned: true, isBigEndian: true);
        Assert.True(v < P);
        return v;
    }

    private static BigInteger Parse(string s) => s switch
    {
        "p" => P,
        "p-1" => P - 1,
        "p-2" => P - 2,
        "2^256" => BigInteger.One << 256,
        "2^256-1" => (BigInteger.One << 256) - 1,
        "2^256+1" => (BigInteger.One << 256) + 1,
        "2^255" => BigInteger.One << 255,
        "2^64-1" => (BigInteger.One << 64) - 1,
        "2^128" => BigInteger.One << 128,
        "2^192+7" => (BigInteger.One << 192) + 7,
        _ => BigInteger.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
    };
}
