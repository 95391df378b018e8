using System.Text.Json;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Coordinator;

/// <summary>
/// The coordinator's privacy ledger (<see cref="IPrivacyLedger"/>, accounting by <see cref="PrivacyLedgerBase"/>)
/// persisted in the coordinator's store, so that it lives and is backed up with the model history. A charge is durable
/// in the store before <see cref="IPrivacyLedger.Charge"/> returns; the store's unique round id makes a second charge
/// of one round impossible even across restarts and coordinator instances.
/// </summary>
/// <remarks>Thread-safe. Opening first verifies the store's hash chains and ledger anchors
/// (<see cref="ICoordinatorStore.VerifyLedgerAsync"/>: an edited, reordered or deleted row, or a ledger truncated below
/// the head the latest model was released under) and then recomputes every stored figure; either failure refuses to open
/// with a <see cref="LedgerCorruptException"/> whose message is one line naming the first broken row.</remarks>
public sealed class StorePrivacyLedger : PrivacyLedgerBase
{
    private readonly ICoordinatorStore _store;

    private StorePrivacyLedger(ICoordinatorStore store, PrivacyBudget budget, TimeProvider? time)
        : base(budget, time)
    {
        _store = store;
    }

    /// <summary>Loads the ledger from <paramref name="store"/>; throws <see cref="LedgerCorruptException"/> when it disagrees with itself.</summary>
    public static async Task<StorePrivacyLedger> OpenAsync(ICoordinatorStore store, PrivacyBudget budget, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var ledger = new StorePrivacyLedger(store, budget, time);
        LedgerVerification chain = await store.VerifyLedgerAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!chain.Intact)
        {
            throw new LedgerCorruptException("Privacy ledger in the store is not intact: " + chain
                + ". The coordinator will not start; run `securefedrec ledger verify` and restore the store from a backup.");
        }

        ledger.Head = chain.Head;
        IReadOnlyList<LedgerRecord> rows = await store.ListLedgerAsync(cancellationToken).ConfigureAwait(false);
        var entries = rows.Select(r => new LedgerEntry(r.Sequence, r.RoundId, r.RecordedAt,
            JsonSerializer.Deserialize<MechanismParameters>(r.ParametersJson)
                ?? throw new LedgerCorruptException("store", (int)r.Sequence, "missing mechanism parameters"),
            r.ContributingClients, r.RoundEpsilon, r.TotalEpsilon)).ToList();
        int bad = ledger.Restore(entries);
        if (bad >= 0)
        {
            throw new LedgerCorruptException("store", bad + 1, "entry disagrees with its recomputed ε or sequence");
        }

        return ledger;
    }

    /// <summary>The ledger chain head after the last charge (as verified on open, then as appended): publish it so clients and
    /// auditors can later detect a truncated or rewritten ledger.</summary>
    public LedgerHead Head { get; private set; } = LedgerHead.Empty;

    /// <inheritdoc />
    protected override void Persist(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var record = new LedgerRecord(entry.Sequence, entry.RoundId, entry.RecordedAt,
            JsonSerializer.Serialize(entry.Parameters), entry.ContributingClients, entry.RoundEpsilon, entry.TotalEpsilon);
        // The base class holds its lock across this call: blocking here keeps decisions and writes in one order.
        (LedgerRecord stored, bool added) = _store.AppendLedgerAsync(record).GetAwaiter().GetResult();
        if (!added || stored.Sequence != entry.Sequence)
        {
            throw new StoreConflictException("The store already holds ledger entry " + stored.Sequence + " for round " + stored.RoundId + ".");
        }

        Head = new LedgerHead(stored.Sequence, stored.Hash);
    }
}
