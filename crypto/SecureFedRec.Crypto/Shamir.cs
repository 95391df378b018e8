using System.Runtime.InteropServices;
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
/// <para>Both directions run on fixed-width field elements (<c>FieldElement</c>: five limbs, 2^256 ≡ −297 reduction,
/// constant time: no data-dependent branch or index on a share or a secret). The coefficients and the share values being
/// combined live on the stack (or, past <see cref="StackLimit"/> elements, in a pinned array) and are wiped in
/// <c>finally</c>; nothing is allocated per field operation, and the span overloads
/// (<see cref="SplitInto"/>, <see cref="LagrangeCache.TryReconstruct(ReadOnlySpan{byte}, Span{byte})"/>) allocate nothing
/// at all for thresholds up to <see cref="StackLimit"/>. Honest limit on wiping: copies of field elements the JIT keeps in
/// registers or spills to the stack frame are not wiped explicitly. Every byte buffer that held a secret or share is
/// wiped in <c>finally</c>. (Up to session 7 reconstruction used <see cref="System.Numerics.BigInteger"/>: immutable,
/// unwipeable, and ≈ 50 KiB of garbage per Lagrange set-up.)</para>
/// <para>Cost: split O(n·t) and reconstruction O(t²) field operations (O(t) with a cached <see cref="LagrangeCache"/>).
/// Thread-safe.</para>
/// </remarks>
public static class Shamir
{
    /// <summary>Secret length: 32 bytes.</summary>
    public const int SecretLength = 32;

    /// <summary>Largest number of shares per split.</summary>
    public const int MaxShares = 1 << 20;

    /// <summary>Thresholds (and index counts) up to this many elements are handled on the stack, without allocation.</summary>
    public const int StackLimit = 64;

    /// <summary>Splits <paramref name="secret32"/> into one share per x in <paramref name="xs"/>.</summary>
    /// <exception cref="ArgumentException">Secret not 32 bytes; an x outside [1, 2^31) or repeated.</exception>
    /// <exception cref="ArgumentOutOfRangeException">threshold outside [1, xs.Length].</exception>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret32, int threshold, ReadOnlySpan<int> xs, RandomSource? rng = null)
    {
        CheckSplit(secret32, threshold, xs);
        int length = ShamirShare.YLength * xs.Length;
        byte[]? pinned = xs.Length > StackLimit ? GC.AllocateArray<byte>(length, pinned: true) : null;
        Span<byte> ys = pinned is not null ? pinned : stackalloc byte[ShamirShare.YLength * StackLimit];
        ys = ys[..length];
        var shares = new ShamirShare[xs.Length];
        try
        {
            SplitCore(secret32, threshold, xs, ys, rng);
            for (int s = 0; s < xs.Length; s++)
            {
                shares[s] = ShamirShare.Import(xs[s], ys.Slice(ShamirShare.YLength * s, ShamirShare.YLength));
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
            CryptographicOperations.ZeroMemory(ys);
        }
    }

    /// <summary>Splits a secret held in a <see cref="SecretBytes"/> (32 bytes).</summary>
    public static ShamirShare[] Split(SecretBytes secret, int threshold, ReadOnlySpan<int> xs, RandomSource? rng = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Split(secret.Span, threshold, xs, rng);
    }

    /// <summary>
    /// Splits <paramref name="secret32"/> like <see cref="Split(ReadOnlySpan{byte}, int, ReadOnlySpan{int}, RandomSource?)"/>
    /// (the same randomness consumed in the same order, so the same shares for the same draws), writing share s's y value
    /// (33 bytes, big-endian) to <paramref name="ys"/>[33·s … 33·s + 32]. Allocates nothing when threshold and xs.Length
    /// are at most <see cref="StackLimit"/>. The caller owns (and wipes) <paramref name="ys"/>; on an exception it is wiped.
    /// </summary>
    /// <exception cref="ArgumentException">Secret not 32 bytes; ys not 33·xs.Length bytes; an x outside [1, 2^31) or repeated.</exception>
    /// <exception cref="ArgumentOutOfRangeException">threshold outside [1, xs.Length].</exception>
    public static void SplitInto(ReadOnlySpan<byte> secret32, int threshold, ReadOnlySpan<int> xs, Span<byte> ys, RandomSource? rng = null)
    {
        CheckSplit(secret32, threshold, xs);
        if (ys.Length != (long)ShamirShare.YLength * xs.Length)
        {
            throw new ArgumentException($"The output must be {ShamirShare.YLength} bytes per share.", nameof(ys));
        }

        try
        {
            SplitCore(secret32, threshold, xs, ys, rng);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(ys);
            throw;
        }
    }

    private static void CheckSplit(ReadOnlySpan<byte> secret32, int threshold, ReadOnlySpan<int> xs)
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
    }

