using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Privacy.Policy;

/// <summary>The secure-aggregation neighbour graph of a round (numeric values equal the protocol's <c>GraphKind</c>).</summary>
public enum SecAggGraph
{
    /// <summary>Complete graph: degree k = n − 1.</summary>
    Full = 1,

    /// <summary>Randomly relabelled Harary graph of even degree k (Bell et al., CCS 2020).</summary>
    Harary = 2,
}

/// <summary>
/// Everything the client consents to for one round, as announced by the coordinator and verified by the client round
/// before any key is made: the round id, the DP plan, the secure-aggregation threshold, cohort and graph, the threat
/// mode, and the organisations of the cohort members taken from the <em>verified</em> roster (never from the
/// coordinator's word).
/// </summary>
public sealed record RoundOffer
{
    /// <summary>The round id as the ledger records it (1..128 printable ASCII).</summary>
    public required string RoundId { get; init; }

    /// <summary>The DP plan (σ², clip, γ, δ, <c>MinClients</c>, <c>PlannedClients</c>, announced sampling rate q).</summary>
    public required MechanismParameters Plan { get; init; }

    /// <summary>The secure-aggregation threshold t of the round parameters.</summary>
    public required int Threshold { get; init; }

    /// <summary>The cohort size n (number of members in the round parameters).</summary>
    public required int CohortSize { get; init; }

    /// <summary>The neighbour graph kind.</summary>
    public required SecAggGraph Graph { get; init; }

    /// <summary>The graph degree k (n − 1 for the full graph).</summary>
    public required int GraphDegree { get; init; }

    /// <summary>The threat mode of the round.</summary>
    public required ThreatMode ThreatMode { get; init; }

    /// <summary>
    /// One organisation name per cohort member (this client's included), from the verified roster entries of the
    /// cohort's members; compared ordinally.
    /// </summary>
    public required IReadOnlyList<string> CohortOrganisations { get; init; }

    /// <summary>The coordinator's own ε for the round at the plan's δ (compared, never used); null when not announced.</summary>
    public double? ClaimedRoundEpsilon { get; init; }
}

/// <summary>
/// The pure consent check of an announced round against the client's <see cref="ClientPrivacyPolicy"/>: binds the
/// secure-aggregation round to the DP plan the client accounts for, and the cohort to the policy. No I/O, no ledger,
/// no clock; deterministic. The ledger-dependent rules (round id used before, the abort limit, the budget) are applied
/// on top by <see cref="ClientPrivacyGuard.Check"/> and <see cref="ClientPrivacyGuard.Reserve"/>.
/// </summary>
/// <remarks>
/// Rules, in the order applied (the first failing rule declines; ids as in <c>protocol-spec/dp.md</c> §7.3):
/// <c>plan-valid</c>, <c>round-id</c>, <c>graph-shape</c>, <c>threat-mode-accepted</c>,
/// <c>honest-but-curious-opt-in</c>, <c>threshold-bound</c> (t = MinClients), <c>cohort-bound</c>
/// (|n − PlannedClients| ≤ ⌊tolerance·PlannedClients⌋), <c>malicious-threshold</c> (2t &gt; k + 1),
/// <c>min-cohort</c>, <c>min-threshold</c>, <c>threshold-fraction</c> (t/n), <c>roster-cohort</c>,
/// <c>min-organisations</c>, <c>max-clip</c>, <c>max-delta</c>, <c>min-noise</c>, <c>claimed-epsilon</c>.
/// </remarks>
public static class RoundConsentCheck
{
    /// <summary>
    /// Evaluates <paramref name="offer"/> against <paramref name="policy"/>. Accepted decisions carry the round's ε at
    /// q = 1 at the policy's δ (what the budget is charged) and, labelled separately, the amplified third-party figure;
    /// <see cref="PolicyDecision.TotalAfter"/> is NaN (no ledger here). Throws <see cref="ArgumentException"/> when the
    /// policy itself is invalid (a configuration error, not a decline).
    /// </summary>
    public static PolicyDecision Evaluate(ClientPrivacyPolicy policy, RoundOffer offer)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(offer);
        policy.Validate();
        var p = offer.Plan;
        if (p is null)
        {
            return Decline(DeclineReason.InvalidParameters, "plan-valid", "no DP plan was announced");
        }

        try
        {
            p.Validate();
        }
        catch (ArgumentException ex)
        {
            return Decline(DeclineReason.InvalidParameters, "plan-valid", ex.Message);
        }

        if (!PrivacyLedgerBase.IsValidRoundId(offer.RoundId))
        {
            return Decline(DeclineReason.InvalidParameters, "round-id", "round ids are 1..128 printable ASCII characters");
        }

        int n = offer.CohortSize, t = offer.Threshold, k = offer.GraphDegree;
        var shape = GraphProblem(offer.Graph, n, k, t);
        if (shape is not null)
        {
            return Decline(DeclineReason.InvalidGraph, "graph-shape", shape);
        }

        if (policy.AcceptedThreatModes is null || !policy.AcceptedThreatModes.Contains(offer.ThreatMode))
        {
            return Decline(DeclineReason.ThreatModeNotAccepted, "threat-mode-accepted", $"threat mode {offer.ThreatMode} is not among the policy's accepted modes");
        }

        if (offer.ThreatMode == ThreatMode.CuriousServer && !policy.AllowHonestButCurious)
        {
            return Decline(DeclineReason.HonestButCuriousNotOptedIn, "honest-but-curious-opt-in",
                "an honest-but-curious round needs the policy's explicit allowHonestButCurious opt-in (it does not protect against a coordinator that lies about dropouts)");
        }

