using System.Numerics;
using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto;

/// <summary>
/// Shamir secret sharing (Shamir 1979) of 32-byte secrets over GF(p), p = 2^256 + 297 (prime), so every 256-bit secret is
/// a field element and sharing is lossless.
/// </summary>
/// <remarks>
/// <para>A secret s (32 bytes read big-endian) is the constant term of a uniformly random polynomial f of degree
/// threshold − 1; share i is (x_i, f(x_i)), 1 ≤ x_i &lt; 2^31, y as 33 bytes big-endian. Any <c>threshold</c> shares
/// determine s; fewer reveal nothing about it (every secret is equally consistent with them).</para>
/// <para>Reconstruction uses the first <c>threshold</c> shares and, when more are given, checks that every extra share
/// lies on the same polynomial (<see cref="ShamirResult.InconsistentShares"/> otherwise). Refusals are typed
/// (<see cref="ShamirResult"/>); parameter misuse throws <see cref="ArgumentException"/>.</para>
/// <para>Splitting runs on fixed-width field elements (<c>FieldElement</c>: five limbs, 2^256 ≡ −297 reduction): the
/// coefficients live in a pinned array wiped in <c>finally</c> and nothing is allocated per Horner step. Honest limit on
/// wiping: reconstruction still uses <see cref="BigInteger"/>, which is immutable; its intermediate values cannot be
/// wiped and stay in the managed heap until the GC reuses that memory. Every byte buffer that held a secret or share is
/// wiped in <c>finally</c>.</para>
/// <para>Cost: split O(n·t) and reconstruction O(t²) field operations (O(t) with a cached <see cref="LagrangeCache"/>).
/// Thread-safe.</para>
/// </remarks>
public static class Shamir
{
    /// <summary>Secret length: 32 bytes.</summary>
    public const int SecretLength = 32;

    /// <summary>Largest number of shares per split.</summary>
    public const int MaxShares = 1 << 20;

    /// <summary>Splits <paramref name="secret32"/> into one share per x in <paramref name="xs"/>.</summary>
    /// <exception cref="ArgumentException">Secret not 32 bytes; an x outside [1, 2^31) or repeated.</exception>
    /// <exception cref="ArgumentOutOfRangeException">threshold outside [1, xs.Length].</exception>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret32, int threshold, ReadOnlySpan<int> xs, RandomSource? rng = null)
    {
        if (secret32.Length != SecretLength)
        {
            throw new ArgumentException("Shamir shares 32-byte secrets.", nameof(secret32));
        }

        if (xs.Length is < 1 or > MaxShares)
        {
            throw new ArgumentException($"Between 1 and {MaxShares} shares.", nameof(xs));
        }

        if (threshold < 1 || threshold > xs.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be in [1, number of shares].");
        }

        CheckIndices(xs, nameof(xs));
        rng ??= RandomSource.System;

        // Coefficients as fixed-width field elements (pinned, wiped in finally); the draw is Field.Random's: 33 bytes, top
        // byte masked to one bit, rejected when ≥ p, so the randomness consumed (and every vector) is unchanged.
        FieldElement[] coefficients = GC.AllocateArray<FieldElement>(threshold, pinned: true);
        Span<byte> draw = stackalloc byte[33];
        var shares = new ShamirShare[xs.Length];
        try
        {
            FieldElement.TryRead(secret32, out coefficients[0]);
            for (int i = 1; i < threshold; i++)
            {
                do
                {
                    rng.Fill(draw);
                    draw[0] &= 0x01;
                }
                while (!FieldElement.TryRead(draw, out coefficients[i]));
            }

            for (int s = 0; s < xs.Length; s++)
            {
                uint x = (uint)xs[s];
                FieldElement y = coefficients[threshold - 1];
                for (int i = threshold - 2; i >= 0; i--)
                {
                    y = FieldElement.MulSmallAdd(y, x, coefficients[i]);
                }

                var holder = new PinnedSecret(ShamirShare.YLength);
                y.Write33(holder.Array(holder));
                shares[s] = new ShamirShare(xs[s], holder);
                y = default;
            }

            return shares;
        }
        catch
        {
            foreach (ShamirShare? share in shares)
            {
                share?.Dispose();
            }

            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(draw);
            CryptographicOperations.ZeroMemory(System.Runtime.InteropServices.MemoryMarshal.AsBytes(coefficients.AsSpan()));
        }
    }

