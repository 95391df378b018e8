using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Privacy.Policy;

/// <summary>The adversary a round's secure aggregation is configured against (announced by the coordinator).</summary>
public enum ThreatMode
{
    /// <summary>Honest-but-curious coordinator (SecAgg without the consistency check).</summary>
    CuriousServer = 1,

    /// <summary>Actively malicious coordinator (with the signed consistency check).</summary>
    SemiMalicious = 2,
}

/// <summary>Why a client declines a round (closed vocabulary).</summary>
public enum DeclineReason
{
    /// <summary>Not declined.</summary>
    None = 0,

    /// <summary>The announced parameters are malformed or inconsistent.</summary>
    InvalidParameters = 1,

    /// <summary>The central noise multiplier at the threshold (√t·σ·γ/c) is below the policy's minimum.</summary>
    NoiseBelowPolicy = 2,

    /// <summary>The clip norm is above the policy's maximum.</summary>
    ClipAbovePolicy = 3,

    /// <summary>The round's ε, recomputed by the client, would push its total above its budget.</summary>
    BudgetExceeded = 4,

    /// <summary>The round's threat mode is not one the policy accepts.</summary>
    ThreatModeNotAccepted = 5,

    /// <summary>The threshold t/n is below the policy's minimum fraction.</summary>
    ThresholdBelowPolicy = 6,

    /// <summary>The round's δ is above the client's δ.</summary>
    DeltaAbovePolicy = 7,

    /// <summary>The client already contributed to this round id (a second noisy copy would leak more).</summary>
    RoundAlreadyContributed = 8,

    /// <summary>The coordinator's claimed ε for the round is below the client's recomputation.</summary>
    ClaimedEpsilonUnderstated = 9,

    /// <summary>Rule <c>threshold-bound</c>: the secure-aggregation threshold t differs from the DP plan's <c>MinClients</c>.</summary>
    ThresholdNotBound = 10,

    /// <summary>Rule <c>cohort-bound</c>: the cohort size n is outside the policy's tolerance around the plan's <c>PlannedClients</c>.</summary>
    CohortSizeNotBound = 11,

    /// <summary>Rule <c>malicious-threshold</c>: in malicious mode the threshold does not satisfy 2t &gt; k + 1.</summary>
    MaliciousThresholdTooLow = 12,

    /// <summary>Rule <c>min-cohort</c>: the cohort is smaller than the policy's minimum cohort.</summary>
    CohortBelowPolicy = 13,

    /// <summary>Rule <c>min-threshold</c>: the threshold t is below the policy's minimum t.</summary>
    ThresholdBelowMinimum = 14,

    /// <summary>Rule <c>min-organisations</c>: fewer distinct organisations in the cohort than the policy's minimum.</summary>
    TooFewOrganisations = 15,

    /// <summary>Rule <c>honest-but-curious-opt-in</c>: an honest-but-curious round without the policy's explicit opt-in.</summary>
    HonestButCuriousNotOptedIn = 16,

    /// <summary>Rule <c>abort-limit</c>: too many rounds aborted after this client advertised its keys, within the policy's window.</summary>
    TooManyAbortedRounds = 17,

    /// <summary>Rule <c>graph-shape</c>: the graph kind, degree k, cohort size and threshold do not form a valid secure-aggregation graph.</summary>
    InvalidGraph = 18,

    /// <summary>Rule <c>roster-cohort</c>: the organisations supplied from the verified roster do not cover the cohort (one non-empty name per member).</summary>
    CohortRosterMismatch = 19,
}

/// <summary>What the coordinator announces before a round (public).</summary>
/// <param name="RoundId">Round id (printable ASCII, ≤ 128 characters).</param>
/// <param name="Parameters">The mechanism parameters.</param>
/// <param name="ThreatMode">The secure-aggregation threat mode.</param>
/// <param name="ClaimedRoundEpsilon">The coordinator's own ε for the round at the round's δ (checked, never trusted).</param>
public sealed record RoundAnnouncement(string RoundId, MechanismParameters Parameters, ThreatMode ThreatMode, double ClaimedRoundEpsilon);

/// <summary>A client's decision on an announced round.</summary>
/// <param name="Reason"><see cref="DeclineReason.None"/> when accepted.</param>
/// <param name="Message">Explanation.</param>
/// <param name="RoundEpsilon">ε of the round as the client recomputed it (at the threshold t, at the client's δ).</param>
/// <param name="TotalAfter">The client's total ε if it contributes.</param>
public sealed record PolicyDecision(DeclineReason Reason, string Message, double RoundEpsilon, double TotalAfter)
{
    /// <summary>True when the client may contribute.</summary>
    public bool Accepted => Reason == DeclineReason.None;

    /// <summary>The id of the rule that declined (e.g. <c>threshold-bound</c>; list in <c>protocol-spec/dp.md</c> §7.3), null when accepted.</summary>
    public string? Rule { get; init; }

