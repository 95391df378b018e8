using SecureFedRec.Crypto;

namespace SecureFedRec.Privacy.Mechanism;

/// <summary>
/// The one place the privacy layer draws DP noise: the crypto core's exact discrete Gaussian sampler
/// (Canonne, Kamath, Steinke 2020; integer and rational arithmetic only), never a rounded floating-point normal.
/// </summary>
internal static class NoiseSource
{
    public static void Fill(ulong sigmaSquaredNumerator, ulong sigmaSquaredDenominator, Span<long> destination, RandomSource rng)
    {
        var sampler = new DiscreteGaussian(sigmaSquaredNumerator, sigmaSquaredDenominator);
        sampler.Fill(destination, rng);
    }
}
