using SecureFedRec.Crypto;

namespace SecureFedRec.Privacy.Mechanism;

/// <summary>
/// Randomized Hadamard rotation x ↦ H·S·x / √D (Kairouz, Liu, Steinke 2021, §4.2; Suresh et al. 2017): S is a diagonal
/// of random signs drawn from a DRBG keyed by the round's public seed, H the Walsh–Hadamard matrix of size D (a power
/// of two). The transform is orthogonal, so norms are preserved and the inverse is S·H·y / √D. Sign derivation: key =
/// HKDF-SHA256(ikm = round seed (32 bytes), salt = empty, info = DomainLabel "dp-rotation" ‖ u32 D), then
/// <see cref="DeterministicRandomSource"/>(key) fills D/8 bytes (at least 1), and coordinate i gets −1 when bit (i mod 8)
/// of byte i/8 is set. Stateless and thread-safe; the seed is public, the key is wiped anyway.
/// </summary>
internal static class HadamardRotation
{
    public const int SeedLength = 32;

    /// <summary>Fills <paramref name="signs"/> (length D) with ±1 derived from the public round seed.</summary>
    public static void DeriveSigns(ReadOnlySpan<byte> roundSeed, Span<sbyte> signs)
    {
        if (roundSeed.Length != SeedLength)
        {
            throw new ArgumentException($"The rotation seed must be {SeedLength} bytes; found {roundSeed.Length}.", nameof(roundSeed));
        }

        var size = signs.Length;
        Span<byte> key = stackalloc byte[32];
        var bits = new byte[Math.Max(1, (size + 7) / 8)];
        try
        {
            Hkdf.DeriveKey(roundSeed, ReadOnlySpan<byte>.Empty, DomainLabel.For("dp-rotation").Add((uint)size), key);
            using var drbg = new DeterministicRandomSource(key);
            drbg.Fill(bits);
            for (var i = 0; i < size; i++)
            {
                signs[i] = (sbyte)(((bits[i >> 3] >> (i & 7)) & 1) == 1 ? -1 : 1);
            }
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>In-place unnormalised fast Walsh–Hadamard transform; length must be a power of two.</summary>
    public static void Transform(Span<double> v)
    {
        var n = v.Length;
        if (n == 0 || (n & (n - 1)) != 0)
        {
            throw new ArgumentException($"Walsh–Hadamard length must be a power of two; found {n}.", nameof(v));
        }

        for (var h = 1; h < n; h <<= 1)
        {
            for (var i = 0; i < n; i += h << 1)
            {
                for (var j = i; j < i + h; j++)
                {
                    var a = v[j];
                    var b = v[j + h];
                    v[j] = a + b;
                    v[j + h] = a - b;
                }
            }
        }
    }

    /// <summary>y = H·S·pad(x)/√D into <paramref name="output"/> (length D ≥ x.Length, a power of two).</summary>
    public static void Forward(ReadOnlySpan<double> x, ReadOnlySpan<sbyte> signs, Span<double> output)
    {
        output.Clear();
        for (var i = 0; i < x.Length; i++)
        {
            output[i] = x[i] * signs[i];
        }

        Transform(output);
        var scale = 1.0 / Math.Sqrt(output.Length);
        for (var i = 0; i < output.Length; i++)
        {
            output[i] *= scale;
        }
    }

    /// <summary>x = S·H·y/√D, in place (length D).</summary>
    public static void Inverse(Span<double> y, ReadOnlySpan<sbyte> signs)
    {
        Transform(y);
        var scale = 1.0 / Math.Sqrt(y.Length);
        for (var i = 0; i < y.Length; i++)
        {
            y[i] *= scale * signs[i];
        }
    }
}