    /// <summary>
    /// Third-party figure, never charged: the round's ε amplified by subsampling at the coordinator's announced q (at
    /// the client's δ), meaningful only for an observer who sees nothing but released models and trusts the
    /// coordinator's sampling. <see cref="RoundEpsilon"/> (at q = 1) is what the client's budget is charged. NaN when
    /// not computed.
    /// </summary>
    public double AmplifiedRoundEpsilon { get; init; } = double.NaN;
}

/// <summary>
/// A client's (institution's) privacy policy: the most total ε it spends (at its δ), the least central noise it
/// accepts, the largest clip, the threat modes it accepts and the smallest threshold fraction t/n. <see cref="Evaluate"/>
/// recomputes the round's ε itself from the announced parameters at the threshold t (the worst case the protocol
/// accepts) and checks it against the client's own ledger; the coordinator's claim is only compared, never used.
/// The client accounts as if sampled with certainty (q = 1): the coordinator chose and saw the cohort, so the
/// announced sampling rate never lowers what is charged. The binding of the secure-aggregation round to the plan
/// (threshold, cohort, graph, organisations, threat mode, aborted rounds) is <see cref="RoundConsentCheck"/>.
/// Immutable, thread-safe.
/// </summary>
public sealed record ClientPrivacyPolicy
{
    /// <summary>Largest total ε over all rounds, at <see cref="Delta"/>.</summary>
    public required double MaxTotalEpsilon { get; init; }

    /// <summary>δ at which the client measures ε; rounds with a larger δ are declined.</summary>
    public required double Delta { get; init; }

    /// <summary>Smallest accepted central noise multiplier at the threshold, √t·σ·γ/c.</summary>
    public required double MinNoiseMultiplier { get; init; }

    /// <summary>Largest accepted clip norm c.</summary>
    public required double MaxClip { get; init; }

    /// <summary>Threat modes the client accepts.</summary>
    public required IReadOnlySet<ThreatMode> AcceptedThreatModes { get; init; }

    /// <summary>Smallest accepted t/n.</summary>
    public double MinThresholdFraction { get; init; } = 0.5;

    /// <summary>Policy key <c>minCohortSize</c>: smallest cohort n the client joins (default 3).</summary>
    public int MinCohortSize { get; init; } = 3;

    /// <summary>Policy key <c>minThreshold</c>: smallest secure-aggregation threshold t (default 3: with t = 2 one colluding survivor and the coordinator isolate the client's input).</summary>
    public int MinThreshold { get; init; } = 3;

    /// <summary>
    /// Policy key <c>minDistinctOrganisations</c>: fewest distinct organisations (from the verified roster) among the
    /// cohort members, this client's included (default 3: one colluding organisation cannot subtract itself to
    /// isolate another).
    /// </summary>
    public int MinDistinctOrganisations { get; init; } = 3;

    /// <summary>
    /// Policy key <c>cohortSizeTolerance</c>, in [0, 1): the cohort size n may differ from the plan's
    /// <c>PlannedClients</c> by at most ⌊tolerance·PlannedClients⌋ (default 0: exactly the plan). σ is calibrated at t,
    /// which is bound exactly, so the tolerance changes dropout robustness and t/n, never the charged ε.
    /// </summary>
    public double CohortSizeTolerance { get; init; }

    /// <summary>
    /// Policy key <c>allowHonestButCurious</c>: an explicit opt-in to honest-but-curious rounds (default false). Without
    /// it such rounds are declined even when <see cref="AcceptedThreatModes"/> lists them: they do not protect against
    /// a coordinator that lies about dropouts.
    /// </summary>
    public bool AllowHonestButCurious { get; init; }

    /// <summary>
    /// Policy key <c>maxAbortedRounds</c>: at most this many rounds aborted after this client advertised its keys
    /// within <see cref="AbortWindow"/>; with that many recorded, further rounds are declined until the window slides
    /// (default 3; 0 refuses after any abort).
    /// </summary>
    public int MaxAbortedRounds { get; init; } = 3;

