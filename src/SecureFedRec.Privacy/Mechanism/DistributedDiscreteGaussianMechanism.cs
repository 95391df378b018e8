using System.Buffers;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Accounting;

namespace SecureFedRec.Privacy.Mechanism;

/// <summary>
/// The distributed discrete Gaussian mechanism (Kairouz, Liu, Steinke, ICML 2021, Alg. 1 and 2) for one round.
/// <para>Client (<see cref="Encode"/>): flatten, L2-clip to c (<see cref="EncodeSilo"/> first clips each user to the
/// user clip, sums, then clips the silo's total to c), randomized Hadamard rotation with the public round seed
/// (<see cref="HadamardRotation"/>), scale by 1/γ, conditional randomized rounding (retry until ‖r‖₂ ≤ Δ₂', at most
/// <see cref="MaxRoundingAttempts"/> tries), add exact discrete Gaussian noise N_Z(0, σ²) per coordinate
/// (<see cref="DiscreteGaussian"/>, Canonne–Kamath–Steinke 2020), wrap into Z_{2^b}. Output length is the padded
/// dimension D (power of two ≥ d).</para>
/// <para>Coordinator (<see cref="Decode"/>): centre the sum mod 2^b into [−2^(b−1), 2^(b−1)), check every coordinate
/// and the norm against high-probability bounds for m honest contributions, and only then unscale by γ and rotate back;
/// a wrapped sum is reported as a <see cref="DecodeFailure"/>, never returned. When the honest high-probability range
/// itself does not fit into [−2^(b−1), 2^(b−1)) (parameters not made by <see cref="DistributedDpPlanner"/>), nothing can be
/// told apart and the sum is withheld (<see cref="DecodeFailure.ModulusTooSmallForParameters"/>).</para>
/// Randomness: rounding and noise come from the injected <see cref="RandomSource"/> (null ⇒ <see cref="RandomSource.System"/>).
/// Thread-safe (no mutable state); every intermediate of an encode (clipped update, rotation, rounding, noise) is wiped after use.
/// </summary>
public sealed class DistributedDiscreteGaussianMechanism
{
    /// <summary>Attempts of conditional randomized rounding before <see cref="EncodeFailure.RoundingDidNotConverge"/>.</summary>
    public const int MaxRoundingAttempts = 1000;

    /// <summary>Probability, per decoded round, that honest inputs trip the coordinate or norm check (each).</summary>
    public const double DetectionFalseAlarm = 1e-6;

    private readonly MechanismParameters _p;
    private readonly double _roundedBound;

    /// <summary>Creates the mechanism for validated <paramref name="parameters"/>.</summary>
    public DistributedDiscreteGaussianMechanism(MechanismParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        _p = parameters;
        _roundedBound = DistributedDiscreteGaussianAccountant.RoundedL2Bound(parameters.Clip / parameters.Gamma, parameters.Beta, parameters.PaddedDimension);
    }

    /// <summary>The parameters this mechanism runs with.</summary>
    public MechanismParameters Parameters => _p;

    /// <summary>Δ₂': the norm bound every rounded client vector satisfies (scaled domain).</summary>
    public double RoundedNormBound => _roundedBound;

    /// <summary>Encodes one client's update (length d) for secure aggregation; returns D values in [0, 2^b).</summary>
    public uint[] Encode(ReadOnlySpan<double> update, ReadOnlySpan<byte> roundSeed, RandomSource? rng = null)
    {
        if (update.Length != _p.Dimension)
        {
            throw new ArgumentException($"Update length {update.Length} differs from the round's dimension {_p.Dimension}.", nameof(update));
        }

        // The clipped update is the client's data: wiped before the buffer goes back to the pool.
        using var clipped = new WipedRental<double>(update.Length);
        update.CopyTo(clipped.Span);
        ClipInPlace(clipped.Span, _p.Clip, nameof(update));
        return EncodeClipped(clipped.Span, roundSeed, rng ?? RandomSource.System);
    }

