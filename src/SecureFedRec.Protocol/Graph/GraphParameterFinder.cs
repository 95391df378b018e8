namespace SecureFedRec.Protocol.Graph;

/// <summary>
/// Chooses the neighbour graph and Shamir threshold of a round: the smallest even Harary degree k and a threshold t
/// for which SecAgg+ is secure except with probability 2^-σ and completes except with probability 2^-η, given at most
/// a fraction γ of clients colluding with the server and at most a fraction δ dropping out
/// (Bell et al., CCS 2020, "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead": the analysis of random Harary graphs).
/// </summary>
/// <remarks>
/// <para>The bounds and search order are those of Google's open parameter finder (federated-compute,
/// <c>fcp/secagg/server/graph_parameter_finder.cc</c>) and reproduce its published table at σ = 40, η = 20; the formulas
/// are written out in <c>protocol-spec/graphs.md</c> §3. When no Harary degree below n − 1 qualifies, the full graph is
/// used with t = n − ⌊δn⌋, as the reference server does (this happens only for small cohorts).</para>
/// <para>Cost: O(k_result · √(k·ln(n·2^σ))) double operations and no allocation beyond a few locals; measured at
/// n = 10^6 on a loaded 2-core VM: ≤ 2 ms for the reference table's rows, ≈ 0.06–0.11 s for the most demanding
/// feasible setting tried (γ = δ = 0.3, semi-malicious, k = 11,136). Numerics: double precision with log-factorials (see
/// <see cref="Hypergeometric"/>); rates are widened by 1e-14 before flooring so that, e.g., 0.33·100 counts 33
/// corrupted clients, never 32.</para>
/// <para>Thread-safety: stateless. Failure modes: <see cref="ArgumentOutOfRangeException"/> with the reason for
/// clients outside [2, <see cref="MaxClients"/>], rates outside [0, 1) or not finite, infeasible rate combinations
/// (curious: γ + δ &gt; 0.9; semi-malicious: γ + 2δ &gt; 0.9), σ or η outside [1, 128], an undefined threat model, or a
/// full-graph fallback whose threshold would not be secure.</para>
/// </remarks>
public static class GraphParameterFinder
{
    /// <summary>Largest cohort the finder accepts.</summary>
    public const int MaxClients = 10_000_000;

    /// <summary>Largest γ + δ (curious) or γ + 2δ (semi-malicious) accepted, as in the reference finder.</summary>
    public const double MaxBadFraction = 0.9;

    // Widening of the rates before flooring: keeps binary rounding of e.g. 0.33 from losing a client.
    private const double Epsilon = 1e-14;

    /// <summary>Finds (kind, k, t) for a round.</summary>
    /// <param name="clients">n, the number of clients selected for the round.</param>
    /// <param name="gamma">γ, the largest fraction of clients that may collude with the server, in [0, 1).</param>
    /// <param name="delta">δ, the largest fraction of clients that may drop out, in [0, 1).</param>
    /// <param name="model">The server's behaviour the parameters must withstand.</param>
    /// <param name="sigma">Security parameter σ in bits (1..128).</param>
    /// <param name="eta">Correctness parameter η in bits (1..128).</param>
    /// <returns>The parameters; <see cref="GraphParameters.Degree"/> excludes the self edge.</returns>
    public static GraphParameters Find(
        int clients, double gamma, double delta, ThreatModel model, int sigma = 40, int eta = 20)
    {
        Validate(clients, gamma, delta, model, sigma, eta);
        return FindCore(clients, gamma, delta, model, sigma, eta);
    }

    private static void Validate(int clients, double gamma, double delta, ThreatModel model, int sigma, int eta)
    {
        if (clients < 2 || clients > MaxClients)
        {
            throw new ArgumentOutOfRangeException(
                nameof(clients), clients, $"The number of clients must be in [2, {MaxClients}].");
        }

        if (!double.IsFinite(gamma) || gamma < 0 || gamma >= 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(gamma), gamma, "The corrupted-client fraction gamma must be in [0, 1).");
        }