    /// <summary>Policy key <c>abortWindow</c>: the sliding window of <see cref="MaxAbortedRounds"/> (default 24 h).</summary>
    public TimeSpan AbortWindow { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first policy key out of range (validate on start).</summary>
    public void Validate()
    {
        static void Require(bool ok, string key, string rule)
        {
            if (!ok)
            {
                throw new ArgumentException($"Client privacy policy: {key} {rule}.", key);
            }
        }

        Require(MaxTotalEpsilon > 0 && !double.IsInfinity(MaxTotalEpsilon), "maxTotalEpsilon", "must be positive and finite");
        Require(Delta > 0 && Delta < 1, "delta", "must be in (0, 1)");
        Require(MinNoiseMultiplier >= 0 && !double.IsInfinity(MinNoiseMultiplier), "minNoiseMultiplier", "must be ≥ 0 and finite");
        Require(MaxClip > 0, "maxClip", "must be positive");
        Require(AcceptedThreatModes is { Count: > 0 }, "acceptedThreatModes", "must name at least one mode");
        Require(MinThresholdFraction >= 0 && MinThresholdFraction <= 1, "minThresholdFraction", "must be in [0, 1]");
        Require(MinCohortSize >= 2, "minCohortSize", "must be ≥ 2");
        Require(MinThreshold >= 2, "minThreshold", "must be ≥ 2");
        Require(MinDistinctOrganisations >= 1, "minDistinctOrganisations", "must be ≥ 1");
        Require(CohortSizeTolerance >= 0 && CohortSizeTolerance < 1, "cohortSizeTolerance", "must be in [0, 1)");
        Require(MaxAbortedRounds >= 0, "maxAbortedRounds", "must be ≥ 0");
        Require(AbortWindow > TimeSpan.Zero, "abortWindow", "must be positive");
    }

    /// <summary>Checks an announcement against this policy and the client's <paramref name="ledger"/> (nothing recorded).</summary>
    public PolicyDecision Evaluate(RoundAnnouncement announcement, IPrivacyLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        ArgumentNullException.ThrowIfNull(ledger);
        var p = announcement.Parameters;
        var before = ledger.TotalEpsilon;
        if (p is null)
        {
            return Decline(DeclineReason.InvalidParameters, "No parameters announced.", before);
        }

        try
        {
            p.Validate();
        }
        catch (ArgumentException ex)
        {
            return Decline(DeclineReason.InvalidParameters, ex.Message, before);
        }

        if (!PrivacyLedgerBase.IsValidRoundId(announcement.RoundId))
        {
            return Decline(DeclineReason.InvalidParameters, "Round ids are 1..128 printable ASCII characters.", before);
        }

        if (ledger.Entries.Any(e => e.RoundId == announcement.RoundId))
        {
            return Decline(DeclineReason.RoundAlreadyContributed, $"Already contributed to round '{announcement.RoundId}'.", before);
        }

        if (!AcceptedThreatModes.Contains(announcement.ThreatMode))
        {
            return Decline(DeclineReason.ThreatModeNotAccepted, $"Threat mode {announcement.ThreatMode} is not accepted.", before);
        }

        if (p.Clip > MaxClip)
        {
            return Decline(DeclineReason.ClipAbovePolicy, $"Clip {p.Clip:G6} > policy maximum {MaxClip:G6}.", before);
        }

        if ((double)p.MinClients / p.PlannedClients < MinThresholdFraction)
        {
            return Decline(DeclineReason.ThresholdBelowPolicy, $"Threshold t/n = {p.MinClients}/{p.PlannedClients} < {MinThresholdFraction:G3}.", before);
        }

        if (p.Delta > Delta)
        {
            return Decline(DeclineReason.DeltaAbovePolicy, $"Round δ {p.Delta:G3} > policy δ {Delta:G3}.", before);
        }

        if (p.NoiseMultiplierAtThreshold < MinNoiseMultiplier)
        {
            return Decline(DeclineReason.NoiseBelowPolicy, $"Noise multiplier at the threshold {p.NoiseMultiplierAtThreshold:G6} < policy minimum {MinNoiseMultiplier:G6}.", before);
        }

        var roundAtRoundDelta = DistributedDiscreteGaussianAccountant.RoundCurve(p, p.MinClients).ToEpsilon(p.Delta).Epsilon;
        if (announcement.ClaimedRoundEpsilon < roundAtRoundDelta * (1 - 1e-9))
        {
            return Decline(DeclineReason.ClaimedEpsilonUnderstated, $"The coordinator claims ε = {announcement.ClaimedRoundEpsilon:G6}; recomputed {roundAtRoundDelta:G6}.", before);
        }

        // Against the coordinator the client accounts at q = 1 (it chose and saw the cohort), whatever q it announces.
        var preview = ledger.Preview(new RoundCharge(announcement.RoundId, p with { SamplingRate = 1.0 }, p.MinClients));
        if (preview.Outcome == LedgerOutcome.BudgetExceeded || (preview.Outcome == LedgerOutcome.Charged && preview.TotalAfter > MaxTotalEpsilon))
        {
            var message = preview.Outcome == LedgerOutcome.BudgetExceeded ? preview.Message : $"Total would be {preview.TotalAfter:G6} > policy maximum {MaxTotalEpsilon:G6}.";
            return new PolicyDecision(DeclineReason.BudgetExceeded, message, preview.RoundEpsilon, before);
        }

        if (preview.Outcome != LedgerOutcome.Charged)
        {
            return Decline(DeclineReason.InvalidParameters, preview.Message, before);
        }

        return new PolicyDecision(DeclineReason.None, $"Accepted: round ε = {preview.RoundEpsilon:G6}, total would be {preview.TotalAfter:G6} of {MaxTotalEpsilon:G6}.", preview.RoundEpsilon, preview.TotalAfter);
    }

    private static PolicyDecision Decline(DeclineReason reason, string message, double before) => new(reason, message, double.NaN, before);
}
