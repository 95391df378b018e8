using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>One message addressed to one client.</summary>
/// <param name="ClientId">Recipient.</param>
/// <param name="Message">The message; the same instance may be addressed to many recipients (treat as read-only).</param>
public readonly record struct OutgoingMessage(int ClientId, ServerToClient Message);

/// <summary>The result of feeding one client message to a <see cref="ServerState"/>.</summary>
public sealed class ServerStep
{
    internal ServerStep(ServerState state, bool accepted, DropReason? dropped, ProtocolRejection? rejection, string? detail)
    {
        State = state;
        Accepted = accepted;
        Dropped = dropped;
        Rejection = rejection;
        RejectionDetail = detail;
    }

    /// <summary>The state after the message (the same object: collecting states accumulate until <see cref="ServerState.Close"/>).</summary>
    public ServerState State { get; }

    /// <summary>Whether the message was taken into the round.</summary>
    public bool Accepted { get; }

    /// <summary>Set when the sender was dropped from the round because of this message.</summary>
    public DropReason? Dropped { get; }

    /// <summary>The rule that refused the message without dropping its sender (wrong phase, duplicate, another round).</summary>
    public ProtocolRejection? Rejection { get; }

    /// <summary>Diagnostic text for <see cref="Rejection"/> (no secrets).</summary>
    public string? RejectionDetail { get; }
}

/// <summary>The result of closing a phase: the next state and the messages to send.</summary>
public sealed class ServerTransition
{
    internal ServerTransition(ServerState state, IReadOnlyList<OutgoingMessage> messages)
    {
        State = state;
        Messages = messages;
    }

    /// <summary>The next state.</summary>
    public ServerState State { get; }

    /// <summary>Messages to deliver, one per recipient.</summary>
    public IReadOnlyList<OutgoingMessage> Messages { get; }
}

/// <summary>
/// One state of the secure-aggregation coordinator. Messages are fed with <see cref="Handle"/> (the sender id is the
/// transport-authenticated identity); the host closes a phase with <see cref="Close"/> when its deadline passes or every
/// live client has answered. The base class rejects every message; each collecting state overrides the one kind it
/// expects and validates fully before recording anything, so a rejected message leaves the state untouched.
/// </summary>
/// <remarks>
/// Malformed input (wrong length, out-of-range word, bad signature, unknown id, bad share) drops its sender with a
/// closed <see cref="DropReason"/>; the round carries on while at least t clients remain, else it aborts
/// (<see cref="ServerAbortedState"/>). No I/O, clock or randomness of its own. Not thread-safe: one message at a time;
/// <see cref="Close"/> of the unmasking phase uses <see cref="ServerOptions.Threads"/> worker threads internally.
/// </remarks>
public abstract class ServerState
{
    private protected ServerState(ServerContext context) => Context = context;

    /// <summary>This state's phase.</summary>
    public abstract Phase Phase { get; }

    /// <summary>Clients dropped so far, with the reason.</summary>
    public IReadOnlyDictionary<int, DropReason> DroppedClients => Context.Dropped;

    /// <summary>Whether this state is terminal.</summary>
    public bool IsTerminal => Phase is Phase.Completed or Phase.Aborted;

    /// <summary>Estimated peak bytes held by the coordinator for this round so far (sum, accumulators, keys, shares).</summary>
    public long PeakMemoryBytes => Context.PeakBytes;

    /// <summary>The round parameters.</summary>
    public SecAggParameters Parameters => Context.Parameters;

    private protected ServerContext Context { get; }

    /// <summary>Feeds one message from <paramref name="senderId"/>.</summary>
    public ServerStep Handle(int senderId, ClientToServer message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (IsTerminal)
        {
            return Reject(ProtocolRejection.RoundEnded, "The round has ended.");
        }

        if (!Context.Parameters.Contains(senderId) || Context.Dropped.ContainsKey(senderId))
        {
            return Reject(ProtocolRejection.UnknownOrDroppedSender, "Unknown or already dropped sender.");
        }

        return message.MessageCase switch
        {
            ClientToServer.MessageOneofCase.AdvertiseKeys => OnAdvertiseKeys(senderId, message.AdvertiseKeys),
            ClientToServer.MessageOneofCase.RelabelReveal => OnRelabelReveal(senderId, message.RelabelReveal),
            ClientToServer.MessageOneofCase.ShareKeys => OnShareKeys(senderId, message.ShareKeys),
            ClientToServer.MessageOneofCase.MaskedInput => OnMaskedInput(senderId, message.MaskedInput),
            ClientToServer.MessageOneofCase.ConsistencySignature => OnConsistencySignature(senderId, message.ConsistencySignature),
            ClientToServer.MessageOneofCase.Unmasking => OnUnmasking(senderId, message.Unmasking),
            ClientToServer.MessageOneofCase.Abort => OnClientAbort(senderId, message.Abort),
            _ => Reject(ProtocolRejection.EmptyEnvelope, "Empty envelope."),
        };
    }

