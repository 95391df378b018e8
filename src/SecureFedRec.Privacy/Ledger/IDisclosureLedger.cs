namespace SecureFedRec.Privacy.Ledger;

/// <summary>
/// A client's ledger that charges a round at the moment of disclosure (<c>protocol-spec/dp.md</c> §7.4): a durable
/// <em>pending</em> record before the client sends anything for the round (<see cref="Reserve"/>), made final when the
/// client is about to send the first message from which its input can enter a released sum (<see cref="MarkDisclosed"/>),
/// or released when the round aborts before that (<see cref="Release"/>). Until it is resolved a pending record counts
/// as charged: every budget check (<see cref="IPrivacyLedger.Preview"/>, <see cref="Reserve"/>, <see cref="IPrivacyLedger.Charge"/>)
/// includes it, and a pending record found unresolved when the ledger is opened (a crash) stays charged for good
/// (<see cref="RecoveredReservations"/>, <see cref="LedgerOutcome.RecoveredReservation"/>). So a crash at any point can
/// over-charge, never under-charge.
/// </summary>
/// <remarks>
/// <para>Accounting against the coordinator is at sampling rate q = 1: the coordinator chose and saw the cohort, so
/// amplification by subsampling does not hold against it. A reservation's ε is computed with
/// <see cref="MechanismParameters.SamplingRate"/> = 1 whatever rate was announced; the announced rate and the
/// amplified ε (<see cref="Reservation.AmplifiedRoundEpsilon"/>, a figure for third parties who see only released
/// models) are recorded beside it and never used against the budget.</para>
/// <para>Each call returns only after its record is written and fsynced. Implementations are thread-safe.</para>
/// </remarks>
public interface IDisclosureLedger : IPrivacyLedger
{
    /// <summary>Every reservation in the ledger, oldest first, with its current state.</summary>
    IReadOnlyList<Reservation> Reservations { get; }

    /// <summary>
    /// Reservations that were pending (unresolved) when the ledger was opened: left by a crash or a killed process.
    /// They count as charged and cannot be released. Report them to the operator.
    /// </summary>
    IReadOnlyList<Reservation> RecoveredReservations { get; }

    /// <summary>What <see cref="Reserve"/> would decide (at q = 1, pending reservations included), recording nothing.</summary>
    LedgerDecision PreviewReservation(RoundCharge charge);

    /// <summary>
    /// Writes and fsyncs a pending record for <paramref name="charge"/> (its parameters as announced; accounted at
    /// q = 1 with <see cref="RoundCharge.ContributingClients"/> — the client passes the threshold t) if the total,
    /// pending reservations included, stays within the budget. <see cref="LedgerOutcome.Reserved"/> or a typed
    /// refusal (<see cref="LedgerOutcome.BudgetExceeded"/>, <see cref="LedgerOutcome.RoundAlreadyRecorded"/>,
    /// <see cref="LedgerOutcome.TooFewContributors"/>, <see cref="LedgerOutcome.InvalidRoundId"/>) with nothing recorded.
    /// </summary>
    LedgerDecision Reserve(RoundCharge charge);

    /// <summary>
    /// Makes the round's pending reservation a final charge (writes and fsyncs a <c>disclosed</c> record). Call it
    /// before handing the round's masked input to the transport; send it only on <see cref="LedgerOutcome.Disclosed"/>.
    /// Refusals: <see cref="LedgerOutcome.NotReserved"/>, <see cref="LedgerOutcome.AlreadyResolved"/>. A reservation
    /// recovered after a crash may be marked disclosed (it is charged already).
    /// </summary>
    LedgerDecision MarkDisclosed(string roundId);

    /// <summary>
    /// The round aborted. A pending reservation of this session is released and refunded
    /// (<see cref="LedgerOutcome.Released"/>); a disclosed round keeps its charge and the abort is recorded
    /// (<see cref="LedgerOutcome.AbortRecorded"/>). <paramref name="keysAdvertised"/> says whether the client had sent its
    /// advertised keys (such aborts count towards the client's abort limit). Refusals:
    /// <see cref="LedgerOutcome.NotReserved"/>, <see cref="LedgerOutcome.AlreadyResolved"/>,
    /// <see cref="LedgerOutcome.RecoveredReservation"/>. <paramref name="reason"/>: 1..200 printable ASCII characters.
    /// </summary>
    LedgerDecision Release(string roundId, bool keysAdvertised, string reason);

    /// <summary>
    /// Rounds aborted after the client advertised its keys (released with keys advertised, or aborted after disclosure)
    /// whose abort was recorded at or after <paramref name="since"/>.
    /// </summary>
    int CountAbortsSince(DateTimeOffset since);

    /// <summary>The ledger's clock (the abort window is measured on it).</summary>
    TimeProvider Clock { get; }
}