        if (t != p.MinClients)
        {
            return Decline(DeclineReason.ThresholdNotBound, "threshold-bound", $"the secure-aggregation threshold t = {t} differs from the DP plan's MinClients = {p.MinClients} (σ is calibrated for MinClients contributors)");
        }

        var slack = (int)Math.Floor(policy.CohortSizeTolerance * p.PlannedClients);
        if (Math.Abs(n - p.PlannedClients) > slack)
        {
            return Decline(DeclineReason.CohortSizeNotBound, "cohort-bound", $"the cohort size n = {n} differs from the DP plan's PlannedClients = {p.PlannedClients} by more than the policy's tolerance ({slack})");
        }

        if (offer.ThreatMode == ThreatMode.SemiMalicious && 2 * t <= k + 1)
        {
            return Decline(DeclineReason.MaliciousThresholdTooLow, "malicious-threshold", $"malicious mode needs 2t > k + 1; t = {t}, k = {k}");
        }

        if (n < policy.MinCohortSize)
        {
            return Decline(DeclineReason.CohortBelowPolicy, "min-cohort", $"cohort size n = {n} < policy minimum {policy.MinCohortSize}");
        }

        if (t < policy.MinThreshold)
        {
            return Decline(DeclineReason.ThresholdBelowMinimum, "min-threshold", $"threshold t = {t} < policy minimum {policy.MinThreshold}");
        }

        if ((double)t / n < policy.MinThresholdFraction)
        {
            return Decline(DeclineReason.ThresholdBelowPolicy, "threshold-fraction", $"t/n = {t}/{n} < policy minimum {policy.MinThresholdFraction:G3}");
        }

        var orgs = offer.CohortOrganisations;
        if (orgs is null || orgs.Count != n || orgs.Any(string.IsNullOrWhiteSpace))
        {
            return Decline(DeclineReason.CohortRosterMismatch, "roster-cohort",
                $"expected one non-empty organisation from the verified roster per cohort member ({n}), got {(orgs is null ? "none" : orgs.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        }

        var distinct = orgs.Distinct(StringComparer.Ordinal).Count();
        if (distinct < policy.MinDistinctOrganisations)
        {
            return Decline(DeclineReason.TooFewOrganisations, "min-organisations", $"{distinct} distinct organisations in the cohort < policy minimum {policy.MinDistinctOrganisations}");
        }

        if (p.Clip > policy.MaxClip)
        {
            return Decline(DeclineReason.ClipAbovePolicy, "max-clip", $"clip {p.Clip:G6} > policy maximum {policy.MaxClip:G6}");
        }

        if (p.Delta > policy.Delta)
        {
            return Decline(DeclineReason.DeltaAbovePolicy, "max-delta", $"round δ {p.Delta:G3} > policy δ {policy.Delta:G3}");
        }

        if (p.NoiseMultiplierAtThreshold < policy.MinNoiseMultiplier)
        {
            return Decline(DeclineReason.NoiseBelowPolicy, "min-noise", $"noise multiplier at the threshold {p.NoiseMultiplierAtThreshold:G6} < policy minimum {policy.MinNoiseMultiplier:G6}");
        }

        if (offer.ClaimedRoundEpsilon is { } claimed)
        {
            // The coordinator's claim is its own (amplified, at the announced q) figure at the plan's δ: compared like for like.
            var recomputed = DistributedDiscreteGaussianAccountant.RoundCurve(p, p.MinClients).ToEpsilon(p.Delta).Epsilon;
            if (!(claimed >= recomputed * (1 - 1e-9)))
            {
                return Decline(DeclineReason.ClaimedEpsilonUnderstated, "claimed-epsilon", $"the coordinator claims ε = {claimed:G6}; recomputed {recomputed:G6}");
            }
        }

        var atCertainty = DistributedDiscreteGaussianAccountant.RoundCurve(p with { SamplingRate = 1.0 }, t).ToEpsilon(policy.Delta).Epsilon;
        var amplified = p.SamplingRate >= 1 ? atCertainty : DistributedDiscreteGaussianAccountant.RoundCurve(p, t).ToEpsilon(policy.Delta).Epsilon;
        return new PolicyDecision(DeclineReason.None,
            $"Consent check passed: round ε = {atCertainty:G6} at q = 1 (charged); amplified at the announced q = {p.SamplingRate:G3}: {amplified:G6} (third parties only, not charged).",
            atCertainty, double.NaN)
        { AmplifiedRoundEpsilon = amplified };
    }

    internal static PolicyDecision Decline(DeclineReason reason, string rule, string detail, double roundEpsilon = double.NaN, double totalAfter = double.NaN) =>
        new(reason, $"Declined by rule '{rule}': {detail}.", roundEpsilon, totalAfter) { Rule = rule };

    private static string? GraphProblem(SecAggGraph graph, int n, int k, int t)
    {
        if (n < 2)
        {
            return $"a cohort needs at least 2 members, got n = {n}";
        }

        switch (graph)
        {
            case SecAggGraph.Full when k != n - 1:
                return $"the full graph has degree k = n − 1 = {n - 1}, got k = {k}";
            case SecAggGraph.Full:
                break;
            case SecAggGraph.Harary when k < Math.Min(2, n - 1) || k > n - 1 || ((k & 1) == 1 && (n & 1) == 1):
                return $"a Harary graph needs min(2, n − 1) ≤ k ≤ n − 1 and not both k and n odd, got k = {k}, n = {n}";
            case SecAggGraph.Harary:
                break;
            default:
                return $"unknown graph kind {(int)graph}";
        }

        return t < 2 || t > k + 1 ? $"the threshold must be in [2, k + 1] = [2, {k + 1}], got t = {t}" : null;
    }
}
