using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Rounds.Transport;

/// <summary>
/// A client's view of a coordinator, whatever carries the calls: in process (simulation, tests) or gRPC over TLS
/// (SecureFedRec.Wire). The client round (<c>ClientRound</c>) runs only against this interface, so the simulation, the
/// SDK and the CLI client run the same code. Expected outcomes (not selected, pending, dropped, refused) are values,
/// never exceptions; an implementation throws only for transport failures it could not recover from.
/// </summary>
public interface IRoundTransport
{
    /// <summary>Asks to take part in the current or next round (idempotent within a round).</summary>
    Task<JoinReply> JoinAsync(CancellationToken cancellationToken);

    /// <summary>Submits this client's reply for <paramref name="phase"/> of round <paramref name="roundId"/>.</summary>
    Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken);

    /// <summary>Asks for the coordinator's message that opens <paramref name="phase"/> for this client.</summary>
    Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken);

    /// <summary>Fetches a released model version (0: the latest).</summary>
    Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken);
}

/// <summary>
/// What the coordinator's round host answers, whatever carried the call: the gRPC service and the in-process transport
/// both call this, so the networked and the simulated round run the same server code. <c>caller</c> is the
/// transport-authenticated client id (never a value the message claims). Expected refusals are values.
/// </summary>
public interface IRoundService
{
    /// <summary>JoinRound for <paramref name="caller"/>.</summary>
    JoinReply Join(string caller);

    /// <summary>SubmitPhase for <paramref name="caller"/>.</summary>
    SubmitReply Submit(string caller, ulong roundId, Phase phase, ClientToServer message);

    /// <summary>
    /// SubmitPhase for <paramref name="caller"/>, acknowledged only once the service has made what it accepted durable (a
    /// journaling round host); the default is <see cref="Submit"/>. A failed write throws (the caller retries the same
    /// message, which the service takes as a safe resubmission).
    /// </summary>
    Task<SubmitReply> SubmitAsync(string caller, ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken) =>
        Task.FromResult(Submit(caller, roundId, phase, message));

    /// <summary>FetchPhase for <paramref name="caller"/>.</summary>
    FetchReply Fetch(string caller, ulong roundId, Phase phase);

    /// <summary>A released model version (0: the latest), or null when there is no such version.</summary>
    Task<ModelRelease?> GetModelAsync(ulong version, CancellationToken cancellationToken);

    /// <summary>
    /// Completes at the next change of round or phase (a round opened, a phase closed or became ready to close, a round
    /// finished), so that a networked transport can hold a JoinRound or FetchPhase that would answer "wait" until there is
    /// something new instead of having every client poll; null (the default): no such signal, clients poll.
    /// </summary>
    Task? Changed => null;
}

/// <summary>How a JoinRound ended.</summary>
public enum JoinOutcome
{
    /// <summary>Selected: <see cref="JoinReply.Invitation"/> carries the round and its opening message.</summary>
    Selected = 1,

    /// <summary>Waiting for enough clients to open a round; ask again after <see cref="JoinReply.RetryAfter"/>.</summary>
    Wait = 2,

    /// <summary>A round is running without this client; ask again after <see cref="JoinReply.RetryAfter"/>.</summary>
    NotSelected = 3,

    /// <summary>The coordinator has run its configured rounds and opens no more.</summary>
    Finished = 4,
}

/// <summary>The answer to JoinRound.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Invitation">The round, when <see cref="JoinOutcome.Selected"/>.</param>
/// <param name="RetryAfter">When to ask again otherwise.</param>
public sealed record JoinReply(JoinOutcome Outcome, RoundInvitation? Invitation, TimeSpan RetryAfter);

/// <summary>What a selected client receives: the round's public contract, its protocol number and the first message.</summary>
/// <param name="Contract">The round contract (one definition: round id, model version, threat mode, DP parameters).</param>
/// <param name="ClientNumber">This client's protocol id in the cohort, in [1, 2^31).</param>
/// <param name="Opening">The BeginRound message that opens <see cref="Phase.AdvertiseKeys"/>.</param>
/// <param name="Deadline">Deadline of the advertise-keys phase (coordinator clock).</param>
public sealed record RoundInvitation(RoundContract Contract, int ClientNumber, ServerToClient Opening, DateTimeOffset Deadline);

