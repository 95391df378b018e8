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

    /// <summary>Montgomery's batch inversion: all inverses for one exponentiation. Inputs are non-zero mod p.</summary>
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

        BigInteger inv = BigInteger.ModPow(acc, P - 2, P);
        var result = new BigInteger[n];
        for (int i = n - 1; i >= 0; i--)
        {
            result[i] = inv * prefix[i] % P;
            inv = inv * values[i] % P;
        }

        return result;
    }
}
