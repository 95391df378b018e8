using SecureFedRec.Privacy.Internal;

namespace SecureFedRec.Privacy.Accounting;

/// <summary>
/// Rényi-DP of the mechanisms the project uses. Pure functions, thread-safe.
/// <list type="bullet">
/// <item>Gaussian with noise multiplier z: ε(α) = α/(2z²) (Mironov 2017, Prop. 7).</item>
/// <item>Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019, "Rényi DP of the Sampled Gaussian Mechanism"):
/// the exact sum for integer α (§3.3) and the two-sided erfc series for fractional α (§3.4), as in
/// <c>dp_accounting/rdp/rdp_privacy_accountant.py</c>.</item>
/// <item>Distributed discrete Gaussian: see <see cref="DistributedDiscreteGaussianAccountant"/>.</item>
/// </list>
/// Failure modes: <see cref="ArgumentOutOfRangeException"/> for q ∉ [0, 1], z &lt; 0, α ≤ 1 or non-finite inputs.
/// </summary>
public static class RdpAccountant
{
    private static readonly double[] DefaultOrderArray =
        [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, .. Enumerable.Range(5, 59).Select(i => (double)i), 128, 256, 512];

    private static readonly double[] IntegerOrderArray = [.. Enumerable.Range(2, 127).Select(i => (double)i), 256];

    /// <summary>
    /// The orders of tensorflow/privacy's <c>compute_dp_sgd_privacy</c>: [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4,
    /// 4.5] + 5..63 + [128, 256, 512] (72 orders).
    /// </summary>
    public static IReadOnlyList<double> DefaultOrders => DefaultOrderArray;

    /// <summary>Integer orders 2..128 and 256, as in <c>distributed_dp/accounting_utils.py</c> (RDP_ORDERS).</summary>
    public static IReadOnlyList<double> IntegerOrders => IntegerOrderArray;

    /// <summary>ε(α) = α/(2z²) of one Gaussian release with noise multiplier z = σ/Δ₂.</summary>
    public static double GaussianRdp(double noiseMultiplier, double order)
    {
        ValidateOrder(order);
        ArgumentOutOfRangeException.ThrowIfNegative(noiseMultiplier);
        return noiseMultiplier == 0 ? double.PositiveInfinity : order / (2 * noiseMultiplier * noiseMultiplier);
    }

