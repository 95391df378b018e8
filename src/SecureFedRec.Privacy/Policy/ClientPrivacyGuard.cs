using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Mechanism;

namespace SecureFedRec.Privacy.Policy;

/// <summary>
/// The client's gate in front of the mechanism: the only way for client code to obtain a
/// <see cref="DistributedDiscreteGaussianMechanism"/> for an announced round is <see cref="Consent"/>, which checks the
/// announcement against the <see cref="ClientPrivacyPolicy"/> and the client's own ledger and records the spend (at the
/// threshold t, the worst case) durably <em>before</em> handing out the mechanism. So the coordinator cannot spend a
/// client's budget without the client's consent, and a round id is consented to at most once. Thread-safe (the
/// ledger serialises charges).
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
            var charge = _ledger.Charge(new RoundCharge(announcement.RoundId, p, p.MinClients));
            if (charge.Outcome != LedgerOutcome.Charged)
            {
                var reason = charge.Outcome == LedgerOutcome.BudgetExceeded ? DeclineReason.BudgetExceeded : DeclineReason.RoundAlreadyContributed;
                return (new PolicyDecision(reason, charge.Message, charge.RoundEpsilon, charge.TotalBefore), null);
            }

            return (decision, new DistributedDiscreteGaussianMechanism(p));
        }
    }
}
