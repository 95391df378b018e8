namespace SecureFedRec.Privacy.Ledger;

/// <summary>
/// A durable record of the privacy spent, round by round. The coordinator charges a round <em>before</em> it releases
/// the round's aggregate and releases only on <see cref="LedgerOutcome.Charged"/> or
/// <see cref="LedgerOutcome.AlreadyCharged"/>; a client reserves in its own ledger before it sends anything and
/// makes the charge final at disclosure (<see cref="IDisclosureLedger"/>), accounting at q = 1. The total is the
/// RDP composition of every recorded round converted to (ε, δ) at <see cref="PrivacyBudget.Delta"/>, not a sum of
/// per-round ε. A round id is charged at most once. Implementations are thread-safe and must make a charge durable
/// before reporting it (file: <see cref="FilePrivacyLedger"/>; a SQL store can implement the same contract).
/// </summary>
public interface IPrivacyLedger
{
    /// <summary>The configured budget.</summary>
    PrivacyBudget Budget { get; }

    /// <summary>The recorded rounds, oldest first.</summary>
    IReadOnlyList<LedgerEntry> Entries { get; }

    /// <summary>Total ε spent so far (RDP-composed over <see cref="Entries"/>, at the budget's δ).</summary>
    double TotalEpsilon { get; }

    /// <summary>What <see cref="Charge"/> would decide, without recording anything.</summary>
    LedgerDecision Preview(RoundCharge charge);

    /// <summary>Records the round durably if it fits the budget; otherwise a typed refusal and nothing recorded.</summary>
    LedgerDecision Charge(RoundCharge charge);
}

/// <summary>An (ε, δ) budget: the most total ε the ledger's owner allows, measured at δ.</summary>
/// <param name="Epsilon">Largest total ε, &gt; 0.</param>
/// <param name="Delta">δ at which every total is measured, in (0, 1).</param>
public sealed record PrivacyBudget(double Epsilon, double Delta)
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when ε ≤ 0 or δ ∉ (0, 1).</summary>
    public void Validate()
    {
        if (!(Epsilon > 0) || double.IsInfinity(Epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "The ε budget must be positive and finite.");
        }

        if (!(Delta > 0 && Delta < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Delta), Delta, "δ must be in (0, 1).");
        }
    }
}

/// <summary>A request to charge one round: its id, its announced parameters and how many clients' noise the sum holds.</summary>
/// <param name="RoundId">Unique round id (1..128 printable ASCII characters).</param>
/// <param name="Parameters">The round's mechanism parameters.</param>
/// <param name="ContributingClients">Clients whose contributions (and noise) are in the sum; a client charging its own ledger passes the threshold t.</param>
public sealed record RoundCharge(string RoundId, MechanismParameters Parameters, int ContributingClients);

/// <summary>Outcome of a charge (closed vocabulary).</summary>
public enum LedgerOutcome
{
    /// <summary>Recorded durably; the round may be released.</summary>
    Charged = 1,

    /// <summary>The same round with the same parameters was recorded before; nothing charged twice.</summary>
    AlreadyCharged = 2,

    /// <summary>Refused: the total would exceed the budget.</summary>
    BudgetExceeded = 3,

    /// <summary>Refused: the round id is recorded with different parameters or client count.</summary>
    ConflictingRecord = 4,

    /// <summary>Refused: fewer contributing clients than the threshold the noise was calibrated for.</summary>
    TooFewContributors = 5,

    /// <summary>Refused: the round id is empty, too long or not printable ASCII.</summary>
    InvalidRoundId = 6,

    /// <summary>
    /// A pending reservation was written and fsynced (<see cref="IDisclosureLedger.Reserve"/>); from now on the round
    /// counts as charged until it is released.
    /// </summary>
    Reserved = 7,

    /// <summary>The reservation became a final charge (<see cref="IDisclosureLedger.MarkDisclosed"/>).</summary>
    Disclosed = 8,

    /// <summary>The reservation was released before disclosure (<see cref="IDisclosureLedger.Release"/>); refunded.</summary>
    Released = 9,

    /// <summary>The round was aborted after disclosure: the abort is recorded, the charge stays.</summary>
    AbortRecorded = 10,

    /// <summary>Refused: the ledger already holds this round id (pending, charged or released); a round id is reserved once.</summary>
    RoundAlreadyRecorded = 11,

    /// <summary>Refused: no reservation for this round id.</summary>
    NotReserved = 12,

    /// <summary>Refused: the reservation was already resolved (disclosed, released or its abort recorded).</summary>
    AlreadyResolved = 13,

    /// <summary>
    /// Refused: the reservation was found unresolved when the ledger was opened (a crash); it counts as charged and can
    /// no longer be released, because nobody can show that the input was not disclosed.
    /// </summary>
    RecoveredReservation = 14,
}

/// <summary>A ledger's decision with the figures behind it.</summary>
/// <param name="Outcome">The outcome.</param>
/// <param name="RoundEpsilon">ε of this round alone at the budget's δ.</param>
/// <param name="TotalBefore">Total ε before the round.</param>
/// <param name="TotalAfter">Total ε including the round (equals <paramref name="TotalBefore"/> when refused or already charged).</param>
/// <param name="Message">Human-readable explanation.</param>
public sealed record LedgerDecision(LedgerOutcome Outcome, double RoundEpsilon, double TotalBefore, double TotalAfter, string Message)
{
    /// <summary>True for <see cref="LedgerOutcome.Charged"/> and <see cref="LedgerOutcome.AlreadyCharged"/>.</summary>
    public bool MayRelease => Outcome is LedgerOutcome.Charged or LedgerOutcome.AlreadyCharged;
}

/// <summary>One recorded round.</summary>
/// <param name="Sequence">1-based position in the ledger.</param>
/// <param name="RoundId">The round id.</param>
/// <param name="RecordedAt">When it was recorded (UTC).</param>
/// <param name="Parameters">The mechanism parameters.</param>
/// <param name="ContributingClients">Clients in the sum.</param>
/// <param name="RoundEpsilon">ε of the round alone at the ledger's δ.</param>
/// <param name="TotalEpsilon">Total ε after the round.</param>
public sealed record LedgerEntry(long Sequence, string RoundId, DateTimeOffset RecordedAt, MechanismParameters Parameters, int ContributingClients, double RoundEpsilon, double TotalEpsilon);