/// <summary>State of a reservation (closed vocabulary).</summary>
public enum ReservationState
{
    /// <summary>Written by this session, not yet resolved; counts as charged.</summary>
    Pending = 1,

    /// <summary>Found unresolved when the ledger was opened (crash); counts as charged and cannot be released.</summary>
    Recovered = 2,

    /// <summary>Disclosed: a final charge.</summary>
    Disclosed = 3,

    /// <summary>Released before disclosure; refunded.</summary>
    Released = 4,

    /// <summary>Disclosed, then the round aborted; the charge stays.</summary>
    AbortedAfterDisclosure = 5,
}

/// <summary>One reserved round as the ledger holds it.</summary>
/// <param name="Sequence">Sequence number of the pending record.</param>
/// <param name="RoundId">The round id.</param>
/// <param name="ReservedAt">When the pending record was written (UTC).</param>
/// <param name="Parameters">The parameters as accounted (<see cref="MechanismParameters.SamplingRate"/> = 1).</param>
/// <param name="AnnouncedSamplingRate">The sampling rate q the coordinator announced (recorded, never charged).</param>
/// <param name="ContributingClients">Clients' noise the charge assumes (the threshold t).</param>
/// <param name="RoundEpsilon">ε of the round at q = 1, at the ledger's δ: what is charged.</param>
/// <param name="AmplifiedRoundEpsilon">
/// ε amplified by subsampling at the announced q, at the ledger's δ: only for third parties who see nothing but the
/// released models and trust the coordinator's sampling; never charged.
/// </param>
/// <param name="State">The current state.</param>
/// <param name="ResolvedAt">When the resolution was recorded, if any.</param>
/// <param name="KeysAdvertised">For a released or aborted round: whether the client had advertised its keys.</param>
/// <param name="AbortReason">For a released or aborted round: the recorded reason.</param>
public sealed record Reservation(
    long Sequence,
    string RoundId,
    DateTimeOffset ReservedAt,
    MechanismParameters Parameters,
    double AnnouncedSamplingRate,
    int ContributingClients,
    double RoundEpsilon,
    double AmplifiedRoundEpsilon,
    ReservationState State,
    DateTimeOffset? ResolvedAt,
    bool KeysAdvertised,
    string? AbortReason)
{
    /// <summary>True while the reservation counts against the budget (every state except <see cref="ReservationState.Released"/>).</summary>
    public bool Counts => State != ReservationState.Released;
}

/// <summary>Kind of a disclosure-ledger record (closed vocabulary; the file spells them in lowercase).</summary>
public enum DisclosureRecordKind
{
    /// <summary><c>pending</c>: a reservation, counted as charged.</summary>
    Pending = 1,

    /// <summary><c>disclosed</c>: the reservation became a final charge.</summary>
    Disclosed = 2,

    /// <summary><c>released</c>: the reservation was released before disclosure.</summary>
    Released = 3,

    /// <summary><c>aborted</c>: a disclosed round aborted; the charge stays.</summary>
    Aborted = 4,
}

/// <summary>
/// One persisted record of the disclosure protocol, as a store writes and reads it (field-by-field in
/// <c>protocol-spec/dp.md</c> §7.4). For <see cref="DisclosureRecordKind.Pending"/> the round's fields are set;
/// for a resolution <see cref="PendingSequence"/> names the pending record it resolves.
/// </summary>
/// <param name="Sequence">1-based position among all records of the ledger.</param>
/// <param name="Kind">The record kind.</param>
/// <param name="RoundId">The round id.</param>
/// <param name="RecordedAt">When it was written (UTC).</param>
/// <param name="TotalEpsilon">The ledger's total (pending included) after this record, at the ledger's δ.</param>
public sealed record DisclosureRecord(long Sequence, DisclosureRecordKind Kind, string RoundId, DateTimeOffset RecordedAt, double TotalEpsilon)
{
    /// <summary>Pending: the accounted parameters (q = 1).</summary>
    public MechanismParameters? Parameters { get; init; }

    /// <summary>Pending: the announced sampling rate.</summary>
    public double AnnouncedSamplingRate { get; init; } = 1.0;

    /// <summary>Pending: the clients' noise the charge assumes (t).</summary>
    public int ContributingClients { get; init; }

    /// <summary>Pending: the round's ε at q = 1 (charged).</summary>
    public double RoundEpsilon { get; init; }

    /// <summary>Pending: the round's ε amplified at the announced q (informational, never charged).</summary>
    public double AmplifiedRoundEpsilon { get; init; }

    /// <summary>Resolution: sequence number of the pending record resolved.</summary>
    public long PendingSequence { get; init; }

    /// <summary>Released / aborted: whether keys had been advertised.</summary>
    public bool KeysAdvertised { get; init; }

    /// <summary>Released / aborted: the reason (1..200 printable ASCII).</summary>
    public string? Reason { get; init; }
}
