using System.Numerics;

namespace SecureFedRec.Privacy;

/// <summary>
/// The public DP parameters of one round of the distributed discrete Gaussian mechanism (Kairouz, Liu, Steinke,
/// ICML 2021): what the coordinator announces, what each client checks against its policy, and what both ledgers
/// record so that an auditor can recompute ε (<c>securefedrec privacy epsilon</c>). Immutable, thread-safe.
/// Units: <see cref="Clip"/> and <see cref="Gamma"/> are in model units; σ² = <see cref="SigmaSquaredNumerator"/> /
/// <see cref="SigmaSquaredDenominator"/> is each client's discrete Gaussian parameter in the scaled integer domain
/// (an exact rational, as the exact sampler takes it). <see cref="Validate"/> throws <see cref="ArgumentException"/>
/// naming the offending field.
/// </summary>
public sealed record MechanismParameters
{
    /// <summary>Model dimension d (before padding), 1 ≤ d ≤ 2^26.</summary>
    public required int Dimension { get; init; }

    /// <summary>Bit width b of the secure-aggregation modulus 2^b, 1 ≤ b ≤ 32.</summary>
    public required int Bits { get; init; }

    /// <summary>L2 clip norm c of one client's (or one user's, in a silo) contribution, &gt; 0.</summary>
    public required double Clip { get; init; }

    /// <summary>Quantisation step γ: the client multiplies by 1/γ before rounding, &gt; 0.</summary>
    public required double Gamma { get; init; }

    /// <summary>Conditional randomized rounding parameter β ∈ [0, 1) (KLS 2021, §4.1; 0 = unconditional).</summary>
    public required double Beta { get; init; }

    /// <summary>Numerator of σ² (scaled integer domain).</summary>
    public required ulong SigmaSquaredNumerator { get; init; }

    /// <summary>Denominator of σ² (scaled integer domain), &gt; 0.</summary>
    public required ulong SigmaSquaredDenominator { get; init; }

    /// <summary>Number n of clients planned for the round.</summary>
    public required int PlannedClients { get; init; }

    /// <summary>Fewest contributing clients t the protocol accepts (the secure-aggregation threshold); σ is calibrated for t.</summary>
    public required int MinClients { get; init; }

    /// <summary>Target δ of the (ε, δ) guarantee, in (0, 1).</summary>
    public required double Delta { get; init; }

    /// <summary>Poisson sampling rate q of clients into the round (1 = everybody in the population takes part).</summary>
    public double SamplingRate { get; init; } = 1.0;

    /// <summary>Standard deviations k of the summed signal + noise that must fit into the modulus (bit budget).</summary>
    public double K { get; init; } = 4.0;

    /// <summary>The padded dimension D = smallest power of two ≥ d (the Walsh–Hadamard size).</summary>
    public int PaddedDimension => (int)BitOperations.RoundUpToPowerOf2((uint)Dimension);

    /// <summary>σ (scaled integer domain) as a double, for accounting.</summary>
    public double Sigma => Math.Sqrt((double)SigmaSquaredNumerator / SigmaSquaredDenominator);

    /// <summary>Central noise multiplier at the threshold: √t·σ·γ / c (noise std of the sum over the clip).</summary>
    public double NoiseMultiplierAtThreshold => Math.Sqrt(MinClients) * Sigma * Gamma / Clip;

    /// <summary>Throws <see cref="ArgumentException"/> if any field is out of range or the fields are inconsistent.</summary>
    public void Validate()
    {
        if (Dimension < 1 || Dimension > (1 << 26))
        {
            throw new ArgumentException($"Dimension must be in [1, 2^26]; found {Dimension}.", nameof(Dimension));
        }

        if (Bits < 1 || Bits > 32)
        {
            throw new ArgumentException($"Bits must be in [1, 32]; found {Bits}.", nameof(Bits));
        }

        if (!(Clip > 0) || double.IsInfinity(Clip))
        {
            throw new ArgumentException($"Clip must be positive and finite; found {Clip}.", nameof(Clip));
        }

        if (!(Gamma > 0) || double.IsInfinity(Gamma))
        {
            throw new ArgumentException($"Gamma must be positive and finite; found {Gamma}.", nameof(Gamma));
        }

        if (!(Beta >= 0 && Beta < 1))
        {
            throw new ArgumentException($"Beta must be in [0, 1); found {Beta}.", nameof(Beta));
        }

        if (SigmaSquaredNumerator == 0 || SigmaSquaredDenominator == 0)
        {
            throw new ArgumentException("σ² must be a positive rational (numerator and denominator > 0).", nameof(SigmaSquaredNumerator));
        }

        if (PlannedClients < 1 || MinClients < 1 || MinClients > PlannedClients)
        {
            throw new ArgumentException($"Need 1 ≤ MinClients ≤ PlannedClients; found t = {MinClients}, n = {PlannedClients}.", nameof(MinClients));
        }

        if (!(Delta > 0 && Delta < 1))
        {
            throw new ArgumentException($"Delta must be in (0, 1); found {Delta}.", nameof(Delta));
        }

        if (!(SamplingRate > 0 && SamplingRate <= 1))
        {
            throw new ArgumentException($"SamplingRate must be in (0, 1]; found {SamplingRate}.", nameof(SamplingRate));
        }

        if (!(K >= 1) || double.IsInfinity(K))
        {
            throw new ArgumentException($"K must be ≥ 1; found {K}.", nameof(K));
        }
    }
}