/// <summary>How a SubmitPhase ended.</summary>
public enum SubmitOutcome
{
    /// <summary>Taken into the round (or the identical message was already taken: a safe retry).</summary>
    Accepted = 1,

    /// <summary>Refused; <see cref="SubmitReply.Refusal"/> says why.</summary>
    Refused = 2,
}

/// <summary>Why the coordinator refused a submission or a fetch. Closed vocabulary; mapped once to gRPC statuses.</summary>
public enum RoundRefusal
{
    /// <summary>Not refused.</summary>
    None = 0,

    /// <summary>The round id is not a recent round.</summary>
    UnknownRound = 1,

    /// <summary>The caller is not in the round's cohort.</summary>
    NotInCohort = 2,

    /// <summary>The phase is not the open one (closed already, or not yet open).</summary>
    PhaseClosed = 3,

    /// <summary>The caller was dropped from the round.</summary>
    Dropped = 4,

    /// <summary>A different message was already taken for this (round, phase, client).</summary>
    ConflictingResubmission = 5,

    /// <summary>The protocol state machine refused the message (see <see cref="SubmitReply.Detail"/>).</summary>
    ProtocolRefused = 6,

    /// <summary>The coordinator has run its configured rounds.</summary>
    Finished = 7,
}

/// <summary>The answer to SubmitPhase.</summary>
/// <param name="Outcome">Accepted or refused.</param>
/// <param name="Refusal">Why, when refused.</param>
/// <param name="Detail">Diagnostic text naming the rule that failed (no secrets), when refused.</param>
/// <param name="Deadline">Deadline of the phase the submission belongs to.</param>
public sealed record SubmitReply(SubmitOutcome Outcome, RoundRefusal Refusal, string? Detail, DateTimeOffset Deadline);

/// <summary>How a FetchPhase ended.</summary>
public enum FetchOutcome
{
    /// <summary>The phase is open; <see cref="FetchReply.Message"/> is addressed to this client.</summary>
    Ready = 1,

    /// <summary>The previous phase is still collecting; ask again after <see cref="FetchReply.RetryAfter"/>.</summary>
    Pending = 2,

    /// <summary>This client was dropped from the round (<see cref="FetchReply.DropReason"/> says why).</summary>
    Dropped = 3,

    /// <summary>The round aborted; <see cref="FetchReply.Message"/>, when present, is the AbortRound.</summary>
    Aborted = 4,

    /// <summary>Refused (<see cref="FetchReply.Refusal"/>): unknown round, not in the cohort.</summary>
    Refused = 5,
}

/// <summary>The answer to FetchPhase.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Message">The coordinator's message, when ready (or the abort).</param>
/// <param name="DropReason">Why this client was dropped, when dropped.</param>
/// <param name="Refusal">Why the fetch was refused, when refused.</param>
/// <param name="Deadline">Deadline by which this client's reply for the phase must arrive, when ready.</param>
/// <param name="RetryAfter">When to ask again, when pending.</param>
public sealed record FetchReply(FetchOutcome Outcome, ServerToClient? Message, DropReason DropReason, RoundRefusal Refusal,
    DateTimeOffset Deadline, TimeSpan RetryAfter);

/// <summary>A released model version.</summary>
/// <param name="Version">Model version (the initial model is version 1).</param>
/// <param name="RoundId">The round whose aggregate produced it (0 for the initial model).</param>
/// <param name="Values">The shared (item-side) parameters.</param>
/// <param name="Epsilon">ε of <paramref name="RoundId"/> in the coordinator's ledger.</param>
/// <param name="TotalEpsilon">Total ε in the coordinator's ledger after <paramref name="RoundId"/>.</param>
public sealed record ModelRelease(ulong Version, ulong RoundId, double[] Values, double Epsilon, double TotalEpsilon);
