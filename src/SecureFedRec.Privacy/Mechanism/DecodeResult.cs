namespace SecureFedRec.Privacy.Mechanism;

/// <summary>Why a decoded aggregate was withheld (closed vocabulary).</summary>
public enum DecodeFailure
{
    /// <summary>Decoded; <see cref="DecodeResult.Sum"/> is set.</summary>
    None = 0,

    /// <summary>A centred coordinate lies beyond the bound that honest inputs stay within with probability ≥ 1 − 10^-6: the sum wrapped modulo 2^b (or an input was not produced by this mechanism).</summary>
    CoordinateOutOfRange = 1,

    /// <summary>The L2 norm of the centred integer sum exceeds the high-probability bound m·Δ₂' + ‖noise‖ bound.</summary>
    NormBeyondBound = 2,

    /// <summary>The parameters leave no room to tell an honest sum from a wrapped one: the honest high-probability range of m clients' sum is wider than 2^b.</summary>
    ModulusTooSmallForParameters = 3,
}

/// <summary>
/// Outcome of <see cref="DistributedDiscreteGaussianMechanism.Decode"/>: either the decoded sum in model units
/// (length d) or a <see cref="DecodeFailure"/>; a wrapped sum is never returned. The measured quantities are reported
/// either way so that an operator can see how close to the bound the round was. Immutable.
/// </summary>
public sealed class DecodeResult
{
    internal DecodeResult(DecodeFailure failure, double[]? sum, double measuredNorm, double integerNorm, double normBound, long maxAbsCoordinate, long coordinateBound, int coordinatesOutOfRange)
    {
        Failure = failure;
        Sum = sum;
        MeasuredNorm = measuredNorm;
        IntegerNorm = integerNorm;
        NormBound = normBound;
        MaxAbsCoordinate = maxAbsCoordinate;
        CoordinateBound = coordinateBound;
        CoordinatesOutOfRange = coordinatesOutOfRange;
    }

    /// <summary>True when <see cref="Sum"/> holds the decoded aggregate.</summary>
    public bool Succeeded => Failure == DecodeFailure.None;

    /// <summary>The failure, or <see cref="DecodeFailure.None"/>.</summary>
    public DecodeFailure Failure { get; }

    /// <summary>The decoded noisy sum in model units (length d), null on failure.</summary>
    public IReadOnlyList<double>? Sum { get; }

    /// <summary>L2 norm of the decoded sum in model units (γ · integer norm; rotation preserves it).</summary>
    public double MeasuredNorm { get; }

    /// <summary>L2 norm of the centred integer sum (scaled domain).</summary>
    public double IntegerNorm { get; }

    /// <summary>The high-probability bound on <see cref="IntegerNorm"/> for honest inputs.</summary>
    public double NormBound { get; }

    /// <summary>Largest |coordinate| of the centred integer sum.</summary>
    public long MaxAbsCoordinate { get; }

    /// <summary>The high-probability bound on each centred coordinate for honest inputs.</summary>
    public long CoordinateBound { get; }

    /// <summary>How many coordinates exceeded <see cref="CoordinateBound"/>.</summary>
    public int CoordinatesOutOfRange { get; }
}
