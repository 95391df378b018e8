using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Rounds.Server;

/// <summary>
/// Why a round host stopped opening rounds: the round it was about to open would, charged at its worst case (the
/// fewest contributors its noise is calibrated for, the threshold t), raise the ledger's total above its budget.
/// </summary>
/// <param name="RoundId">The round id the refused round would have had.</param>
/// <param name="Cohort">Clients selected for it (returned to nobody: they are told the coordinator has finished).</param>
/// <param name="Contributors">Contributors it was checked at (t).</param>
/// <param name="RoundEpsilon">ε of that round alone at the budget's δ.</param>
/// <param name="TotalEpsilon">The ledger's total before it.</param>
/// <param name="Budget">The ledger's budget ε.</param>
/// <param name="Reason">The ledger's explanation (one line).</param>
public sealed record BudgetExhaustion(ulong RoundId, int Cohort, int Contributors, double RoundEpsilon, double TotalEpsilon, double Budget, string Reason);

/// <summary>The budget check before a round opens (see <see cref="BudgetExhausted"/>).</summary>
public sealed partial class RoundHost
{
    private BudgetExhaustion? _exhausted;

    /// <summary>
    /// Set once the host refused to open a round because its ledger could not charge it (at the threshold t, the most
    /// ε the round can cost) within the budget: then no round opens any more (<see cref="Finished"/> is true and every
    /// JoinRound answers <see cref="Transport.JoinOutcome.Finished"/>), so no client spends ε on a round that could not
    /// be released. Null while rounds still fit. A restart with a larger budget checks again.
    /// </summary>
    public BudgetExhaustion? BudgetExhausted => Volatile.Read(ref _exhausted);

    /// <summary>True (and <see cref="BudgetExhausted"/> set, the event raised once) when the ledger cannot release <paramref name="draft"/>.</summary>
    private bool RefuseOverBudget(RoundPlan draft, int cohort)
    {
        RoundContract contract = draft.Contract;
        if (!contract.IsPrivate)
        {
            return false;
        }

        int contributors = contract.AccountingParameters.MinClients;
        LedgerDecision preview = _ledger.Preview(new RoundCharge(contract.LedgerRoundId, contract.AccountingParameters, contributors));
        if (preview.Outcome != LedgerOutcome.BudgetExceeded)
        {
            return false;
        }

        var exhaustion = new BudgetExhaustion(contract.RoundId, cohort, contributors, preview.RoundEpsilon, preview.TotalBefore,
            _ledger.Budget.Epsilon, preview.Message);
        if (Interlocked.CompareExchange(ref _exhausted, exhaustion, null) is null)
        {
            _events.OnBudgetExhausted(exhaustion);
            Signal();
        }

        return true;
    }
}
