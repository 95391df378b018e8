using SecureFedRec.Privacy.Internal;

namespace SecureFedRec.Privacy.Accounting;

/// <summary>
/// Rényi-DP of the mechanisms the project uses. Pure functions, thread-safe.
/// <list type="bullet">
/// <item>Gaussian with noise multiplier z: ε(α) = α/(2z²) (Mironov 2017, Prop. 7).</item>
/// <item>Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019, "Rényi DP of the Sampled Gaussian Mechanism"):
/// the exact sum for integer α (§3.3) and the two-sided erfc series for fractional α, as in
/// <c>dp_accounting/rdp/rdp_privacy_accountant.py</c> of dp_accounting ≥ 0.4.4 (checked against 0.6.0's
/// <c>test_compute_rdp_poisson_sampled_gaussian</c>); order +∞ is answered (+∞ for q &gt; 0, 0 for q = 0).</item>
/// <item>Distributed discrete Gaussian: see <see cref="DistributedDiscreteGaussianAccountant"/>.</item>
/// </list>
/// Failure modes: <see cref="ArgumentOutOfRangeException"/> for q ∉ [0, 1], z &lt; 0, α ≤ 1 or NaN inputs.
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
        ValidateGaussianOrder(order);
        ArgumentOutOfRangeException.ThrowIfNegative(noiseMultiplier);
        return noiseMultiplier == 0 ? double.PositiveInfinity : order / (2 * noiseMultiplier * noiseMultiplier);
    }

    /// <summary>RDP of one Poisson-subsampled Gaussian release (sampling rate q, noise multiplier z) at order α.</summary>
    public static double SubsampledGaussianRdp(double samplingRate, double noiseMultiplier, double order)
    {
        ValidateGaussianOrder(order);
        if (!(samplingRate >= 0 && samplingRate <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(samplingRate), samplingRate, "q must be in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(noiseMultiplier);
        if (samplingRate == 0)
        {
            return 0; // nothing released about anyone (dp_accounting answers 0 before looking at z or α)
        }

        if (noiseMultiplier == 0)
        {
            return double.PositiveInfinity;
        }

        if (double.IsPositiveInfinity(order))
        {
            return double.PositiveInfinity; // any q > 0: the divergence at α = ∞ is unbounded (dp_accounting: np.inf)
        }

        if (samplingRate == 1)
        {
            return order / (2 * noiseMultiplier * noiseMultiplier);
        }

        var logA = order == Math.Floor(order)
            ? LogAInteger(samplingRate, noiseMultiplier, checked((int)order))
            : LogAFractional(samplingRate, noiseMultiplier, order);

        // Where dp_accounting's fractional series does not converge it answers +∞ (the order is excluded). Subsampling
        // never costs more than the unsampled Gaussian (Rényi divergence is jointly quasi-convex, so mixing with the
        // neighbour's own distribution cannot raise it), so that bound is answered instead: equal to dp_accounting
        // wherever its value is the smaller one (every order of its reference test), never below a valid bound.
        return Math.Min(logA / (order - 1), order / (2 * noiseMultiplier * noiseMultiplier));
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

    /// <summary>Most series terms <see cref="LogAFractional"/> evaluates before giving up (dp_accounting's <c>_MAX_STEPS_LOG_A_FRAC</c>).</summary>
    internal const int MaxFractionalSteps = 1000;

    /// <summary>
    /// log A_α for fractional α, 0 &lt; q &lt; 1, as <c>_compute_log_a_frac</c> of dp_accounting ≥ 0.4.4 (checked against
    /// 0.6.0): the integral is split at z₀ = σ²·ln(1/q − 1) + ½ and both halves are expanded as binomial series whose
    /// terms are all ADDED with |C(α, i)| (dp_accounting's <c>_log_comb</c> is gammaln-based, i.e. log|C(α, i)|), which
    /// upper-bounds the alternating series the project summed before 0.4.4 (that one was ≈ 3% low at α = 1.5, the unsafe
    /// direction). Stops when both terms decrease and are below total·e^−30; after <see cref="MaxFractionalSteps"/>
    /// terms without convergence the order is answered +∞ (excluded from the ε minimum), as dp_accounting does.
    /// </summary>
    internal static double LogAFractional(double q, double sigma, double alpha)
    {
        var logA0 = double.NegativeInfinity;
        var logA1 = double.NegativeInfinity;
        var z0 = (sigma * sigma * Math.Log((1 / q) - 1)) + 0.5;
        var logQ = Math.Log(q);
        var log1MinusQ = LogMath.Log1P(-q);
        var sqrt2Sigma = Math.Sqrt(2) * sigma;
        var twoSigma2 = 2 * sigma * sigma;
        var logCoef = 0.0; // log|C(α, i)|, by log|C(α, i)| = log|C(α, i−1)| + log|α − i + 1| − log i
        var lastS0 = double.NegativeInfinity;
        var lastS1 = double.NegativeInfinity;
        for (var i = 0; i < MaxFractionalSteps; i++)
        {
            if (i > 0)
            {
                logCoef += Math.Log(Math.Abs(alpha - i + 1)) - Math.Log(i);
            }

            var j = alpha - i;
            var logT0 = logCoef + (i * logQ) + (j * log1MinusQ);
            var logT1 = logCoef + (j * logQ) + (i * log1MinusQ);
            var logE0 = Math.Log(0.5) + LogMath.LogErfc((i - z0) / sqrt2Sigma);
            var logE1 = Math.Log(0.5) + LogMath.LogErfc((z0 - j) / sqrt2Sigma);
            var logS0 = logT0 + ((((double)i * i) - i) / twoSigma2) + logE0;
            var logS1 = logT1 + (((j * j) - j) / twoSigma2) + logE1;
            logA0 = LogMath.LogAdd(logA0, logS0);
            logA1 = LogMath.LogAdd(logA1, logS1);
            var total = LogMath.LogAdd(logA0, logA1);
            if (logS0 < lastS0 && logS1 < lastS1 && Math.Max(logS0, logS1) < total - 30)
            {
                return total;
            }

            lastS0 = logS0;
            lastS1 = logS1;
        }

        return double.PositiveInfinity;
    }

    /// <summary>Orders of the Gaussian curves: α &gt; 1, and α = +∞ (answered, as dp_accounting does).</summary>
    internal static void ValidateGaussianOrder(double order)
    {
        if (!(order > 1))
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, "RDP order must be > 1 (+∞ allowed).");
        }
    }

    internal static void ValidateOrder(double order)
    {
        if (!(order > 1) || double.IsInfinity(order))
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, "RDP order must be finite and > 1.");
        }
    }
}
