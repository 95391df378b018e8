using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>The result of feeding one coordinator message to a <see cref="ClientState"/>.</summary>
/// <remarks>
/// A rejected message (wrong kind for the state) leaves the state untouched: <see cref="State"/> is the same object and
/// <see cref="Message"/> is null. An accepted message yields the next state and, usually, the message to send.
/// </remarks>
public sealed class ClientStep
{
    internal ClientStep(ClientState state, ClientToServer? message, bool accepted, ProtocolRejection? rejection, string? detail)
    {
        State = state;
        Message = message;
        Accepted = accepted;
        Rejection = rejection;
        RejectionDetail = detail;
    }

    /// <summary>The state to use for the next message.</summary>
    public ClientState State { get; }

    /// <summary>The message to send to the coordinator, if any.</summary>
    public ClientToServer? Message { get; }

    /// <summary>False when the input was rejected and the state is unchanged.</summary>
    public bool Accepted { get; }

    /// <summary>The rule that rejected the input.</summary>
    public ProtocolRejection? Rejection { get; }

    /// <summary>Diagnostic text for <see cref="Rejection"/> (no secrets).</summary>
    public string? RejectionDetail { get; }
}

/// <summary>
/// One state of a secure-aggregation client (design after Google's fcp/secagg client states). The base class rejects
/// every input; each state overrides the one message kind it expects. A state never mutates itself: a transition
/// returns the next state; a rejected input leaves this state untouched.
/// </summary>
/// <remarks>
/// <para>Failures: a well-formed message of the expected kind that fails validation moves the client to
/// <see cref="ClientAbortedState"/> with a closed <see cref="ClientAbortReason"/> and a <see cref="ClientAbort"/> to send;
/// nothing else is revealed afterwards. Local misuse (an input vector of the wrong length) throws
/// <see cref="ArgumentException"/>.</para>
/// <para>No I/O, clock or randomness of its own: randomness comes from <see cref="ClientOptions.Random"/>.
/// Not thread-safe: feed one message at a time.</para>
/// </remarks>
public abstract class ClientState
{
    private protected ClientState(ClientContext context) => Context = context;

    /// <summary>This state's phase.</summary>
    public abstract Phase Phase { get; }

    /// <summary>This client's id.</summary>
    public int ClientId => Context.Options.ClientId;

    /// <summary>Whether no further input is accepted.</summary>
    public bool IsTerminal => Phase is Phase.Completed or Phase.Aborted;

    private protected ClientContext Context { get; }

    /// <summary>The round memory shared by this round's states (tests inspect that it is wiped).</summary>
    internal ClientContext InternalContext => Context;

    /// <summary>Feeds one coordinator message.</summary>
    /// <remarks>Once the round was abandoned (<see cref="Abandon"/>) through this or any other state of the same round,
    /// every input is rejected.</remarks>
    public ClientStep Handle(ServerToClient message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!IsTerminal && Context.IsDisposed)
        {
            return Reject(ProtocolRejection.AbandonedLocally, "The round was abandoned locally; its secrets are wiped.");
        }

