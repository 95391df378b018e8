using SecureFedRec.Privacy.Accounting;

namespace SecureFedRec.Privacy.Ledger;

/// <summary>
/// The accounting and decision logic shared by every <see cref="IPrivacyLedger"/> store: RDP composition of the
/// recorded rounds (each round's curve from <see cref="DistributedDiscreteGaussianAccountant.RoundCurve"/> with its
/// actual contributing-client count, over <see cref="RdpAccountant.IntegerOrders"/>), budget check, idempotence per
/// round id. A store derives from it and implements <see cref="Persist"/> (durable before it returns). Thread-safe:
/// one lock serialises decisions and writes.
/// </summary>
/// <remarks>
/// A client store also gets the disclosure protocol of <see cref="IDisclosureLedger"/> (pending → disclosed | released,
/// accounted at q = 1) from the <c>*Core</c> methods here by overriding <see cref="PersistDisclosure"/>; stores that do
/// not (the coordinator's) are unchanged: their records are all charges and their sequence numbers are the charge
/// count. Pending and disclosed reservations are part of <see cref="Entries"/> and <see cref="TotalEpsilon"/>, so
/// every budget check includes them; a released one is not.
/// </remarks>
public abstract class PrivacyLedgerBase : IPrivacyLedger
{
    private const int MaxReasonLength = 200;
    private readonly Lock _gate = new();

    // Live entries (charges and counted reservations) in record order; their curves compose to _composed.
    private readonly List<LedgerEntry> _entries = [];
    private readonly Dictionary<long, RdpCurve> _curves = [];
    private readonly Dictionary<string, RoundState> _byRound = new(StringComparer.Ordinal);
    private readonly List<Reservation> _reservations = [];
    private readonly List<DateTimeOffset> _aborts = [];
    private readonly TimeProvider _time;
    private RdpCurve? _composed;
    private long _records;

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

    /// <summary>The ledger's clock.</summary>
    public TimeProvider Clock => _time;

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
                return Total(_composed);
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
            var decision = Decide(charge, out var curve);
            if (decision.Outcome != LedgerOutcome.Charged)
            {
                return decision;
            }