    /// <summary>Splits a secret held in a <see cref="SecretBytes"/> (32 bytes).</summary>
    public static ShamirShare[] Split(SecretBytes secret, int threshold, ReadOnlySpan<int> xs, RandomSource? rng = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Split(secret.Span, threshold, xs, rng);
    }

    /// <summary>Reconstructs the secret into <paramref name="secret32"/> (wiped unless the result is <see cref="ShamirResult.Ok"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">threshold &lt; 1.</exception>
    /// <exception cref="ArgumentException">secret32 is not 32 bytes.</exception>
    /// <exception cref="ObjectDisposedException">A share was disposed.</exception>
    public static ShamirResult TryReconstruct(IReadOnlyList<ShamirShare> shares, int threshold, Span<byte> secret32)
    {
        ArgumentNullException.ThrowIfNull(shares);
        if (threshold < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be at least 1.");
        }

        if (secret32.Length != SecretLength)
        {
            throw new ArgumentException("The output must be 32 bytes.", nameof(secret32));
        }

        CryptographicOperations.ZeroMemory(secret32);
        ShamirResult check = Validate(shares, out BigInteger[] ys);
        if (check != ShamirResult.Ok)
        {
            return check;
        }

        if (shares.Count < threshold)
        {
            return ShamirResult.TooFewShares;
        }

        var xs = new int[threshold];
        for (int i = 0; i < threshold; i++)
        {
            xs[i] = shares[i].X;
        }

        var cache = new LagrangeCache(xs);
        var first = ys.AsSpan(0, threshold);
        for (int j = threshold; j < shares.Count; j++)
        {
            if (cache.EvaluateAt(first, shares[j].X) != ys[j])
            {
                return ShamirResult.InconsistentShares;
            }
        }

        return Field.WriteSecret(cache.InterpolateAtZero(first), secret32);
    }

    internal static ShamirResult Validate(IReadOnlyList<ShamirShare> shares, out BigInteger[] ys)
    {
        ys = new BigInteger[shares.Count];
        var seen = new HashSet<int>();
        for (int i = 0; i < shares.Count; i++)
        {
            ShamirShare share = shares[i] ?? throw new ArgumentException("A share is null.", nameof(shares));
            ObjectDisposedException.ThrowIf(share.IsDisposed, share);
            if (share.X < 1)
            {
                return ShamirResult.IndexOutOfRange;
            }

            if (!seen.Add(share.X))
            {
                return ShamirResult.DuplicateIndex;
            }

            var y = new BigInteger(share.Y, isUnsigned: true, isBigEndian: true);
            if (y >= Field.P)
            {
                return ShamirResult.MalformedShare;
            }

            ys[i] = y;
        }

        return ShamirResult.Ok;
    }

    internal static void CheckIndices(ReadOnlySpan<int> xs, string name)
    {
        var seen = new HashSet<int>();
        foreach (int x in xs)
        {
            if (x < 1)
            {
                throw new ArgumentException("Every x must be in [1, 2^31).", name);
            }

            if (!seen.Add(x))
            {
                throw new ArgumentException("The x values must be distinct.", name);
            }
        }
    }
}

/// <summary>
/// Lagrange interpolation data for one fixed set of x values (barycentric weights, Berrut–Trefethen 2004), so that
/// many secrets shared over the same participants are reconstructed in O(t) each.
/// </summary>
/// <remarks>Field GF(2^256 + 297). Construction O(t²) small-integer products plus one batch inversion, which is variable
/// time: it only ever sees functions of the x set, which are public. Immutable after construction and thread-safe. The
/// cache holds only public values (the x set).</remarks>
public sealed class LagrangeCache
{
    private readonly int[] _xs;
    private readonly Dictionary<int, int> _position;
    private readonly BigInteger[] _weights;
    private readonly BigInteger[] _atZero;

