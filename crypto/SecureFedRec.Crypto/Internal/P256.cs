using System.Numerics;
using System.Security.Cryptography;

namespace SecureFedRec.Crypto.Internal;

/// <summary>NIST P-256 constants (FIPS 186-4 §D.1.2.3 / SEC 2 §2.4.2) and point/scalar validation with public values.</summary>
internal static class P256Curve
{
    internal static readonly BigInteger Prime = BigInteger.Parse("0FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF", System.Globalization.NumberStyles.HexNumber);
    internal static readonly BigInteger Order = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);
    internal static readonly BigInteger B = BigInteger.Parse("05AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B", System.Globalization.NumberStyles.HexNumber);

    /// <summary>True iff <paramref name="encoded"/> is 0x04 ‖ X ‖ Y with X, Y &lt; p and Y² = X³ − 3X + b (mod p).</summary>
    internal static bool IsValidUncompressedPoint(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != 65 || encoded[0] != 0x04)
        {
            return false;
        }

        var x = new BigInteger(encoded.Slice(1, 32), isUnsigned: true, isBigEndian: true);
        var y = new BigInteger(encoded.Slice(33, 32), isUnsigned: true, isBigEndian: true);
        if (x >= Prime || y >= Prime)
        {
            return false;
        }

        BigInteger lhs = y * y % Prime;
        BigInteger rhs = ((((x * x) % Prime) * x) - (3 * x) + B) % Prime;
        if (rhs.Sign < 0)
        {
            rhs += Prime;
        }

        return lhs == rhs;
    }

    /// <summary>
    /// True iff the 32-byte big-endian scalar is in [1, n−1]. Uses a temporary <see cref="BigInteger"/>, which is immutable
    /// and cannot be wiped; the comparison is also not constant-time. Only used on import and generation, where the rejection
    /// itself reveals at most that a candidate was out of range (probability ≈ 2^-32 for random input).
    /// </summary>
    internal static bool IsValidScalar(ReadOnlySpan<byte> scalar)
    {
        if (scalar.Length != 32)
        {
            return false;
        }

        var d = new BigInteger(scalar, isUnsigned: true, isBigEndian: true);
        return !d.IsZero && d < Order;
    }

    /// <summary>Rejection-samples a scalar in [1, n−1] from <paramref name="rng"/>.</summary>
    internal static void GenerateScalar(RandomSource rng, Span<byte> scalar)
    {
        do
        {
            rng.Fill(scalar);
        }
        while (!IsValidScalar(scalar));
    }

    /// <summary>ECParameters for a private key; <c>D</c> is a fresh array the caller must wipe.</summary>
    internal static ECParameters PrivateParameters(ReadOnlySpan<byte> scalar) => new()
    {
        Curve = ECCurve.NamedCurves.nistP256,
        D = scalar.ToArray(),
    };

    internal static ECParameters PublicParameters(ReadOnlySpan<byte> encoded) => new()
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = encoded.Slice(1, 32).ToArray(), Y = encoded.Slice(33, 32).ToArray() },
    };

    internal static byte[] Encode(ECPoint q)
    {
        byte[] encoded = new byte[65];
        encoded[0] = 0x04;
        q.X!.CopyTo(encoded, 1);
        q.Y!.CopyTo(encoded, 33);
        return encoded;
    }
}
