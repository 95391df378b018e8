namespace SecureFedRec.Rounds.Server;

/// <summary>
/// Why a round open at a crash was not resumed (<see cref="RoundJournalException.Refusal"/>; the coordinator aborts it,
/// nothing charged and nothing released). Closed vocabulary: the coordinator logs it beside the detail text.
/// </summary>
public enum RoundResumeRefusal
{
    /// <summary>Not set (never reported).</summary>
    Unspecified = 0,

    /// <summary>The journal does not replay into the round it describes (a gap, a message the session would not take again,
    /// a close whose outcome differs).</summary>
    Diverged = 1,

    /// <summary>The journaled plan (contract, cohort, graph, identity keys) does not open a session.</summary>
    InvalidPlan = 2,

    /// <summary>The round has no journal (opened by a coordinator that did not journal rounds, or its plan was never written).</summary>
    NoJournal = 3,

    /// <summary>The stored journal does not decode (an unknown version or kind, a contract whose binding differs).</summary>
    Undecodable = 4,

    /// <summary>A newer round was opened after it: only the newest open round can be resumed.</summary>
    Superseded = 5,

    /// <summary>
    /// A cohort member still in the round has no current roster identity (revoked, expired, removed from the roster, or
    /// re-keyed in the roster without enrolling the new key). Malicious mode only.
    /// </summary>
    IdentityRevoked = 6,

    /// <summary>
    /// A cohort member still in the round now has a different roster name or identity key than the round was opened with.
    /// Malicious mode only.
    /// </summary>
    IdentityChanged = 7,
}