        if (!double.IsFinite(delta) || delta < 0 || delta >= 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(delta), delta, "The dropout fraction delta must be in [0, 1).");
        }

        if (sigma < 1 || sigma > 128)
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "The security parameter must be in [1, 128] bits.");
        }

        if (eta < 1 || eta > 128)
        {
            throw new ArgumentOutOfRangeException(nameof(eta), eta, "The correctness parameter must be in [1, 128] bits.");
        }

        switch (model)
        {
            case ThreatModel.HonestButCurious:
                if (gamma + delta > MaxBadFraction)
                {
                    throw new ArgumentOutOfRangeException(
                        nameof(delta),
                        delta,
                        $"Infeasible: an honest-but-curious server needs gamma + delta <= {MaxBadFraction}; got gamma = {gamma}, delta = {delta}.");
                }

                break;
            case ThreatModel.SemiMalicious:
                if (gamma + (2 * delta) > MaxBadFraction)
                {
                    throw new ArgumentOutOfRangeException(
                        nameof(delta),
                        delta,
                        $"Infeasible: a semi-malicious server needs gamma + 2*delta <= {MaxBadFraction}; got gamma = {gamma}, delta = {delta}.");
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(model), model, "Unknown threat model.");
        }
    }

    private static GraphParameters FindCore(int n, double gamma, double delta, ThreatModel model, int sigma, int eta)
    {
        var bounds = new Bounds(n, gamma, delta, model, sigma, eta);
        for (int k = 2; k < n - 1; k += 2)
        {
            int? t = bounds.ThresholdFor(k);
            if (t is int threshold)
            {
                return new GraphParameters(GraphKind.Harary, k, threshold);
            }
        }

        return FullGraphParameters(n, gamma, delta, model);
    }

    /// <summary>Full-graph fallback: t = n − ⌊δn⌋ (every round with at most δn dropouts completes), checked for security.</summary>
    private static GraphParameters FullGraphParameters(int clients, double gamma, double delta, ThreatModel model)
    {
        int n = clients;
        int threshold = n - (int)Math.Floor((delta + Epsilon) * n);
        int corrupted = (int)Math.Ceiling(gamma * n);

        // Curious: the server plus γn clients must not hold t shares. Semi-malicious: two disjoint "survivor" views
        // must not both reach t, so 2t > n + γn (reference: CheckFullGraphParameters).
        int mustExceed = model == ThreatModel.SemiMalicious
            ? (int)Math.Ceiling((n + (gamma * n)) / 2)
            : corrupted;
        if (threshold < 2 || threshold <= mustExceed)
        {
            throw new ArgumentOutOfRangeException(
                nameof(clients),
                clients,
                $"No secure parameters: with {n} clients the full graph would need a threshold above {mustExceed} " +
                $"but at most {threshold} clients are guaranteed to survive (gamma = {gamma}, delta = {delta}, {model}).");
        }

        return new GraphParameters(GraphKind.Full, n - 1, threshold);
    }

    /// <summary>The two checks of one candidate degree; see protocol-spec/graphs.md §3.</summary>
    private readonly struct Bounds
    {
        private readonly int _n;
        private readonly int _corrupted;   // A = ⌊(γ + ε) n⌋
        private readonly int _dropped;     // D = ⌊(δ + ε) n⌋
        private readonly int _survivors;   // S = ⌈(1 − δ − ε) n⌉
        private readonly bool _semiMalicious;
        private readonly double _logSecurityPerEvent;   // −(σ + 1) ln 2: σ is split over two bad events
        private readonly double _securityTail;          // 2^-(σ+1) / n
        private readonly double _correctnessTail;       // 2^-η / n

        internal Bounds(int n, double gamma, double delta, ThreatModel model, int sigma, int eta)
        {
            _n = n;
            _corrupted = (int)Math.Floor((gamma + Epsilon) * n);
            _dropped = (int)Math.Floor((delta + Epsilon) * n);
            _survivors = (int)Math.Ceiling((1 - delta - Epsilon) * n);
            _semiMalicious = model == ThreatModel.SemiMalicious;
            _logSecurityPerEvent = -(sigma + 1) * Math.Log(2);
            _securityTail = Math.Pow(2, -(sigma + 1)) / n;
            _correctnessTail = Math.Pow(2, -eta) / n;
        }

        /// <summary>The threshold for degree k, or null when k is too small.</summary>
        internal int? ThresholdFor(int k)
        {
            if (LogProbabilityDisconnected(k) >= _logSecurityPerEvent)
            {
                return null;
            }

            // t1: the smallest x with P(corrupted neighbours > x) < 2^-(σ+1)/n. With B the number of honest
            // neighbours (hypergeometric with N − A marked), P(corrupted > x) = P(B ≤ k − x − 1), so t1 = k − y0
            // for y0 the smallest y with P(B ≤ y) ≥ 2^-(σ+1)/n.
            var honest = new Hypergeometric(_n, _n - _corrupted, k);
            long t1 = k - honest.SmallestWithCdfAtLeast(_securityTail);

            // t2: the smallest x with P(surviving neighbours ≤ x) ≥ 2^-η/n; any t ≤ t2 has P(survivors < t) < 2^-η/n.
            var surviving = new Hypergeometric(_n, _survivors, k);
            long t2 = surviving.SmallestWithCdfAtLeast(_correctnessTail);

            if (_semiMalicious)
            {
                // A lying server can show two disjoint halves different survivor sets; t must also satisfy
                // 2t − k > t1 (the reference writes ⌈(t1 + k − 1.25) / 2⌉, which equals ⌊(t1 + k) / 2⌋).
                t1 = (t1 + k) / 2;
            }

            if (t2 <= t1)
            {
                return null;
            }

            return (int)Math.Max(t1 + 1, 2);
        }

        /// <summary>
        /// Union bound on ln P(the Harary graph minus the A + D bad nodes is disconnected): a cut needs k/2 consecutive
        /// bad ring positions at two places; n(n − k − 1)/2 place pairs, each bad with probability
        /// (A+D)!/(A+D−k)! · (n−k)!/n!.
        /// </summary>
        private double LogProbabilityDisconnected(int k)
        {
            int bad = _corrupted + _dropped;
            if (k > bad)
            {
                return double.NegativeInfinity;
            }

            double logPairs = Math.Log(_n) + Math.Log(_n - k - 1) - Math.Log(2);
            return logPairs + LogFactorial.Of(bad) + LogFactorial.Of(_n - k) - LogFactorial.Of(_n) - LogFactorial.Of(bad - k);
        }
    }
}