            var entry = new LedgerEntry(_records + 1, charge.RoundId, _time.GetUtcNow(), charge.Parameters, charge.ContributingClients, decision.RoundEpsilon, decision.TotalAfter);
            Persist(entry);
            AddLive(entry, curve!);
            _byRound[entry.RoundId] = new RoundState(entry, -1, true);
            _records++;
            return decision;
        }
    }

    /// <summary>Writes <paramref name="entry"/> durably; throws if it cannot (then nothing is recorded in memory).</summary>
    protected abstract void Persist(LedgerEntry entry);

    /// <summary>
    /// Writes a disclosure record durably (fsync before returning); throws if it cannot (then nothing changes in
    /// memory). The default throws <see cref="NotSupportedException"/>: a store that does not override it offers only
    /// <see cref="Charge"/>.
    /// </summary>
    protected virtual void PersistDisclosure(DisclosureRecord record) =>
        throw new NotSupportedException($"{GetType().Name} does not store disclosure records.");

    /// <summary>Every reservation, oldest first (see <see cref="IDisclosureLedger.Reservations"/>).</summary>
    protected IReadOnlyList<Reservation> ReservationsCore()
    {
        lock (_gate)
        {
            return [.. _reservations];
        }
    }

    /// <summary>Reservations found unresolved at open (see <see cref="IDisclosureLedger.RecoveredReservations"/>).</summary>
    protected IReadOnlyList<Reservation> RecoveredCore()
    {
        lock (_gate)
        {
            return [.. _reservations.Where(r => r.State == ReservationState.Recovered)];
        }
    }

    /// <summary>Counts recorded aborts after key advertisement at or after <paramref name="since"/>.</summary>
    protected int CountAbortsSinceCore(DateTimeOffset since)
    {
        lock (_gate)
        {
            return _aborts.Count(a => a >= since);
        }
    }

    /// <summary>See <see cref="IDisclosureLedger.PreviewReservation"/>.</summary>
    protected LedgerDecision PreviewReservationCore(RoundCharge charge)
    {
        lock (_gate)
        {
            return DecideReservation(charge, out _, out _, out _);
        }
    }

    /// <summary>See <see cref="IDisclosureLedger.Reserve"/>.</summary>
    protected LedgerDecision ReserveCore(RoundCharge charge)
    {
        lock (_gate)
        {
            var decision = DecideReservation(charge, out var accounted, out var curve, out var amplified);
            if (decision.Outcome != LedgerOutcome.Reserved)
            {
                return decision;
            }

            var record = new DisclosureRecord(_records + 1, DisclosureRecordKind.Pending, charge.RoundId, _time.GetUtcNow(), decision.TotalAfter)
            {
                Parameters = accounted,
                AnnouncedSamplingRate = charge.Parameters.SamplingRate,
                ContributingClients = charge.ContributingClients,
                RoundEpsilon = decision.RoundEpsilon,
                AmplifiedRoundEpsilon = amplified,
            };
            PersistDisclosure(record);
            ApplyPending(record, curve!, ownedBySession: true);
            return decision;
        }
    }

    /// <summary>See <see cref="IDisclosureLedger.MarkDisclosed"/>.</summary>
    protected LedgerDecision MarkDisclosedCore(string roundId)
    {
        lock (_gate)
        {
            var total = Total(_composed);
            if (!TryReservation(roundId, out var state, out var reservation, out var refusal))
            {
                return refusal!;
            }

            if (reservation!.State is not (ReservationState.Pending or ReservationState.Recovered))
            {
                return new LedgerDecision(LedgerOutcome.AlreadyResolved, reservation.RoundEpsilon, total, total,
                    $"Round '{roundId}' is already {Describe(reservation.State)} (record {reservation.Sequence}); it cannot be disclosed now.");
            }

            var record = new DisclosureRecord(_records + 1, DisclosureRecordKind.Disclosed, roundId, _time.GetUtcNow(), total) { PendingSequence = reservation.Sequence };
            PersistDisclosure(record);
            ApplyResolution(record, state!, reservation);
            return new LedgerDecision(LedgerOutcome.Disclosed, reservation.RoundEpsilon, total, total,
                $"Round '{roundId}' disclosed: ε = {reservation.RoundEpsilon:G6} (q = 1) is a final charge; total {total:G6} of {Budget.Epsilon:G6}.");
        }
    }

    /// <summary>See <see cref="IDisclosureLedger.Release"/>.</summary>
    protected LedgerDecision ReleaseCore(string roundId, bool keysAdvertised, string reason)
    {
        if (string.IsNullOrEmpty(reason) || reason.Length > MaxReasonLength || !reason.All(ch => ch >= ' ' && ch < (char)0x7F))
        {
            throw new ArgumentException($"The abort reason must be 1..{MaxReasonLength} printable ASCII characters.", nameof(reason));
        }

        lock (_gate)
        {
            var total = Total(_composed);
            if (!TryReservation(roundId, out var state, out var reservation, out var refusal))
            {
                return refusal!;
            }

            switch (reservation!.State)
            {
                case ReservationState.Recovered:
                    return new LedgerDecision(LedgerOutcome.RecoveredReservation, reservation.RoundEpsilon, total, total,
                        $"Round '{roundId}' was pending when the ledger was opened (record {reservation.Sequence}, a crash): it stays charged and cannot be released.");
                case ReservationState.Pending:
                case ReservationState.Disclosed:
                    var kind = reservation.State == ReservationState.Pending ? DisclosureRecordKind.Released : DisclosureRecordKind.Aborted;
                    var after = kind == DisclosureRecordKind.Released ? Total(ComposeWithout(reservation.Sequence)) : total;
                    var record = new DisclosureRecord(_records + 1, kind, roundId, _time.GetUtcNow(), after)
                    {
                        PendingSequence = reservation.Sequence,
                        KeysAdvertised = keysAdvertised,
                        Reason = reason,
                    };
                    PersistDisclosure(record);
                    ApplyResolution(record, state!, reservation);
                    return kind == DisclosureRecordKind.Released
                        ? new LedgerDecision(LedgerOutcome.Released, reservation.RoundEpsilon, total, after,
                            $"Round '{roundId}' released before disclosure ({reason}): ε = {reservation.RoundEpsilon:G6} refunded; total {after:G6}.")
                        : new LedgerDecision(LedgerOutcome.AbortRecorded, reservation.RoundEpsilon, total, total,
                            $"Round '{roundId}' aborted after disclosure ({reason}): the charge of ε = {reservation.RoundEpsilon:G6} stays.");
                default:
                    return new LedgerDecision(LedgerOutcome.AlreadyResolved, reservation.RoundEpsilon, total, total,
                        $"Round '{roundId}' is already {Describe(reservation.State)} (record {reservation.Sequence}); not resolved twice.");
            }
        }
    }

    /// <summary>
    /// Loads previously persisted entries (called by a store while opening). Recomputes every figure from the
    /// parameters; returns the index of the first entry that disagrees with what it claims, or −1 when all agree.
    /// </summary>
    protected int Restore(IReadOnlyList<LedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        for (var i = 0; i < entries.Count; i++)
        {
            if (!RestoreOne(entries[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Loads one persisted charge (in record order, while opening); false when it disagrees with a recomputation or
    /// with the records before it (sequence, duplicate round).
    /// </summary>
    protected bool RestoreOne(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            var e = entry;
            if (e.Sequence != _records + 1 || _byRound.ContainsKey(e.RoundId) || !IsValidRoundId(e.RoundId) || e.Parameters is null)
            {
                return false;
            }

            e.Parameters.Validate();
            if (e.ContributingClients < 1)
            {
                return false;
            }

            var curve = DistributedDiscreteGaussianAccountant.RoundCurve(e.Parameters, e.ContributingClients);
            var composed = _composed is null ? curve : _composed.Plus(curve);
            if (!Close(curve.ToEpsilon(Budget.Delta).Epsilon, e.RoundEpsilon) || !Close(Total(composed), e.TotalEpsilon))
            {
                return false;
            }

            AddLive(e, curve);
            _byRound[e.RoundId] = new RoundState(e, -1, true);
            _records++;
            return true;
        }
    }

    /// <summary>
    /// Loads one persisted disclosure record (in record order, while opening); false when it disagrees with a
    /// recomputation or with the records before it. A pending record restored here and not resolved by a later record
    /// is a recovered reservation: charged, never releasable.
    /// </summary>
    protected bool RestoreOne(DisclosureRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            var r = record;
            if (r.Sequence != _records + 1 || !IsValidRoundId(r.RoundId))
            {
                return false;
            }

            if (r.Kind == DisclosureRecordKind.Pending)
            {
                var p = r.Parameters;
                if (_byRound.ContainsKey(r.RoundId) || p is null || p.SamplingRate != 1 || !(r.AnnouncedSamplingRate > 0 && r.AnnouncedSamplingRate <= 1)
                    || r.ContributingClients < p.MinClients || r.ContributingClients > p.PlannedClients)
                {
                    return false;
                }

                p.Validate();
                var curve = DistributedDiscreteGaussianAccountant.RoundCurve(p, r.ContributingClients);
                var composed = _composed is null ? curve : _composed.Plus(curve);
                var amplified = Amplified(p with { SamplingRate = r.AnnouncedSamplingRate }, r.ContributingClients, curve);
                if (!Close(curve.ToEpsilon(Budget.Delta).Epsilon, r.RoundEpsilon) || !Close(Total(composed), r.TotalEpsilon) || !Close(amplified, r.AmplifiedRoundEpsilon))
                {
                    return false;
                }

                ApplyPending(r, curve, ownedBySession: false);
                return true;
            }

            if (!_byRound.TryGetValue(r.RoundId, out var state) || state.ReservationIndex < 0)
            {
                return false;
            }

            var reservation = _reservations[state.ReservationIndex];
            var allowed = r.Kind switch
            {
                DisclosureRecordKind.Disclosed or DisclosureRecordKind.Released => reservation.State is ReservationState.Pending or ReservationState.Recovered,
                DisclosureRecordKind.Aborted => reservation.State == ReservationState.Disclosed,
                _ => false,
            };
            if (!allowed || r.PendingSequence != reservation.Sequence)
            {
                return false;
            }

            var expected = r.Kind == DisclosureRecordKind.Released ? Total(ComposeWithout(reservation.Sequence)) : Total(_composed);
            if (!Close(expected, r.TotalEpsilon) || (r.Kind != DisclosureRecordKind.Disclosed && string.IsNullOrEmpty(r.Reason)))
            {
                return false;
            }

            ApplyResolution(r, state, reservation);
            return true;
        }
    }

    internal static bool IsValidRoundId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 128 && id.All(ch => ch > ' ' && ch < (char)0x7F);

    private static bool Close(double a, double b) => a == b || Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(a));

    private static string Describe(ReservationState state) => state switch
    {
        ReservationState.Disclosed => "disclosed",
        ReservationState.Released => "released",
        ReservationState.AbortedAfterDisclosure => "aborted after disclosure",
        ReservationState.Recovered => "recovered after a crash",
        _ => "pending",
    };

    private double Amplified(MechanismParameters announced, int clients, RdpCurve atCertainty) =>
        announced.SamplingRate >= 1
            ? atCertainty.ToEpsilon(Budget.Delta).Epsilon
            : DistributedDiscreteGaussianAccountant.RoundCurve(announced, clients).ToEpsilon(Budget.Delta).Epsilon;

    private double Total(RdpCurve? composed) => composed is null ? 0 : composed.ToEpsilon(Budget.Delta).Epsilon;

    private void AddLive(LedgerEntry entry, RdpCurve curve)
    {
        _entries.Add(entry);
        _curves[entry.Sequence] = curve;
        _composed = _composed is null ? curve : _composed.Plus(curve);
    }

    private RdpCurve? ComposeWithout(long sequence)
    {
        RdpCurve? composed = null;
        foreach (var e in _entries)
        {
            if (e.Sequence != sequence)
            {
                var c = _curves[e.Sequence];
                composed = composed is null ? c : composed.Plus(c);
            }
        }

        return composed;
    }

    private void ApplyPending(DisclosureRecord r, RdpCurve curve, bool ownedBySession)
    {
        var entry = new LedgerEntry(r.Sequence, r.RoundId, r.RecordedAt, r.Parameters!, r.ContributingClients, r.RoundEpsilon, r.TotalEpsilon);
        var reservation = new Reservation(r.Sequence, r.RoundId, r.RecordedAt, r.Parameters!, r.AnnouncedSamplingRate, r.ContributingClients,
            r.RoundEpsilon, r.AmplifiedRoundEpsilon, ownedBySession ? ReservationState.Pending : ReservationState.Recovered, null, false, null);
        AddLive(entry, curve);
        _reservations.Add(reservation);
        _byRound[r.RoundId] = new RoundState(entry, _reservations.Count - 1, false);
        _records++;
    }

    private void ApplyResolution(DisclosureRecord r, RoundState state, Reservation reservation)
    {
        var next = r.Kind switch
        {
            DisclosureRecordKind.Disclosed => ReservationState.Disclosed,
            DisclosureRecordKind.Released => ReservationState.Released,
            _ => ReservationState.AbortedAfterDisclosure,
        };
        _reservations[state.ReservationIndex] = reservation with
        {
            State = next,
            ResolvedAt = r.RecordedAt,
            KeysAdvertised = r.KeysAdvertised,
            AbortReason = r.Reason,
        };
        if (next == ReservationState.Released)
        {
            _composed = ComposeWithout(reservation.Sequence);
            _entries.RemoveAll(e => e.Sequence == reservation.Sequence);
            _curves.Remove(reservation.Sequence);
        }

        if ((next == ReservationState.Released && r.KeysAdvertised) || next == ReservationState.AbortedAfterDisclosure)
        {
            _aborts.Add(r.RecordedAt);
        }

        _records++;
    }

    private bool TryReservation(string roundId, out RoundState? state, out Reservation? reservation, out LedgerDecision? refusal)
    {
        var total = Total(_composed);
        reservation = null;
        refusal = null;
        if (!IsValidRoundId(roundId))
        {
            state = null;
            refusal = new LedgerDecision(LedgerOutcome.InvalidRoundId, 0, total, total, "Round ids are 1..128 printable ASCII characters.");
            return false;
        }

        if (!_byRound.TryGetValue(roundId, out state) || state.ReservationIndex < 0)
        {
            refusal = new LedgerDecision(LedgerOutcome.NotReserved, 0, total, total, $"Round '{roundId}' has no reservation in this ledger.");
            return false;
        }

        reservation = _reservations[state.ReservationIndex];
        return true;
    }

    private LedgerDecision DecideReservation(RoundCharge charge, out MechanismParameters? accounted, out RdpCurve? curve, out double amplified)
    {
        ArgumentNullException.ThrowIfNull(charge);
        ArgumentNullException.ThrowIfNull(charge.Parameters);
        accounted = null;
        curve = null;
        amplified = double.NaN;
        var before = Total(_composed);
        if (!IsValidRoundId(charge.RoundId))
        {
            return new LedgerDecision(LedgerOutcome.InvalidRoundId, 0, before, before, "Round ids are 1..128 printable ASCII characters.");
        }

        charge.Parameters.Validate();
        if (_byRound.TryGetValue(charge.RoundId, out var existing))
        {
            return new LedgerDecision(LedgerOutcome.RoundAlreadyRecorded, existing.Entry.RoundEpsilon, before, before,
                $"Round '{charge.RoundId}' is already in the ledger (record {existing.Entry.Sequence}); a round id is reserved once.");
        }

        if (charge.ContributingClients < charge.Parameters.MinClients || charge.ContributingClients > charge.Parameters.PlannedClients)
        {
            return new LedgerDecision(LedgerOutcome.TooFewContributors, double.PositiveInfinity, before, before,
                $"{charge.ContributingClients} contributing clients is outside [t = {charge.Parameters.MinClients}, n = {charge.Parameters.PlannedClients}]: the noise was calibrated for at least t.");
        }

        // Against the coordinator, which chose and saw the cohort, there is no amplification by subsampling: q = 1.
        accounted = charge.Parameters with { SamplingRate = 1.0 };
        curve = DistributedDiscreteGaussianAccountant.RoundCurve(accounted, charge.ContributingClients);
        amplified = Amplified(charge.Parameters, charge.ContributingClients, curve);
        var roundEps = curve.ToEpsilon(Budget.Delta).Epsilon;
        var after = Total(_composed is null ? curve : _composed.Plus(curve));
        return after > Budget.Epsilon
            ? new LedgerDecision(LedgerOutcome.BudgetExceeded, roundEps, before, before,
                $"Round '{charge.RoundId}' (ε = {roundEps:G6} at q = 1) would raise the total, pending reservations included, to {after:G6} > budget {Budget.Epsilon:G6} at δ = {Budget.Delta:G3}.")
            : new LedgerDecision(LedgerOutcome.Reserved, roundEps, before, after,
                $"Round '{charge.RoundId}' reserved: ε = {roundEps:G6} at q = 1 (amplified figure for third parties at the announced q = {charge.Parameters.SamplingRate:G3}: {amplified:G6}, not charged), total {after:G6} of {Budget.Epsilon:G6}.");
    }

    private LedgerDecision Decide(RoundCharge charge, out RdpCurve? curve)
    {
        ArgumentNullException.ThrowIfNull(charge);
        ArgumentNullException.ThrowIfNull(charge.Parameters);
        curve = null;
        var before = Total(_composed);
        if (!IsValidRoundId(charge.RoundId))
        {
            return new LedgerDecision(LedgerOutcome.InvalidRoundId, 0, before, before, "Round ids are 1..128 printable ASCII characters.");
        }

        charge.Parameters.Validate();
        if (_byRound.TryGetValue(charge.RoundId, out var state))
        {
            var existing = state.Entry;
            if (!state.IsCharge)
            {
                return new LedgerDecision(LedgerOutcome.ConflictingRecord, existing.RoundEpsilon, before, before,
                    $"Round '{charge.RoundId}' is a reservation (record {existing.Sequence}), not a charge; it is resolved through the disclosure protocol.");
            }

            return existing.Parameters == charge.Parameters && existing.ContributingClients == charge.ContributingClients
                ? new LedgerDecision(LedgerOutcome.AlreadyCharged, existing.RoundEpsilon, before, before, $"Round '{charge.RoundId}' was charged before (entry {existing.Sequence}); not charged twice.")
                : new LedgerDecision(LedgerOutcome.ConflictingRecord, existing.RoundEpsilon, before, before, $"Round '{charge.RoundId}' is recorded (entry {existing.Sequence}) with different parameters or client count.");
        }

        if (charge.ContributingClients < charge.Parameters.MinClients || charge.ContributingClients > charge.Parameters.PlannedClients)
        {
            return new LedgerDecision(LedgerOutcome.TooFewContributors, double.PositiveInfinity, before, before,
                $"{charge.ContributingClients} contributing clients is outside [t = {charge.Parameters.MinClients}, n = {charge.Parameters.PlannedClients}]: the noise was calibrated for at least t.");
        }

        curve = DistributedDiscreteGaussianAccountant.RoundCurve(charge.Parameters, charge.ContributingClients);
        var roundEps = curve.ToEpsilon(Budget.Delta).Epsilon;
        var after = Total(_composed is null ? curve : _composed.Plus(curve));
        return after > Budget.Epsilon
            ? new LedgerDecision(LedgerOutcome.BudgetExceeded, roundEps, before, before, $"Round '{charge.RoundId}' (ε = {roundEps:G6}) would raise the total to {after:G6} > budget {Budget.Epsilon:G6} at δ = {Budget.Delta:G3}.")
            : new LedgerDecision(LedgerOutcome.Charged, roundEps, before, after, $"Round '{charge.RoundId}' charged: ε = {roundEps:G6}, total {after:G6} of {Budget.Epsilon:G6}.");
    }

    /// <summary>What the ledger holds for a round id: its live entry and, for a reservation, its index.</summary>
    private sealed record RoundState(LedgerEntry Entry, int ReservationIndex, bool IsCharge);
}