        return message.MessageCase switch
        {
            ServerToClient.MessageOneofCase.BeginRound => OnBeginRound(message.BeginRound),
            ServerToClient.MessageOneofCase.RelabelRevealRequest => OnRelabelRevealRequest(message.RelabelRevealRequest),
            ServerToClient.MessageOneofCase.ShareKeysRequest => OnShareKeysRequest(message.ShareKeysRequest),
            ServerToClient.MessageOneofCase.MaskedInputRequest => OnMaskedInputRequest(message.MaskedInputRequest),
            ServerToClient.MessageOneofCase.ConsistencyCheckRequest => OnConsistencyCheckRequest(message.ConsistencyCheckRequest),
            ServerToClient.MessageOneofCase.UnmaskingRequest => OnUnmaskingRequest(message.UnmaskingRequest),
            ServerToClient.MessageOneofCase.Result => Reject(ProtocolRejection.UnexpectedMessageKind, "A round result is not an input of this state."),
            ServerToClient.MessageOneofCase.Abort => OnAbortRound(message.Abort),
            _ => Reject(ProtocolRejection.EmptyEnvelope, "Empty envelope."),
        };
    }

    /// <summary>
    /// Gives up the round locally (cancellation, exception, transport failure, deadline): wipes every round secret (self-mask
    /// seed, key-agreement private keys, share-encryption keys, shares held for neighbours) and returns an
    /// <see cref="ClientAbortedState"/> with <see cref="ClientAbortedState.IsAbandoned"/> set. Nothing is sent.
    /// </summary>
    /// <remarks>
    /// The states of one round share their memory, so abandoning any of them (even a stale earlier state) wipes the round;
    /// afterwards every state of that round rejects every input. Idempotent; harmless after <see cref="Phase.Completed"/>
    /// or <see cref="Phase.Aborted"/> (returns this terminal state unchanged). Never throws.
    /// </remarks>
    public ClientState Abandon()
    {
        Context.Dispose();
        return IsTerminal ? this : new ClientAbortedState(Context, ClientAbortReason.Unspecified, abandoned: true);
    }

    private protected virtual ClientStep OnBeginRound(BeginRound message) => Unexpected("BeginRound");

    private protected virtual ClientStep OnRelabelRevealRequest(RelabelRevealRequest message) => Unexpected("RelabelRevealRequest");

    private protected virtual ClientStep OnShareKeysRequest(ShareKeysRequest message) => Unexpected("ShareKeysRequest");

    private protected virtual ClientStep OnMaskedInputRequest(MaskedInputRequest message) => Unexpected("MaskedInputRequest");

    private protected virtual ClientStep OnConsistencyCheckRequest(ConsistencyCheckRequest message) => Unexpected("ConsistencyCheckRequest");

    private protected virtual ClientStep OnUnmaskingRequest(UnmaskingRequest message) => Unexpected("UnmaskingRequest");

    private protected virtual ClientStep OnAbortRound(AbortRound message)
    {
        if (IsTerminal || Context.Parameters is null || message.RoundNumber != Context.Parameters.RoundNumber)
        {
            return Reject(ProtocolRejection.StaleAbort, "An abort for another round, or after the round ended.");
        }

        return Abort(ClientAbortReason.CoordinatorAborted, send: false);
    }

    private protected ClientStep Unexpected(string kind) =>
        Reject(ProtocolRejection.UnexpectedMessageKind, $"{kind} is not expected in phase {Phase}.");

    private protected ClientStep Reject(ProtocolRejection rule, string detail) => new(this, null, accepted: false, rule, detail);

    private protected static ClientStep Next(ClientState next, ClientToServer? message) => new(next, message, accepted: true, null, null);

    /// <summary>Moves to the aborted state, wiping every secret; sends only the reason.</summary>
    private protected ClientStep Abort(ClientAbortReason reason, bool send = true)
    {
        Context.Dispose();
        ClientToServer? message = send
            ? new ClientToServer
            {
                Abort = new ClientAbort
                {
                    RoundNumber = Context.Parameters?.RoundNumber ?? 0,
                    ClientId = (uint)ClientId,
                    Reason = reason,
                },
            }
            : null;
        return Next(new ClientAbortedState(Context, reason), message);
    }
}

/// <summary>Terminal state after the unmasking shares were sent. Rejects every input.</summary>
public sealed class ClientCompletedState : ClientState
{
    internal ClientCompletedState(ClientContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.Completed;
}

/// <summary>Terminal state after an abort; <see cref="Reason"/> says why. Rejects every input.</summary>
/// <remarks>A local give-up (<see cref="ClientState.Abandon"/>) has <see cref="IsAbandoned"/> set and
/// <see cref="Reason"/> = <see cref="ClientAbortReason.Unspecified"/>; it is local only and never sent.</remarks>
public sealed class ClientAbortedState : ClientState
{
    internal ClientAbortedState(ClientContext context, ClientAbortReason reason, bool abandoned = false)
        : base(context)
    {
        Reason = reason;
        IsAbandoned = abandoned;
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.Aborted;

    /// <summary>Why the client stopped.</summary>
    public ClientAbortReason Reason { get; }

    /// <summary>True when the client gave up locally (<see cref="ClientState.Abandon"/>) rather than on a protocol failure.</summary>
    public bool IsAbandoned { get; }
}
