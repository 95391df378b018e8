using System.Numerics;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests;

/// <summary>The split's fixed-width GF(2^256 + 297) arithmetic against <see cref="BigInteger"/>, at the edges and at random.</summary>
public sealed class FieldElementTests
{
    private static readonly BigInteger P = Field.P;

    public static TheoryData<string, string, uint> EdgeCases()
    {
        string[] values = ["0", "1", "296", "p-1", "2^256", "2^256-1", "2^256+296", "2^255", "2^64-1"];
        uint[] xs = [0, 1, 2, 297, int.MaxValue, uint.MaxValue];
        var data = new TheoryData<string, string, uint>();
        foreach (string y in values)
        {
            foreach (uint x in xs)
            {
                data.Add(y, values[(Array.IndexOf(values, y) + (int)(x % 7)) % values.Length], x);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EdgeCases))]
    public void MulSmallAdd_matches_BigInteger_at_the_edges(string y, string c, uint x) => Check(Parse(y), Parse(c), x);

    [Fact]
    public void MulSmallAdd_matches_BigInteger_at_random()
    {
        using var rng = DeterministicRandomSource.FromTestSeed(99);
        Span<byte> scratch = stackalloc byte[33];
        for (int i = 0; i < 2000; i++)
        {
            Check(Field.Random(rng, scratch), Field.Random(rng, scratch), rng.NextUInt32());
        }
    }

    [Theory]
    [InlineData("p", false)]
    [InlineData("p-1", true)]
    [InlineData("2^256", true)]
    [InlineData("2^257-1", false)]
    public void Reading_refuses_values_at_or_above_p(string value, bool expected)
    {
        BigInteger v = Parse(value);
        byte[] bytes = new byte[33];
        Field.Write(v & ((BigInteger.One << 264) - 1), bytes);
        if (v >= BigInteger.One << 257)
        {
            bytes[0] = 0x02; // a top byte above 1 is never a field element
        }

        Assert.Equal(expected, FieldElement.TryRead(bytes, out _));
    }

    private static void Check(BigInteger y, BigInteger c, uint x)
    {
        Assert.True(FieldElement.TryRead(Bytes(y), out FieldElement fy));
        Assert.True(FieldElement.TryRead(Bytes(c), out FieldElement fc));
        byte[] result = new byte[33];
        FieldElement.MulSmallAdd(fy, x, fc).Write33(result);
        Assert.Equal(((y * x) + c) % P, new BigInteger(result, isUnsigned: true, isBigEndian: true));
    }

    private static byte[] Bytes(BigInteger v)
    {
        byte[] b = new byte[33];
        Field.Write(v, b);
        return b;
    }

    private static BigInteger Parse(string s) => s switch
    {
        "p" => P,
        "p-1" => P - 1,
        "2^256" => BigInteger.One << 256,
        "2^256-1" => (BigInteger.One << 256) - 1,
        "2^256+296" => (BigInteger.One << 256) + 296,
        "2^255" => BigInteger.One << 255,
        "2^64-1" => ulong.MaxValue,
        "2^257-1" => (BigInteger.One << 257) - 1,
        _ => BigInteger.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
    };
}