    /// <summary>
    /// Encodes a silo's update from its users' contributions: each user's vector is clipped to
    /// <paramref name="userClip"/> (≤ c) before summing inside the silo, and the silo's total is then clipped to c.
    /// </summary>
    public uint[] EncodeSilo(IReadOnlyList<double[]> userUpdates, double userClip, ReadOnlySpan<byte> roundSeed, RandomSource? rng = null)
    {
        ArgumentNullException.ThrowIfNull(userUpdates);
        if (!(userClip > 0) || userClip > _p.Clip)
        {
            throw new ArgumentOutOfRangeException(nameof(userClip), userClip, $"The user clip must be in (0, c = {_p.Clip}].");
        }

        var d = _p.Dimension;
        // Users' data and the silo's total: wiped before the buffers go back to the pool.
        using var totalBuffer = new WipedRental<double>(d);
        using var userBuffer = new WipedRental<double>(d);
        var total = totalBuffer.Span;
        var user = userBuffer.Span;
        total.Clear();
        foreach (var u in userUpdates)
        {
            if (u is null || u.Length != d)
            {
                throw new ArgumentException($"Every user update must have length {d}.", nameof(userUpdates));
            }

            u.CopyTo(user);
            ClipInPlace(user, userClip, nameof(userUpdates));
            for (var i = 0; i < total.Length; i++)
            {
                total[i] += user[i];
            }
        }

        ClipInPlace(total, _p.Clip, nameof(userUpdates));
        return EncodeClipped(total, roundSeed, rng ?? RandomSource.System);
    }

    /// <summary>
    /// Decodes the modular sum of <paramref name="contributingClients"/> encoded updates (length D). Returns the
    /// noisy sum in model units or a typed failure when the sum cannot be trusted not to have wrapped.
    /// </summary>
    public DecodeResult Decode(ReadOnlySpan<uint> sum, int contributingClients, ReadOnlySpan<byte> roundSeed)
    {
        var size = _p.PaddedDimension;
        if (sum.Length != size)
        {
            throw new ArgumentException($"Sum length {sum.Length} differs from the padded dimension {size}.", nameof(sum));
        }

        if (contributingClients < 1 || contributingClients > _p.PlannedClients)
        {
            throw new ArgumentOutOfRangeException(nameof(contributingClients), contributingClients, $"Must be in [1, n = {_p.PlannedClients}].");
        }

        var bits = _p.Bits;
        var modulus = 1UL << bits;
        var half = 1L << (bits - 1);
        var mask = modulus - 1;
        var centred = new long[size];
        var maxAbs = 0L;
        var sq = 0.0;
        for (var i = 0; i < size; i++)
        {
            var s = sum[i] & mask;
            if (s != sum[i])
            {
                throw new ArgumentException($"Coordinate {i} of the sum is not reduced modulo 2^{bits}.", nameof(sum));
            }

            var v = s >= (ulong)half ? (long)s - (long)modulus : (long)s;
            centred[i] = v;
            maxAbs = Math.Max(maxAbs, Math.Abs(v));
            sq += (double)v * v;
        }

        var bounds = Bounds(contributingClients);
        var outOfRange = 0;
        foreach (var v in centred)
        {
            if (Math.Abs(v) > bounds.Coordinate)
            {
                outOfRange++;
            }
        }

        var integerNorm = Math.Sqrt(sq);
        var measured = integerNorm * _p.Gamma;
        var failure = bounds.Coordinate >= half ? DecodeFailure.ModulusTooSmallForParameters
            : outOfRange > 0 ? DecodeFailure.CoordinateOutOfRange
            : integerNorm > bounds.Norm ? DecodeFailure.NormBeyondBound
            : DecodeFailure.None;
        if (failure != DecodeFailure.None)
        {
            return new DecodeResult(failure, null, measured, integerNorm, bounds.Norm, maxAbs, bounds.Coordinate, outOfRange);
        }

        var y = new double[size];
        for (var i = 0; i < size; i++)
        {
            y[i] = centred[i] * _p.Gamma;
        }

        var signs = new sbyte[size];
        HadamardRotation.DeriveSigns(roundSeed, signs);
        HadamardRotation.Inverse(y, signs);
        return new DecodeResult(DecodeFailure.None, y[.._p.Dimension], measured, integerNorm, bounds.Norm, maxAbs, bounds.Coordinate, 0);
    }

    /// <summary>
    /// Per-coordinate sub-Gaussian variance proxy of the centred sum of m honest contributions (scaled domain):
    /// (m·c/γ)²/D (rotated signal, KLS 2021 Lemma 29 with ρ = 1) + m/4 (rounding) + m·σ² (noise; the discrete
    /// Gaussian is σ²-subgaussian, CKS 2020 Cor. 9).
    /// </summary>
    internal static double SumVarianceProxy(MechanismParameters p, int m)
    {
        var signal = m * p.Clip / p.Gamma;
        return (signal * signal / p.PaddedDimension) + (m / 4.0) + (m * p.Sigma * p.Sigma);
    }

