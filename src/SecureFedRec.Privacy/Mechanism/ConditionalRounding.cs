using SecureFedRec.Crypto;

namespace SecureFedRec.Privacy.Mechanism;

/// <summary>
/// Conditional randomized rounding (Kairouz, Liu, Steinke 2021, §4.1, Alg. 1 step 4): each coordinate x is rounded
/// to ⌊x⌋ + Bernoulli(x − ⌊x⌋) independently (unbiased); the whole vector is redrawn until its L2 norm is ≤ the bound
/// Δ₂'. The Bernoulli compares a 53-bit uniform integer from the injected <see cref="RandomSource"/> with the
/// fraction scaled to 2^53 (rounding randomness, not DP noise, so a 2^-53 grid is enough). Thread-safe (stateless).
/// </summary>
internal static class ConditionalRounding
{
    private const double TwoPow53 = 9007199254740992.0;

    /// <summary>Rounds <paramref name="x"/> into <paramref name="output"/>; returns the number of attempts used.</summary>
    public static int Round(ReadOnlySpan<double> x, double normBound, Span<long> output, RandomSource rng, int maxAttempts)
    {
        var boundSq = normBound * normBound;
        for (var attempt = 1; attempt <= maxAttempts; attempt++)
        {
            var sq = 0.0;
            for (var i = 0; i < x.Length; i++)
            {
                var floor = Math.Floor(x[i]);
                var frac = x[i] - floor;
                var threshold = (ulong)(frac * TwoPow53);
                var up = (rng.NextUInt64() >> 11) < threshold ? 1L : 0L;
                var r = (long)floor + up;
                output[i] = r;
                sq += (double)r * r;
            }

            if (sq <= boundSq)
            {
                return attempt;
            }
        }

        throw new PrivacyMechanismException(EncodeFailure.RoundingDidNotConverge, $"Conditional randomized rounding exceeded the norm bound {normBound:G6} in {maxAttempts} attempts; raise β or γ.");
    }
}
