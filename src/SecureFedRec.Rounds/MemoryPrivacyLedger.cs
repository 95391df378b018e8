using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Rounds;

/// <summary>
/// A privacy ledger held in memory only: for simulations and tests, where "durable" means "for the life of the run".
/// Same accounting, refusals and disclosure protocol (<see cref="IDisclosureLedger"/>: reserve, disclose, release) as
/// every <see cref="PrivacyLedgerBase"/>. Thread-safe.
/// </summary>
public sealed class MemoryPrivacyLedger : PrivacyLedgerBase, IDisclosureLedger
{
    /// <summary>Creates an empty ledger with <paramref name="budget"/>.</summary>
    public MemoryPrivacyLedger(PrivacyBudget budget, TimeProvider? timeProvider = null)
        : base(budget, timeProvider)
    {
    }

    /// <inheritdoc />
    public IReadOnlyList<Reservation> Reservations => ReservationsCore();

    /// <inheritdoc />
    public IReadOnlyList<Reservation> RecoveredReservations => RecoveredCore();

    /// <inheritdoc />
    public LedgerDecision PreviewReservation(RoundCharge charge) => PreviewReservationCore(charge);

    /// <inheritdoc />
    public LedgerDecision Reserve(RoundCharge charge) => ReserveCore(charge);

    /// <inheritdoc />
    public LedgerDecision MarkDisclosed(string roundId) => MarkDisclosedCore(roundId);

    /// <inheritdoc />
    public LedgerDecision Release(string roundId, bool keysAdvertised, string reason) => ReleaseCore(roundId, keysAdvertised, reason);

    /// <inheritdoc />
    public int CountAbortsSince(DateTimeOffset since) => CountAbortsSinceCore(since);

    /// <inheritdoc />
    protected override void Persist(LedgerEntry entry)
    {
        // Nothing to write: the base class keeps the entry in memory.
    }

    /// <inheritdoc />
    protected override void PersistDisclosure(DisclosureRecord record)
    {
        // Nothing to write: the base class keeps the reservation in memory.
    }
}