    /// <summary>Closes the current phase (deadline passed or all answered) and returns the next state and its messages.</summary>
    public virtual ServerTransition Close() => new(this, []);

    private protected virtual ServerStep OnAdvertiseKeys(int sender, AdvertiseKeys message) => Unexpected("AdvertiseKeys");

    private protected virtual ServerStep OnRelabelReveal(int sender, RelabelReveal message) => Unexpected("RelabelReveal");

    private protected virtual ServerStep OnShareKeys(int sender, ShareKeysResponse message) => Unexpected("ShareKeysResponse");

    private protected virtual ServerStep OnMaskedInput(int sender, MaskedInput message) => Unexpected("MaskedInput");

    private protected virtual ServerStep OnConsistencySignature(int sender, ConsistencySignature message) => Unexpected("ConsistencySignature");

    private protected virtual ServerStep OnUnmasking(int sender, UnmaskingResponse message) => Unexpected("UnmaskingResponse");

    private ServerStep OnClientAbort(int sender, ClientAbort message)
    {
        if (message.RoundNumber != Context.Parameters.RoundNumber)
        {
            return Reject(ProtocolRejection.WrongRound, "An abort for another round.");
        }

        return Drop(sender, DropReason.ClientAborted);
    }

    private protected ServerStep Unexpected(string kind) =>
        Reject(ProtocolRejection.UnexpectedMessageKind, $"{kind} is not expected in phase {Phase}.");

    private protected ServerStep Reject(ProtocolRejection rule, string detail) => new(this, accepted: false, dropped: null, rule, detail);

    private protected ServerStep Accept() => new(this, accepted: true, dropped: null, null, null);

    private protected ServerStep Drop(int sender, DropReason reason)
    {
        Context.Dropped[sender] = reason;
        return new ServerStep(this, accepted: false, dropped: reason, null, null);
    }

    /// <summary>Aborts the round, telling every live client.</summary>
    private protected ServerTransition AbortRound(RoundOutcome outcome, IEnumerable<int> recipients)
    {
        var message = new ServerToClient { Abort = new AbortRound { RoundNumber = Context.Parameters.RoundNumber, Outcome = outcome } };
        var messages = recipients.Where(id => !Context.Dropped.ContainsKey(id)).Select(id => new OutgoingMessage(id, message)).ToList();
        Context.Release();
        return new ServerTransition(new ServerAbortedState(Context, outcome), messages);
    }

    /// <summary>The ids among <paramref name="ids"/> that have not been dropped.</summary>
    private protected int[] Live(IEnumerable<int> ids) => ids.Where(id => !Context.Dropped.ContainsKey(id)).Order().ToArray();
}

/// <summary>Terminal state: the round is abandoned; <see cref="Outcome"/> says why.</summary>
public sealed class ServerAbortedState : ServerState
{
    internal ServerAbortedState(ServerContext context, RoundOutcome outcome)
        : base(context) => Outcome = outcome;

    /// <inheritdoc />
    public override Phase Phase => Phase.Aborted;

    /// <summary>Why the round was abandoned.</summary>
    public RoundOutcome Outcome { get; }
}

/// <summary>Terminal state: the unmasked sum of the contributors' inputs mod 2^b.</summary>
public sealed class ServerCompletedState : ServerState
{
    private readonly uint[] _sum;
    private readonly int[] _contributors;

    internal ServerCompletedState(ServerContext context, uint[] sum, int[] contributors)
        : base(context)
    {
        _sum = sum;
        _contributors = contributors;
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.Completed;

    /// <summary>Σ inputs of <see cref="Contributors"/> mod 2^b (copy).</summary>
    public uint[] Sum => (uint[])_sum.Clone();

    /// <summary>Clients whose inputs are in the sum, increasing.</summary>
    public IReadOnlyList<int> Contributors => _contributors;
}
