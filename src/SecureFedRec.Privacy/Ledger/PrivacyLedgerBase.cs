using SecureFedRec.Privacy.Accounting;

namespace SecureFedRec.Privacy.Ledger;

/// <summary>
/// The accounting and decision logic shared by every <see cref="IPrivacyLedger"/> store: RDP composition of the
/// recorded rounds (each round's curve from <see cref="DistributedDiscreteGaussianAccountant.RoundCurve"/> with its
/// actual contributing-client count, over <see cref="RdpAccountant.IntegerOrders"/>), budget check, idempotence per
/// round id. A store derives from it and implements <see cref="Persist"/> (durable before it returns). Thread-safe:
/// one lock serialises decisions and writes.
/// </summary>
public abstract class PrivacyLedgerBase : IPrivacyLedger
{
    private readonly Lock _gate = new();
    private readonly List<LedgerEntry> _entries = [];
    private readonly Dictionary<string, LedgerEntry> _byRound = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private RdpCurve? _composed;

    /// <summary>Creates an empty ledger with a budget.</summary>
    protected PrivacyLedgerBase(PrivacyBudget budget, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(budget);
        budget.Validate();
        Budget = budget;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public PrivacyBudget Budget { get; }

    /// <inheritdoc />
    public IReadOnlyList<LedgerEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    /// <inheritdoc />
    public double TotalEpsilon
    {
        get
        {
            lock (_gate)
            {
                return _composed is null ? 0 : _composed.ToEpsilon(Budget.Delta).Epsilon;
            }
        }
    }

    /// <inheritdoc />
    public LedgerDecision Preview(RoundCharge charge)
    {
        lock (_gate)
        {
            return Decide(charge, out _);
        }
    }

    /// <inheritdoc />
    public LedgerDecision Charge(RoundCharge charge)
    {
        lock (_gate)
        {
            var decision = Decide(charge, out var composed);
            if (decision.Outcome != LedgerOutcome.Charged)
            {
                return decision;
            }

            var entry = new LedgerEntry(_entries.Count + 1, charge.RoundId, _time.GetUtcNow(), charge.Parameters, charge.ContributingClients, decision.RoundEpsilon, decision.TotalAfter);
            Persist(entry);
            Append(entry, composed);
            return decision;
        }
    }

    /// <summary>Writes <paramref name="entry"/> durably; throws if it cannot (then nothing is recorded in memory).</summary>
    protected abstract void Persist(LedgerEntry entry);

    /// <summary>
    /// Loads previously persisted entries (called by a store while opening). Recomputes every figure from the
    /// parameters; returns the index of the first entry that disagrees with what it claims, or −1 when all agree.
    /// </summary>
    protected int Restore(IReadOnlyList<LedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        lock (_gate)
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var e = entries[i];
                if (e.Sequence != _entries.Count + 1 || _byRound.ContainsKey(e.RoundId) || !IsValidRoundId(e.RoundId))
                {
                    return i;
                }

                e.Parameters.Validate();
                var curve = DistributedDiscreteGaussianAccountant.RoundCurve(e.Parameters, e.ContributingClients);
                var composed = _composed is null ? curve : _composed.Plus(curve);
                var roundEps = curve.ToEpsilon(Budget.Delta).Epsilon;
                var total = composed.ToEpsilon(Budget.Delta).Epsilon;
                if (!Close(roundEps, e.RoundEpsilon) || !Close(total, e.TotalEpsilon))
                {
                    return i;
                }

                Append(e, composed);
            }

            return -1;
        }
    }

    internal static bool IsValidRoundId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 128 && id.All(ch => ch > ' ' && ch < (char)0x7F);

    private static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(a));

    private void Append(LedgerEntry entry, RdpCurve composed)
    {
        _entries.Add(entry);
        _byRound[entry.RoundId] = entry;
        _composed = composed;
    }

    private LedgerDecision Decide(RoundCharge charge, out RdpCurve composed)
    {
        ArgumentNullException.ThrowIfNull(charge);
        ArgumentNullException.ThrowIfNull(charge.Parameters);
        composed = _composed!;
        var before = _composed is null ? 0 : _composed.ToEpsilon(Budget.Delta).Epsilon;
        if (!IsValidRoundId(charge.RoundId))
        {
            return new LedgerDecision(LedgerOutcome.InvalidRoundId, 0, before, before, "Round ids are 1..128 printable ASCII characters.");
        }

        charge.Parameters.Validate();
        if (_byRound.TryGetValue(charge.RoundId, out var existing))
        {
            return existing.Parameters == charge.Parameters && existing.ContributingClients == charge.ContributingClients
                ? new LedgerDecision(LedgerOutcome.AlreadyCharged, existing.RoundEpsilon, before, before, $"Round '{charge.RoundId}' was charged before (entry {existing.Sequence}); not charged twice.")
                : new LedgerDecision(LedgerOutcome.ConflictingRecord, existing.RoundEpsilon, before, before, $"Round '{charge.RoundId}' is recorded (entry {existing.Sequence}) with different parameters or client count.");
        }

        if (charge.ContributingClients < charge.Parameters.MinClients || charge.ContributingClients > charge.Parameters.PlannedClients)
        {
            return new LedgerDecision(LedgerOutcome.TooFewContributors, double.PositiveInfinity, before, before,
                $"{charge.ContributingClients} contributing clients is outside [t = {charge.Parameters.MinClients}, n = {charge.Parameters.PlannedClients}]: the noise was calibrated for at least t.");
        }

        var curve = DistributedDiscreteGaussianAccountant.RoundCurve(charge.Parameters, charge.ContributingClients);
        composed = _composed is null ? curve : _composed.Plus(curve);
        var roundEps = curve.ToEpsilon(Budget.Delta).Epsilon;
        var after = composed.ToEpsilon(Budget.Delta).Epsilon;
        return after > Budget.Epsilon
            ? new LedgerDecision(LedgerOutcome.BudgetExceeded, roundEps, before, before, $"Round '{charge.RoundId}' (ε = {roundEps:G6}) would raise the total to {after:G6} > budget {Budget.Epsilon:G6} at δ = {Budget.Delta:G3}.")
            : new LedgerDecision(LedgerOutcome.Charged, roundEps, before, after, $"Round '{charge.RoundId}' charged: ε = {roundEps:G6}, total {after:G6} of {Budget.Epsilon:G6}.");
    }
}
