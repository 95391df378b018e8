using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Rounds;

/// <summary>
/// A privacy ledger held in memory only: for simulations and tests, where "durable" means "for the life of the run".
/// Same accounting and refusals as every <see cref="PrivacyLedgerBase"/>. Thread-safe.
/// </summary>
public sealed class MemoryPrivacyLedger : PrivacyLedgerBase
{
    /// <summary>Creates an empty ledger with <paramref name="budget"/>.</summary>
    public MemoryPrivacyLedger(PrivacyBudget budget, TimeProvider? timeProvider = null)
        : base(budget, timeProvider)
    {
    }

    /// <inheritdoc />
    protected override void Persist(LedgerEntry entry)
    {
        // Nothing to write: the base class keeps the entry in memory.
    }
}