    /// <summary>k such that P(|X| &gt; k·s) summed over D sub-Gaussian coordinates is ≤ <see cref="DetectionFalseAlarm"/>.</summary>
    internal static double DetectionStdDevs(int paddedDimension) => Math.Sqrt(2 * Math.Log(2.0 * paddedDimension / DetectionFalseAlarm));

    internal (long Coordinate, double Norm) Bounds(int m)
    {
        var s = Math.Sqrt(SumVarianceProxy(_p, m));
        var coordinate = (long)Math.Min(Math.Ceiling(DetectionStdDevs(_p.PaddedDimension) * s), long.MaxValue / 2);
        // ‖Σ r_i‖ ≤ m·Δ₂' deterministically; ‖noise‖² ≤ mσ²(D + 2√(D·L) + 2L) w.p. ≥ 1 − e^−L (Hsu, Kakade, Zhang 2012).
        var l = Math.Log(1 / DetectionFalseAlarm);
        var d = (double)_p.PaddedDimension;
        var noise = Math.Sqrt(m * ((_p.Sigma * _p.Sigma) + 0.25) * (d + (2 * Math.Sqrt(d * l)) + (2 * l)));
        return (coordinate, (m * _roundedBound) + noise);
    }

    internal static void ClipInPlace(Span<double> v, double clip, string paramName)
    {
        var sq = 0.0;
        foreach (var x in v)
        {
            if (!double.IsFinite(x))
            {
                throw new ArgumentException("Updates must be finite (no NaN or infinity).", paramName);
            }

            sq += x * x;
        }

        var norm = Math.Sqrt(sq);
        if (norm > clip)
        {
            var f = clip / norm;
            for (var i = 0; i < v.Length; i++)
            {
                v[i] *= f;
            }
        }
    }

    /// <summary>Rotation, scaling, rounding and noise of an already clipped update. Every intermediate (signs, the rotated
    /// and scaled update, the rounded vector, the noise) lives in a pooled buffer that is wiped before it is returned, so an
    /// encode allocates only its output (D words) and leaves no copy of the update or the noise behind.</summary>
    private uint[] EncodeClipped(ReadOnlySpan<double> clipped, ReadOnlySpan<byte> roundSeed, RandomSource rng)
    {
        var size = _p.PaddedDimension;
        using var signBuffer = new WipedRental<sbyte>(size);
        using var zBuffer = new WipedRental<double>(size);
        // Declared before the rounding so that it goes back to the pool last (disposal runs in reverse).
        using var noiseBuffer = new WipedRental<long>(size);
        using var roundedBuffer = new WipedRental<long>(size);
        var signs = signBuffer.Span;
        var z = zBuffer.Span;
        var noise = noiseBuffer.Span;
        var rounded = roundedBuffer.Span;
        HadamardRotation.DeriveSigns(roundSeed, signs);
        HadamardRotation.Forward(clipped, signs, z);
        var inv = 1.0 / _p.Gamma;
        for (var i = 0; i < size; i++)
        {
            z[i] *= inv;
            if (!(Math.Abs(z[i]) < 4.0e18))
            {
                throw new PrivacyMechanismException(EncodeFailure.ScaledValueOutOfRange, $"Scaled coordinate {i} ({z[i]:G6}) does not fit a 62-bit integer; γ = {_p.Gamma:G6} is too small.");
            }
        }

        ConditionalRounding.Round(z, _roundedBound, rounded, rng, MaxRoundingAttempts);
        NoiseSource.Fill(_p.SigmaSquaredNumerator, _p.SigmaSquaredDenominator, noise, rng);
        var mask = _p.Bits == 32 ? uint.MaxValue : (1u << _p.Bits) - 1;
        var output = new uint[size];
        for (var i = 0; i < size; i++)
        {
            // Two's-complement reduction modulo 2^b: wrap-around is the point here.
            output[i] = unchecked((uint)(ulong)(rounded[i] + noise[i])) & mask;
        }

        return output;
    }

    /// <summary>A pooled buffer of exactly <c>length</c> elements, cleared before it goes back to <see cref="ArrayPool{T}.Shared"/>
    /// (it holds the client's data or its noise).</summary>
    private readonly struct WipedRental<T> : IDisposable
        where T : unmanaged
    {
        private readonly T[] _array;
        private readonly int _length;

        public WipedRental(int length)
        {
            _array = ArrayPool<T>.Shared.Rent(length);
            _length = length;
        }

        public Span<T> Span => _array.AsSpan(0, _length);

        public void Dispose()
        {
            Array.Clear(_array, 0, _length);
            ArrayPool<T>.Shared.Return(_array);
        }

    }
}
