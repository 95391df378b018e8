namespace SecureFedRec.Protocol;

/// <summary>
/// Why a protocol state machine refused a message without acting on it (the state is unchanged and, unlike a
/// <see cref="Wire.DropReason"/>, the sender is not dropped). Closed vocabulary: every rejection names the rule that
/// failed. Local to each end (a refusal is never sent as such; the coordinator reports it to the caller as
/// <c>RoundRefusal.ProtocolRefused</c> with this value's name as the detail).
/// </summary>
public enum ProtocolRejection
{
    /// <summary>Not rejected.</summary>
    None = 0,

    /// <summary>The round has already ended (completed or aborted).</summary>
    RoundEnded = 1,

    /// <summary>The sender is not in the cohort, or was already dropped.</summary>
    UnknownOrDroppedSender = 2,

    /// <summary>The envelope carries no message.</summary>
    EmptyEnvelope = 3,

    /// <summary>The message kind is not the one the current phase expects.</summary>
    UnexpectedMessageKind = 4,

    /// <summary>The message names another round number.</summary>
    WrongRound = 5,

    /// <summary>The sender already sent this phase's message.</summary>
    Duplicate = 6,

    /// <summary>The sender is not expected in this phase (not in the key list, did not share keys, not a survivor, not asked to unmask).</summary>
    SenderNotExpectedInPhase = 7,

    /// <summary>Client: the round was abandoned locally and its secrets wiped.</summary>
    AbandonedLocally = 8,

    /// <summary>Client: an abort for another round, or after the round ended.</summary>
    StaleAbort = 9,
}