    /// <summary>RDP of one Poisson-subsampled Gaussian release (sampling rate q, noise multiplier z) at order α.</summary>
    public static double SubsampledGaussianRdp(double samplingRate, double noiseMultiplier, double order)
    {
        ValidateOrder(order);
        if (!(samplingRate >= 0 && samplingRate <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(samplingRate), samplingRate, "q must be in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(noiseMultiplier);
        if (noiseMultiplier == 0)
        {
            return double.PositiveInfinity;
        }

        if (samplingRate == 0)
        {
            return 0;
        }

        if (samplingRate == 1)
        {
            return order / (2 * noiseMultiplier * noiseMultiplier);
        }

        var logA = order == Math.Floor(order)
            ? LogAInteger(samplingRate, noiseMultiplier, checked((int)order))
            : LogAFractional(samplingRate, noiseMultiplier, order);
        return logA / (order - 1);
    }

    /// <summary>The RDP curve of <paramref name="steps"/> compositions of the subsampled Gaussian.</summary>
    public static RdpCurve SubsampledGaussian(double samplingRate, double noiseMultiplier, int steps, IReadOnlyList<double>? orders = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        orders ??= DefaultOrders;
        return new RdpCurve(orders, [.. orders.Select(a => SubsampledGaussianRdp(samplingRate, noiseMultiplier, a) * steps)]);
    }

    /// <summary>
    /// Poisson subsampling of a generic RDP mechanism at integer order α (Zhu and Wang, ICML 2019, Thm. 5, the upper
    /// bound used by <c>accounting_utils._compute_rdp_subsampled</c>), min'ed with the unamplified value.
    /// </summary>
    public static double SubsampledGenericRdp(int order, double samplingRate, Func<int, double> rdp)
    {
        ArgumentNullException.ThrowIfNull(rdp);
        if (order < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, "The generic subsampling bound needs an integer order ≥ 2.");
        }

        if (!(samplingRate > 0 && samplingRate <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(samplingRate), samplingRate, "q must be in (0, 1].");
        }

        var plain = rdp(order);
        if (samplingRate == 1)
        {
            return plain;
        }

        var g = samplingRate;
        // logsumexp with weights b_l: b0 = (1−g)^(α−1)(αg − g + 1), b2 = C(α,2) g² (1−g)^(α−2) with a2 = ε(2),
        // b_l = 3 for l ≥ 3 with a_l = (l−1)ε(l) + log C(α,l) + (α−l)log(1−g) + l·log g.
        var terms = new List<double>
        {
            ((order - 1) * LogMath.Log1P(-g)) + Math.Log((order * g) - g + 1),
            rdp(2) + LogMath.LogComb(order, 2) + (2 * Math.Log(g)) + ((order - 2) * LogMath.Log1P(-g)),
        };
        for (var l = 3; l <= order; l++)
        {
            terms.Add(Math.Log(3) + ((l - 1) * rdp(l)) + LogMath.LogComb(order, l) + ((order - l) * LogMath.Log1P(-g)) + (l * Math.Log(g)));
        }

        var acc = double.NegativeInfinity;
        foreach (var t in terms)
        {
            acc = LogMath.LogAdd(acc, t);
        }

        return Math.Min(plain, acc / (order - 1));
    }

    internal static double LogAInteger(double q, double sigma, int alpha)
    {
        var logA = double.NegativeInfinity;
        var logQ = Math.Log(q);
        var log1MinusQ = LogMath.Log1P(-q);
        for (var i = 0; i <= alpha; i++)
        {
            var logCoef = LogMath.LogComb(alpha, i) + (i * logQ) + ((alpha - i) * log1MinusQ);
            var s = logCoef + (((double)i * i) - i) / (2 * sigma * sigma);
            logA = LogMath.LogAdd(logA, s);
        }

        return logA;
    }

    internal static double LogAFractional(double q, double sigma, double alpha)
    {
        // Split the integral at z0 and expand both halves as binomial series; stop when both terms are < e^−30.
        var logA0 = double.NegativeInfinity;
        var logA1 = double.NegativeInfinity;
        var z0 = (sigma * sigma * Math.Log((1 / q) - 1)) + 0.5;
        var logQ = Math.Log(q);
        var log1MinusQ = LogMath.Log1P(-q);
        var coef = 1.0; // binom(alpha, i), built by the recurrence binom(α, i) = binom(α, i−1)·(α − i + 1)/i
        var sqrt2Sigma = Math.Sqrt(2) * sigma;
        for (var i = 0; ; i++)
        {
            if (i > 0)
            {
                coef *= (alpha - i + 1) / i;
            }

            var logCoef = Math.Log(Math.Abs(coef));
            var j = alpha - i;
            var logT0 = logCoef + (i * logQ) + (j * log1MinusQ);
            var logT1 = logCoef + (j * logQ) + (i * log1MinusQ);
            var logE0 = Math.Log(0.5) + LogMath.LogErfc((i - z0) / sqrt2Sigma);
            var logE1 = Math.Log(0.5) + LogMath.LogErfc((z0 - j) / sqrt2Sigma);
            var logS0 = logT0 + ((((double)i * i) - i) / (2 * sigma * sigma)) + logE0;
            var logS1 = logT1 + (((j * j) - j) / (2 * sigma * sigma)) + logE1;
            if (coef > 0)
            {
                logA0 = LogMath.LogAdd(logA0, logS0);
                logA1 = LogMath.LogAdd(logA1, logS1);
            }
            else
            {
                logA0 = LogMath.LogSub(logA0, logS0);
                logA1 = LogMath.LogSub(logA1, logS1);
            }

            if (Math.Max(logS0, logS1) < -30 || i > 100_000)
            {
                break;
            }
        }

        return LogMath.LogAdd(logA0, logA1);
    }

    internal static void ValidateOrder(double order)
    {
        if (!(order > 1) || double.IsInfinity(order))
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, "RDP order must be finite and > 1.");
        }
    }
}
