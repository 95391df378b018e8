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
}

/// <summary>
/// A client's (institution's) privacy policy: the most total ε it spends (at its δ), the least central noise it
/// accepts, the largest clip, the threat modes it accepts and the smallest threshold fraction t/n. <see cref="Evaluate"/>
/// recomputes the round's ε itself from the announced parameters at the threshold t (the worst case the protocol
/// accepts) and checks it against the client's own ledger; the coordinator's claim is only compared, never used.
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

        var preview = ledger.Preview(new RoundCharge(announcement.RoundId, p, p.MinClients));
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
