using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Mechanism;

namespace SecureFedRec.Privacy.Policy;

/// <summary>
/// The client's gate in front of the mechanism: the only way for client code to obtain a
/// <see cref="DistributedDiscreteGaussianMechanism"/> for an announced round. The client round calls, in order:
/// <list type="number">
/// <item><see cref="Check"/> (optional, read-only): <see cref="RoundConsentCheck"/> (threshold, cohort, graph, threat
/// mode, organisations bound to the DP plan and the policy) plus the ledger rules (round id once, abort limit, budget
/// at q = 1 with pending reservations included);</item>
/// <item><see cref="Reserve"/> before the client sends anything for the round (before any key is made): re-checks and
/// writes a durable pending record, then hands out the mechanism;</item>
/// <item><see cref="MarkDisclosed"/> right before the client hands its masked input to the transport: the charge
/// becomes final; send only on <see cref="LedgerOutcome.Disclosed"/>;</item>
/// <item><see cref="Release"/> when the round aborts: refunds a reservation that was not disclosed, records the abort
/// (it counts towards the abort limit when keys had been advertised).</item>
/// </list>
/// Everything is accounted at q = 1 against the coordinator (it chose and saw the cohort). The older
/// <see cref="Consent"/> (charge up front, no cohort binding) remains for callers that have not moved yet; it also
/// accounts at q = 1. Thread-safe (one lock; the ledger serialises writes).
/// </summary>
public sealed class ClientPrivacyGuard
{
    private readonly ClientPrivacyPolicy _policy;
    private readonly IPrivacyLedger _ledger;
    private readonly Lock _gate = new();

    /// <summary>Creates the guard; the ledger must measure at the policy's δ.</summary>
    public ClientPrivacyGuard(ClientPrivacyPolicy policy, IPrivacyLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(ledger);
        if (ledger.Budget.Delta != policy.Delta)
        {
            throw new ArgumentException($"The client ledger measures at δ = {ledger.Budget.Delta:G3}, the policy at δ = {policy.Delta:G3}.", nameof(ledger));
        }

        _policy = policy;
        _ledger = ledger;
    }

    /// <summary>The client's ledger.</summary>
    public IPrivacyLedger Ledger => _ledger;