    /// <summary>
    /// Draws the coefficients and evaluates f at every x by Horner's rule. The draw is Field.Random's: 33 bytes, top byte
    /// masked to one bit, rejected when ≥ p, so the randomness consumed (and every vector) is that of every earlier version.
    /// </summary>
    private static void SplitCore(ReadOnlySpan<byte> secret32, int threshold, ReadOnlySpan<int> xs, Span<byte> ys, RandomSource? rng)
    {
        rng ??= RandomSource.System;
        FieldElement[]? pinned = threshold > StackLimit ? GC.AllocateArray<FieldElement>(threshold, pinned: true) : null;
        Span<FieldElement> coefficients = pinned is not null ? pinned : stackalloc FieldElement[StackLimit];
        coefficients = coefficients[..threshold];
        Span<byte> draw = stackalloc byte[33];
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

                y.Write33(ys.Slice(ShamirShare.YLength * s, ShamirShare.YLength));
                y = default;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(draw);
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(coefficients));
        }
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
        int count = shares.Count;
        FieldElement[]? pinned = count > StackLimit ? GC.AllocateArray<FieldElement>(count, pinned: true) : null;
        Span<FieldElement> ys = pinned is not null ? pinned : stackalloc FieldElement[StackLimit];
        ys = ys[..count];
        try
        {
            ShamirResult check = Validate(shares, ys);
            if (check != ShamirResult.Ok)
            {
                return check;
            }

            if (count < threshold)
            {
                return ShamirResult.TooFewShares;
            }

            int[]? xsArray = threshold > StackLimit ? new int[threshold] : null;
            Span<int> xs = xsArray is not null ? xsArray : stackalloc int[StackLimit];
            xs = xs[..threshold];
            for (int i = 0; i < threshold; i++)
            {
                xs[i] = shares[i].X;
            }

            var cache = new LagrangeCache(xs);
            ReadOnlySpan<FieldElement> first = ys[..threshold];
            for (int j = threshold; j < count; j++)
            {
                if (!FieldElement.EqualsConstantTime(cache.EvaluateAt(first, shares[j].X), ys[j]))
                {
                    return ShamirResult.InconsistentShares;
                }
            }

            return WriteSecret(cache.InterpolateAtZero(first), secret32);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(ys));
        }
    }

    /// <summary>Checks every share (x ≥ 1, distinct, y &lt; p) and reads the y values into <paramref name="ys"/> (same order).</summary>
    internal static ShamirResult Validate(IReadOnlyList<ShamirShare> shares, Span<FieldElement> ys)
    {
        HashSet<int>? seen = shares.Count > StackLimit ? new HashSet<int>(shares.Count) : null;
        for (int i = 0; i < shares.Count; i++)
        {
            ShamirShare share = shares[i] ?? throw new ArgumentException("A share is null.", nameof(shares));
            ObjectDisposedException.ThrowIf(share.IsDisposed, share);
            if (share.X < 1)
            {
                return ShamirResult.IndexOutOfRange;
            }

            // The x values are public: a quadratic scan for small sets, a set otherwise.
            if (seen is not null ? !seen.Add(share.X) : IndexOf(shares, i, share.X))
            {
                return ShamirResult.DuplicateIndex;
            }

            // The same order of checks as ever (the first failing share decides); the read itself has no branch on y.
            if (!FieldElement.TryRead33ConstantTime(share.Y, out ys[i]))
            {
                return ShamirResult.MalformedShare;
            }
        }

        return ShamirResult.Ok;

        static bool IndexOf(IReadOnlyList<ShamirShare> list, int before, int x)
        {
            for (int j = 0; j < before; j++)
            {
                if (list[j].X == x)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Writes a reconstructed value as the secret, or refuses one ≥ 2^256 (tampered shares; the output is wiped).</summary>
    internal static ShamirResult WriteSecret(in FieldElement value, Span<byte> secret32)
    {
        // Whether the value is a secret is the (public) outcome; the bytes are written without a branch on them.
        if (!value.IsBelow2To256)
        {
            CryptographicOperations.ZeroMemory(secret32);
            return ShamirResult.NotASecret;
        }

        value.Write32(secret32);
        return ShamirResult.Ok;
    }

    internal static void CheckIndices(ReadOnlySpan<int> xs, string name)
    {
        if (xs.Length <= StackLimit)
        {
            for (int i = 0; i < xs.Length; i++)
            {
                if (xs[i] < 1)
                {
                    throw new ArgumentException("Every x must be in [1, 2^31).", name);
                }

                if (xs[..i].Contains(xs[i]))
                {
                    throw new ArgumentException("The x values must be distinct.", name);
                }
            }

            return;
        }

        var seen = new HashSet<int>(xs.Length);
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
/// <remarks>Field GF(2^256 + 297), fixed-width arithmetic. Construction O(t²) small-integer products plus one batch
/// inversion (Fermat, on public values: it only ever sees functions of the x set). Reconstruction is constant time in the
/// share values. Immutable after construction and thread-safe. The cache holds only public values (the x set).</remarks>
public sealed class LagrangeCache
{
    private readonly int[] _xs;
    private readonly FieldElement[] _weights;
    private readonly FieldElement[] _atZero;
    private Dictionary<int, int>? _position;

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

        // w_i = 1 / Π_{m≠i} (x_i − x_m) and λ_i(0) = Π_{m≠i} (0 − x_m) / (x_i − x_m) = w_i · (−1)^(t−1) · Π_{m≠i} x_m.
        // Every factor is below 2^31, so the products run on small multiplications (FieldElement.SmallProduct) and the
        // whole set-up costs one (public) inversion: the x set is public.
        int t = _xs.Length;
        _weights = new FieldElement[t];
        uint[]? factorArray = t > 256 ? new uint[t] : null;
        Span<uint> factors = factorArray is not null ? factorArray : stackalloc uint[256];
        factors = factors[..t];
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

            _weights[i] = FieldElement.SmallProduct(factors[..count], negative);
        }

        BatchInverse(_weights);
        _atZero = new FieldElement[t];
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

            _atZero[i] = FieldElement.Mul(_weights[i], FieldElement.SmallProduct(factors[..count], negative: (t - 1) % 2 == 1));
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
        int count = shares.Count;
        int t = Threshold;
        FieldElement[]? pinned = Math.Max(count, t) > Shamir.StackLimit ? GC.AllocateArray<FieldElement>(count + t, pinned: true) : null;
        Span<FieldElement> buffer = pinned is not null ? pinned : stackalloc FieldElement[2 * Shamir.StackLimit];
        Span<FieldElement> ys = buffer[..count];
        Span<FieldElement> ordered = buffer.Slice(count, t);
        try
        {
            ShamirResult check = Shamir.Validate(shares, ys);
            if (check != ShamirResult.Ok)
            {
                return check;
            }

            if (count < t)
            {
                return ShamirResult.TooFewShares;
            }

            for (int i = 0; i < count; i++)
            {
                int p = PositionOf(shares[i].X);
                if (p < 0)
                {
                    return ShamirResult.IndexOutOfRange;
                }

                ordered[p] = ys[i];
            }

            return Shamir.WriteSecret(InterpolateAtZero(ordered), secret32);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(buffer[..(count + t)]));
        }
    }

    /// <summary>
    /// Reconstructs from raw y values, for a holder of received shares as bytes (the coordinator): <paramref name="ys"/>
    /// holds the y value (33 bytes, big-endian) of the share of each x of the cache, in the order the x set was given to
    /// the constructor. Allocates nothing for thresholds up to <see cref="Shamir.StackLimit"/>; the caller wipes
    /// <paramref name="ys"/>. The result is that of <see cref="TryReconstruct(IReadOnlyList{ShamirShare}, Span{byte})"/>
    /// with the same shares.
    /// </summary>
    /// <returns><see cref="ShamirResult.Ok"/>, <see cref="ShamirResult.MalformedShare"/> (a y ≥ p) or
    /// <see cref="ShamirResult.NotASecret"/>; <paramref name="secret32"/> is wiped unless Ok.</returns>
    /// <exception cref="ArgumentException">secret32 is not 32 bytes, or ys is not 33·<see cref="Threshold"/> bytes.</exception>
    public ShamirResult TryReconstruct(ReadOnlySpan<byte> ys, Span<byte> secret32)
    {
        if (secret32.Length != Shamir.SecretLength)
        {
            throw new ArgumentException("The output must be 32 bytes.", nameof(secret32));
        }

        int t = Threshold;
        if (ys.Length != (long)ShamirShare.YLength * t)
        {
            throw new ArgumentException($"The input must be {ShamirShare.YLength} bytes per share of the x set.", nameof(ys));
        }

        CryptographicOperations.ZeroMemory(secret32);
        FieldElement[]? pinned = t > Shamir.StackLimit ? GC.AllocateArray<FieldElement>(t, pinned: true) : null;
        Span<FieldElement> values = pinned is not null ? pinned : stackalloc FieldElement[Shamir.StackLimit];
        values = values[..t];
        try
        {
            bool malformed = false;
            for (int i = 0; i < t; i++)
            {
                malformed |= !FieldElement.TryRead33ConstantTime(ys.Slice(ShamirShare.YLength * i, ShamirShare.YLength), out values[i]);
            }

            return malformed ? ShamirResult.MalformedShare : Shamir.WriteSecret(InterpolateAtZero(values), secret32);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(values));
        }
    }

    /// <summary>f(0) = Σ y_i · λ_i(0) (constant time in the y values).</summary>
    internal FieldElement InterpolateAtZero(ReadOnlySpan<FieldElement> ys)
    {
        FieldElement sum = default;
        for (int i = 0; i < ys.Length; i++)
        {
            sum = FieldElement.Add(sum, FieldElement.Mul(ys[i], _atZero[i]));
        }

        return sum;
    }

    /// <summary>f(z) for z outside the x set (barycentric form); z inside the set returns that share's y.</summary>
    internal FieldElement EvaluateAt(ReadOnlySpan<FieldElement> ys, int z)
    {
        int p = PositionOf(z);
        if (p >= 0)
        {
            return ys[p];
        }

        // f(z) = l(z) · Σ w_i · y_i / (z − x_i), l(z) = Π (z − x_m): the differences are public (z and the x set).
        int t = _xs.Length;
        FieldElement[]? array = t > Shamir.StackLimit ? new FieldElement[t] : null;
        Span<FieldElement> inv = array is not null ? array : stackalloc FieldElement[Shamir.StackLimit];
        inv = inv[..t];
        FieldElement l = FieldElement.One;
        for (int m = 0; m < t; m++)
        {
            long d = (long)z - _xs[m];
            var magnitude = new FieldElement { L0 = (ulong)Math.Abs(d) };
            FieldElement difference = d < 0 ? FieldElement.Negate(magnitude) : magnitude;
            inv[m] = difference;
            l = FieldElement.Mul(l, difference);
        }

        BatchInverse(inv);
        FieldElement sum = default;
        for (int i = 0; i < t; i++)
        {
            sum = FieldElement.Add(sum, FieldElement.Mul(FieldElement.Mul(_weights[i], ys[i]), inv[i]));
        }

        return FieldElement.Mul(l, sum);
    }

    /// <summary>The position of x in the x set, or −1 (public values: a scan for small sets, a dictionary otherwise).</summary>
    private int PositionOf(int x)
    {
        if (_xs.Length <= Shamir.StackLimit)
        {
            return Array.IndexOf(_xs, x);
        }

        Dictionary<int, int> position = _position ?? BuildPositions();
        return position.TryGetValue(x, out int p) ? p : -1;
    }

    private Dictionary<int, int> BuildPositions()
    {
        var position = new Dictionary<int, int>(_xs.Length);
        for (int i = 0; i < _xs.Length; i++)
        {
            position[_xs[i]] = i;
        }

        Interlocked.CompareExchange(ref _position, position, null);
        return _position!;
    }

    /// <summary>
    /// Montgomery's batch inversion in place: every value replaced by its inverse for one inversion. Inputs are non-zero
    /// and PUBLIC (functions of the x set or an evaluation point, never of a share or a secret).
    /// </summary>
    private static void BatchInverse(Span<FieldElement> values)
    {
        int n = values.Length;
        FieldElement[]? array = n > Shamir.StackLimit ? new FieldElement[n] : null;
        Span<FieldElement> prefix = array is not null ? array : stackalloc FieldElement[Shamir.StackLimit];
        prefix = prefix[..n];
        FieldElement acc = FieldElement.One;
        for (int i = 0; i < n; i++)
        {
            prefix[i] = acc;
            acc = FieldElement.Mul(acc, values[i]);
        }

        FieldElement inv = FieldElement.InversePublic(acc);
        for (int i = n - 1; i >= 0; i--)
        {
            FieldElement value = values[i];
            values[i] = FieldElement.Mul(inv, prefix[i]);
            inv = FieldElement.Mul(inv, value);
        }
    }
}
