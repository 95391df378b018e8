namespace SecureFedRec.Privacy.Accounting;

/// <summary>
/// Rényi-DP of the distributed discrete Gaussian mechanism (Kairouz, Liu, Steinke, ICML 2021, Thm. 1 and Prop. 14 /
/// Eq. 17; formulas as in google-research/federated <c>distributed_dp/accounting_utils.py</c>). All quantities are in
/// the scaled integer domain: σ is each client's discrete Gaussian parameter, Δ₂ and Δ₁ are the sensitivities after
/// scaling by 1/γ and conditional randomized rounding. Pure functions, thread-safe. Failure modes:
/// <see cref="ArgumentOutOfRangeException"/> for non-positive σ, n, d, c, γ or β ∉ [0, 1).
/// </summary>
public static class DistributedDiscreteGaussianAccountant
{
    /// <summary>
    /// Norm bound after conditional randomized rounding of a vector of norm ≤ <paramref name="scaledNorm"/> (= c/γ) in
    /// dimension d: Δ₂' = min( c/γ + √d , sqrt( (c/γ)² + d/4 + sqrt(2·ln(1/β))·(c/γ + √d/2) ) ) (KLS 2021, Thm. 1);
    /// β = 0 means unconditional rounding (first bound only).
    /// </summary>
    public static double RoundedL2Bound(double scaledNorm, double beta, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (!(beta >= 0 && beta < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "β must be in [0, 1).");
        }

        if (!(scaledNorm > 0) || double.IsInfinity(scaledNorm))
        {
            throw new ArgumentOutOfRangeException(nameof(scaledNorm), scaledNorm, "The scaled norm must be positive and finite.");
        }

        var sqrtD = Math.Sqrt(dimension);
        var bound1 = scaledNorm + sqrtD;
        if (beta == 0)
        {
            return bound1;
        }

        var sq = (scaledNorm * scaledNorm) + (0.25 * dimension) + (Math.Sqrt(2.0 * Math.Log(1.0 / beta)) * (scaledNorm + (0.5 * sqrtD)));
        return Math.Min(bound1, Math.Sqrt(sq));
    }

    /// <summary>L1 bound of an integer vector of L2 norm ≤ Δ₂ in dimension d: Δ₂·min(√d, Δ₂).</summary>
    public static double RoundedL1Bound(double l2Bound, int dimension) => l2Bound * Math.Min(Math.Sqrt(dimension), l2Bound);

    /// <summary>τ = 10·Σ_{k=1}^{n−1} exp(−2π²σ²·k/(k+1)) (KLS 2021, Thm. 1).</summary>
    public static double Tau(double sigma, int clients)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(clients);
        if (!(sigma > 0) || double.IsInfinity(sigma))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "σ must be positive and finite.");
        }

        var tau = 0.0;
        for (var k = 1; k < clients; k++)
        {
            var term = Math.Exp(-2 * Math.PI * Math.PI * sigma * sigma * k / (k + 1.0));
            tau += term;
            if (term < 1e-300)
            {
                break; // the terms decrease in k; the rest cannot change the sum.
            }
        }

        return 10 * tau;
    }

    /// <summary>
    /// ε(α) = min{ α·l2²/2 + τ·d , (α/2)·(l2² + 2·l1·τ + τ²·d) , (α/2)·(l2 + √d·τ)² } with l2 = Δ₂/(√n·σ),
    /// l1 = Δ₁/(√n·σ) for one release (no sampling).
    /// </summary>
    public static double Rdp(double order, double l2Sensitivity, double l1Sensitivity, double sigma, int clients, int dimension)
    {
        RdpAccountant.ValidateOrder(order);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        var tau = Tau(sigma, clients);
        var root = Math.Sqrt(clients) * sigma;
        var l2 = l2Sensitivity / root;
        var l1 = l1Sensitivity / root;
        var t1 = (order * l2 * l2 / 2) + (tau * dimension);
        var t2 = order / 2 * ((l2 * l2) + (2 * l1 * tau) + (tau * tau * dimension));
        var s = l2 + (Math.Sqrt(dimension) * tau);
        var t3 = order / 2 * s * s;
        return Math.Min(t1, Math.Min(t2, t3));
    }

    /// <summary>
    /// The RDP curve of one round of the mechanism described by <paramref name="round"/> with
    /// <paramref name="contributingClients"/> clients' noise in the sum (use the threshold t when planning, the actual
    /// count when charging), over the integer orders; with client sampling rate q &lt; 1, amplified by
    /// <see cref="RdpAccountant.SubsampledGenericRdp"/>.
    /// </summary>
    public static RdpCurve RoundCurve(MechanismParameters round, int contributingClients, IReadOnlyList<double>? orders = null)
    {
        ArgumentNullException.ThrowIfNull(round);
        round.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contributingClients);
        orders ??= RdpAccountant.IntegerOrders;
        var sigma = round.Sigma;
        var l2 = RoundedL2Bound(round.Clip / round.Gamma, round.Beta, round.PaddedDimension);
        var l1 = RoundedL1Bound(l2, round.PaddedDimension);
        var tau = Tau(sigma, contributingClients);
        double One(int a)
        {
            var root = Math.Sqrt(contributingClients) * sigma;
            var s2 = l2 / root;
            var s1 = l1 / root;
            var t1 = (a * s2 * s2 / 2) + (tau * round.PaddedDimension);
            var t2 = a / 2.0 * ((s2 * s2) + (2 * s1 * tau) + (tau * tau * round.PaddedDimension));
            var s = s2 + (Math.Sqrt(round.PaddedDimension) * tau);
            return Math.Min(t1, Math.Min(t2, a / 2.0 * s * s));
        }

        var values = new double[orders.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var a = orders[i];
            if (a != Math.Floor(a))
            {
                throw new ArgumentException("The distributed discrete Gaussian bound is evaluated at integer orders.", nameof(orders));
            }

            var ai = checked((int)a);
            values[i] = round.SamplingRate >= 1 ? One(ai) : RdpAccountant.SubsampledGenericRdp(ai, round.SamplingRate, One);
        }

        return new RdpCurve(orders, values);
    }
}