    /// <summary>
    /// Evaluates and, when accepted, records the round in the client's ledger and returns the mechanism to encode
    /// with; otherwise the decline reason and no mechanism.
    /// </summary>
    public (PolicyDecision Decision, DistributedDiscreteGaussianMechanism? Mechanism) Consent(RoundAnnouncement announcement)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        lock (_gate)
        {
            var decision = _policy.Evaluate(announcement, _ledger);
            if (!decision.Accepted)
            {
                return (decision, null);
            }

            var p = announcement.Parameters;
            var charge = _ledger.Charge(new RoundCharge(announcement.RoundId, p with { SamplingRate = 1.0 }, p.MinClients));
            if (charge.Outcome != LedgerOutcome.Charged)
            {
                var reason = charge.Outcome == LedgerOutcome.BudgetExceeded ? DeclineReason.BudgetExceeded : DeclineReason.RoundAlreadyContributed;
                return (new PolicyDecision(reason, charge.Message, charge.RoundEpsilon, charge.TotalBefore), null);
            }

            return (decision, new DistributedDiscreteGaussianMechanism(p));
        }
    }

    /// <summary>Reservations left pending by a crash, found when the ledger was opened (charged; report them). Empty for a ledger without the disclosure protocol.</summary>
    public IReadOnlyList<Reservation> RecoveredReservations => _ledger is IDisclosureLedger d ? d.RecoveredReservations : [];

    /// <summary>
    /// Step 1 (read-only): would the client take part in <paramref name="offer"/>? <see cref="RoundConsentCheck"/>,
    /// then the ledger rules in order: <c>round-once</c> (<see cref="DeclineReason.RoundAlreadyContributed"/>),
    /// <c>abort-limit</c> (<see cref="DeclineReason.TooManyAbortedRounds"/>), <c>budget</c>
    /// (<see cref="DeclineReason.BudgetExceeded"/>, at q = 1, pending reservations included). Nothing is recorded.
    /// Throws <see cref="InvalidOperationException"/> when the ledger does not implement <see cref="IDisclosureLedger"/>.
    /// </summary>
    public PolicyDecision Check(RoundOffer offer)
    {
        ArgumentNullException.ThrowIfNull(offer);
        lock (_gate)
        {
            return CheckCore(offer, Disclosure());
        }
    }

    /// <summary>
    /// Step 2: call before the client sends anything for the round. Re-runs <see cref="Check"/> and, when accepted,
    /// writes and fsyncs a pending reservation of the round's ε (at q = 1, at t) and returns the mechanism to encode
    /// with; otherwise the decline (typed reason and rule) and no mechanism, nothing recorded.
    /// </summary>
    public (PolicyDecision Decision, DistributedDiscreteGaussianMechanism? Mechanism) Reserve(RoundOffer offer)
    {
        ArgumentNullException.ThrowIfNull(offer);
        lock (_gate)
        {
            var ledger = Disclosure();
            var decision = CheckCore(offer, ledger);
            if (!decision.Accepted)
            {
                return (decision, null);
            }

            var reserved = ledger.Reserve(new RoundCharge(offer.RoundId, offer.Plan, offer.Threshold));
            if (reserved.Outcome != LedgerOutcome.Reserved)
            {
                return (Refusal(reserved, decision.RoundEpsilon), null);
            }

            return (decision with { Message = reserved.Message, TotalAfter = reserved.TotalAfter }, new DistributedDiscreteGaussianMechanism(offer.Plan));
        }
    }

    /// <summary>
    /// Step 3: the client is about to send its masked input (the first message from which its input can enter a
    /// released sum without any further message of its own). Makes the reservation a final charge; send only on
    /// <see cref="LedgerOutcome.Disclosed"/>.
    /// </summary>
    public LedgerDecision MarkDisclosed(string roundId)
    {
        lock (_gate)
        {
            return Disclosure().MarkDisclosed(roundId);
        }
    }

    /// <summary>
    /// Step 4 (on abort, any phase): releases a reservation that was not disclosed (refund) or records an abort after
    /// disclosure (the charge stays). <paramref name="keysAdvertised"/>: whether the client had sent its advertised
    /// keys; such aborts count towards the policy's abort limit.
    /// </summary>
    public LedgerDecision Release(string roundId, bool keysAdvertised, string reason)
    {
        lock (_gate)
        {
            return Disclosure().Release(roundId, keysAdvertised, reason);
        }
    }

    private static PolicyDecision Refusal(LedgerDecision d, double roundEpsilon) => d.Outcome switch
    {
        LedgerOutcome.BudgetExceeded => RoundConsentCheck.Decline(DeclineReason.BudgetExceeded, "budget", d.Message, d.RoundEpsilon, d.TotalBefore),
        LedgerOutcome.RoundAlreadyRecorded => RoundConsentCheck.Decline(DeclineReason.RoundAlreadyContributed, "round-once", d.Message, roundEpsilon, d.TotalBefore),
        _ => RoundConsentCheck.Decline(DeclineReason.InvalidParameters, "plan-valid", d.Message, roundEpsilon, d.TotalBefore),
    };

    private IDisclosureLedger Disclosure() => _ledger as IDisclosureLedger
        ?? throw new InvalidOperationException($"The client ledger ({_ledger.GetType().Name}) does not implement IDisclosureLedger; use FilePrivacyLedger.");

    private PolicyDecision CheckCore(RoundOffer offer, IDisclosureLedger ledger)
    {
        var before = ledger.TotalEpsilon;
        var decision = RoundConsentCheck.Evaluate(_policy, offer);
        if (!decision.Accepted)
        {
            return decision with { TotalAfter = before };
        }

        if (ledger.Reservations.Any(r => r.RoundId == offer.RoundId) || ledger.Entries.Any(e => e.RoundId == offer.RoundId))
        {
            return RoundConsentCheck.Decline(DeclineReason.RoundAlreadyContributed, "round-once", $"round '{offer.RoundId}' is already in the ledger (a second noisy copy would leak more; a round id is reserved once)", decision.RoundEpsilon, before);
        }

        var since = ledger.Clock.GetUtcNow() - _policy.AbortWindow;
        var aborts = ledger.CountAbortsSince(since);
        if (aborts >= _policy.MaxAbortedRounds)
        {
            return RoundConsentCheck.Decline(DeclineReason.TooManyAbortedRounds, "abort-limit",
                $"{aborts} rounds aborted after this client advertised its keys within the last {_policy.AbortWindow} (policy maximum {_policy.MaxAbortedRounds}); declining until the window slides", decision.RoundEpsilon, before);
        }

        var preview = ledger.PreviewReservation(new RoundCharge(offer.RoundId, offer.Plan, offer.Threshold));
        if (preview.Outcome == LedgerOutcome.Reserved && preview.TotalAfter > _policy.MaxTotalEpsilon)
        {
            return RoundConsentCheck.Decline(DeclineReason.BudgetExceeded, "budget", $"total would be {preview.TotalAfter:G6} (pending reservations included, q = 1) > policy maximum {_policy.MaxTotalEpsilon:G6}", preview.RoundEpsilon, before);
        }

        if (preview.Outcome != LedgerOutcome.Reserved)
        {
            return Refusal(preview, decision.RoundEpsilon);
        }

        return decision with
        {
            Message = $"Accepted: round ε = {preview.RoundEpsilon:G6} at q = 1 (charged), total would be {preview.TotalAfter:G6} of {_policy.MaxTotalEpsilon:G6}; amplified third-party figure {decision.AmplifiedRoundEpsilon:G6} (not charged).",
            RoundEpsilon = preview.RoundEpsilon,
            TotalAfter = preview.TotalAfter,
        };
    }
}
