using System.Numerics;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests;

/// <summary>The Lagrange set-up's public-value arithmetic: the Euclidean inverse against Fermat's, and signed small products.</summary>
public sealed class FieldInverseTests
{
    private static readonly BigInteger P = Field.P;

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    [InlineData("297")]
    [InlineData("p-1")]
    [InlineData("p-2")]
    [InlineData("2^256")]
    [InlineData("2^255")]
    [InlineData("2147483647")]
    public void InversePublic_matches_Fermat_at_the_edges(string value)
    {
        BigInteger a = Parse(value);
        BigInteger inverse = Field.InversePublic(a);
        Assert.Equal(BigInteger.ModPow(a, P - 2, P), inverse);
        Assert.Equal(BigInteger.One, a * inverse % P);
    }

    [Fact]
    public void InversePublic_matches_Fermat_at_random()
    {
        using var rng = DeterministicRandomSource.FromTestSeed(41);
        Span<byte> scratch = stackalloc byte[33];
        for (int i = 0; i < 300; i++)
        {
            BigInteger a = Field.Random(rng, scratch);
            if (a.IsZero)
            {
                continue;
            }

            Assert.Equal(BigInteger.ModPow(a, P - 2, P), Field.InversePublic(a));
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("p")]
    [InlineData("p+1")]
    [InlineData("-1")]
    public void InversePublic_refuses_values_outside_the_units(string value) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Field.InversePublic(Parse(value)));

    [Fact]
    public void BatchInverse_inverts_every_value()
    {
        BigInteger[] values = [1, 2, P - 1, P - 5, 1 << 30, BigInteger.Pow(3, 150) % P];
        BigInteger[] inverses = Field.BatchInverse(values);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(BigInteger.One, values[i] * inverses[i] % P);
        }
    }

    [Theory]
    [InlineData(new uint[] { }, false)]
    [InlineData(new uint[] { }, true)]
    [InlineData(new uint[] { 5 }, true)]
    [InlineData(new uint[] { 0, 7 }, true)]
    [InlineData(new uint[] { uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue }, false)]
    [InlineData(new uint[] { 2147483647, 2147483646, 3, 1, 2147483645, 17, 99999, 2147483647, 12, 2147483600 }, true)]
    public void SmallProduct_matches_BigInteger(uint[] factors, bool negative)
    {
        BigInteger expected = BigInteger.One;
        foreach (uint f in factors)
        {
            expected = expected * f % P;
        }

        if (negative)
        {
            expected = (P - expected) % P;
        }

        Assert.Equal(expected, Field.SmallProduct(factors, negative));
    }

    private static BigInteger Parse(string value) => value switch
    {
        "p" => P,
        "p+1" => P + 1,
        "p-1" => P - 1,
        "p-2" => P - 2,
        "2^256" => BigInteger.One << 256,
        "2^255" => BigInteger.One << 255,
        _ => BigInteger.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
    };
}
