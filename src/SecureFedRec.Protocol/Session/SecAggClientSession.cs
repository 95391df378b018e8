using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Session;

/// <summary>Where a <see cref="SecAggClientSession"/> stands after a message.</summary>
public enum ClientSessionStatus
{
    /// <summary>The round goes on: submit <see cref="ClientSessionStep.Reply"/> (if any) and fetch <see cref="ClientSessionStep.NextPhase"/>.</summary>
    Running = 1,

    /// <summary>The round completed with this client's input in the sum.</summary>
    Completed = 2,

    /// <summary>The round ended without this client's input (a RoundResult that does not list it).</summary>
    NotIncluded = 3,

    /// <summary>This client aborted (<see cref="ClientSessionStep.AbortReason"/>); the reply, if any, is its ClientAbort.</summary>
    Aborted = 4,

    /// <summary>The message was refused (<see cref="ClientSessionStep.Rejection"/>); the state is unchanged.</summary>
    Refused = 5,
}

/// <summary>The result of feeding one coordinator message to a <see cref="SecAggClientSession"/>.</summary>
/// <param name="Status">Where the session stands.</param>
/// <param name="Reply">The message to submit, if any.</param>
/// <param name="ReplyPhase">The phase the reply belongs to (submit it under this phase).</param>
/// <param name="NextPhase">The phase whose opening message to fetch next (when running).</param>
/// <param name="AbortReason">Why this client aborted, when aborted.</param>
/// <param name="Rejection">The rule that refused the message, when refused.</param>
/// <param name="Detail">Diagnostic text (no secrets), when refused.</param>
public sealed record ClientSessionStep(ClientSessionStatus Status, ClientToServer? Reply, Phase ReplyPhase, Phase NextPhase,
    ClientAbortReason AbortReason, ProtocolRejection Rejection, string? Detail);

/// <summary>
/// One client session of one secure-aggregation round: owns the current <see cref="ClientState"/>, tells its host which
/// phase a reply belongs to and which phase to fetch next, and recognises the end of the round (the RoundResult after
/// unmasking). Hosts feed coordinator messages with <see cref="Handle"/> and never assign states themselves.
/// Disposing abandons the round locally, wiping every round secret (idempotent; harmless after completion).
/// </summary>
/// <remarks>No I/O, clock or randomness of its own. Not thread-safe: one message at a time.</remarks>
public sealed class SecAggClientSession : IDisposable
{
    private ClientState _state;

    /// <summary>Creates the session waiting for BeginRound.</summary>
    public SecAggClientSession(ClientOptions options) => _state = SecAggClient.Create(options);

    /// <summary>This client's protocol id.</summary>
    public int ClientId => _state.ClientId;

    /// <summary>The current state's phase.</summary>
    public Phase Phase => _state.Phase;

    /// <summary>Whether the session accepts no further input.</summary>
    public bool IsTerminal => _state.IsTerminal;

    /// <summary>The current state (read-only view for inspection).</summary>
    public ClientState State => _state;

    /// <summary>Feeds one coordinator message.</summary>
    public ClientSessionStep Handle(ServerToClient message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Phase before = _state.Phase;
        if (_state is ClientCompletedState && message.MessageCase == ServerToClient.MessageOneofCase.Result)
        {
            RoundResult result = message.Result;
            bool included = result.Outcome == RoundOutcome.Completed && result.Contributors.Contains((uint)_state.ClientId);
            return new ClientSessionStep(included ? ClientSessionStatus.Completed : ClientSessionStatus.NotIncluded, null, before, before,
                ClientAbortReason.Unspecified, ProtocolRejection.None, null);
        }

        ClientStep step = _state.Handle(message);
        if (!step.Accepted)
        {
            return new ClientSessionStep(ClientSessionStatus.Refused, null, before, before, ClientAbortReason.Unspecified,
                step.Rejection ?? ProtocolRejection.None, step.RejectionDetail);
        }

        _state = step.State;
        if (_state is ClientAbortedState aborted)
        {
            return new ClientSessionStep(ClientSessionStatus.Aborted, step.Message, before, Phase.Aborted, aborted.Reason,
                ProtocolRejection.None, null);
        }

        return new ClientSessionStep(ClientSessionStatus.Running, step.Message, before, _state.Phase, ClientAbortReason.Unspecified,
            ProtocolRejection.None, null);
    }

    /// <summary>Gives up the round locally: wipes every round secret; nothing is sent.</summary>
    public void Abandon() => _state = _state.Abandon();

    /// <inheritdoc />
    public void Dispose() => Abandon();
}