    /// <summary>Precomputes for the x set <paramref name="xs"/> (threshold = xs.Length).</summary>
    /// <exception cref="ArgumentException">Empty, an x outside [1, 2^31), or repeated x.</exception>
    public LagrangeCache(ReadOnlySpan<int> xs)
    {
        if (xs.Length is < 1 or > Shamir.MaxShares)
        {
            throw new ArgumentException($"Between 1 and {Shamir.MaxShares} indices.", nameof(xs));
        }

        Shamir.CheckIndices(xs, nameof(xs));
        _xs = xs.ToArray();
        _position = new Dictionary<int, int>(_xs.Length);
        for (int i = 0; i < _xs.Length; i++)
        {
            _position[_xs[i]] = i;
        }

        // w_i = 1 / Π_{m≠i} (x_i − x_m) and λ_i(0) = Π_{m≠i} (0 − x_m) / (x_i − x_m) = w_i · (−1)^(t−1) · Π_{m≠i} x_m.
        // Every factor is below 2^31, so the products run on small multiplications (Field.SmallProduct) and the whole
        // set-up costs one (public, variable-time) inversion: the x set is public.
        int t = _xs.Length;
        var denominators = new BigInteger[t];
        Span<uint> factors = t <= 256 ? stackalloc uint[t] : new uint[t];
        for (int i = 0; i < t; i++)
        {
            int count = 0;
            bool negative = false;
            long xi = _xs[i];
            for (int m = 0; m < t; m++)
            {
                if (m != i)
                {
                    long difference = xi - _xs[m];
                    negative ^= difference < 0;
                    factors[count++] = (uint)Math.Abs(difference);
                }
            }

            denominators[i] = Field.SmallProduct(factors[..count], negative);
        }

        _weights = Field.BatchInverse(denominators);
        _atZero = new BigInteger[t];
        for (int i = 0; i < t; i++)
        {
            int count = 0;
            for (int m = 0; m < t; m++)
            {
                if (m != i)
                {
                    factors[count++] = (uint)_xs[m];
                }
            }

            _atZero[i] = _weights[i] * Field.SmallProduct(factors[..count], negative: (t - 1) % 2 == 1) % Field.P;
        }
    }

    /// <summary>The number of shares this cache reconstructs from.</summary>
    public int Threshold => _xs.Length;

    /// <summary>Reconstructs from exactly the cache's x set (any order).</summary>
    /// <exception cref="ArgumentException">secret32 is not 32 bytes.</exception>
    /// <exception cref="ObjectDisposedException">A share was disposed.</exception>
    public ShamirResult TryReconstruct(IReadOnlyList<ShamirShare> shares, Span<byte> secret32)
    {
        ArgumentNullException.ThrowIfNull(shares);
        if (secret32.Length != Shamir.SecretLength)
        {
            throw new ArgumentException("The output must be 32 bytes.", nameof(secret32));
        }

        CryptographicOperations.ZeroMemory(secret32);
        ShamirResult check = Shamir.Validate(shares, out BigInteger[] ys);
        if (check != ShamirResult.Ok)
        {
            return check;
        }

        if (shares.Count < Threshold)
        {
            return ShamirResult.TooFewShares;
        }

        var ordered = new BigInteger[Threshold];
        for (int i = 0; i < shares.Count; i++)
        {
            if (!_position.TryGetValue(shares[i].X, out int p))
            {
                return ShamirResult.IndexOutOfRange;
            }

            ordered[p] = ys[i];
        }

        return Field.WriteSecret(InterpolateAtZero(ordered), secret32);
    }

    internal BigInteger InterpolateAtZero(ReadOnlySpan<BigInteger> ys)
    {
        BigInteger sum = BigInteger.Zero;
        for (int i = 0; i < ys.Length; i++)
        {
            sum += ys[i] * _atZero[i];
        }

        return sum % Field.P;
    }

    /// <summary>f(z) for z outside the x set (barycentric form); z inside the set returns that share's y.</summary>
    internal BigInteger EvaluateAt(ReadOnlySpan<BigInteger> ys, int z)
    {
        if (_position.TryGetValue(z, out int p))
        {
            return ys[p];
        }

        int t = _xs.Length;
        var diffs = new BigInteger[t];
        BigInteger l = BigInteger.One;
        for (int m = 0; m < t; m++)
        {
            long d = (long)z - _xs[m];
            diffs[m] = d < 0 ? Field.P + d : d;
            l = l * diffs[m] % Field.P;
        }

        BigInteger[] inv = Field.BatchInverse(diffs);
        BigInteger sum = BigInteger.Zero;
        for (int i = 0; i < t; i++)
        {
            sum = (sum + (_weights[i] * ys[i] % Field.P * inv[i])) % Field.P;
        }

        return l * sum % Field.P;
    }
}
