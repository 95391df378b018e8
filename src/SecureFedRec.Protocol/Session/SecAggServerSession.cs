using System.Security.Cryptography;
using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Session;

/// <summary>How <see cref="SecAggServerSession.Handle"/> treated one client message.</summary>
public enum ServerSessionOutcome
{
    /// <summary>Taken into the round.</summary>
    Accepted = 1,

    /// <summary>The identical message was already taken for this (client, phase): a safe retry, nothing changed.</summary>
    AlreadyAccepted = 2,

    /// <summary>A different message was already taken for this (client, phase); nothing changed.</summary>
    Conflicting = 3,

    /// <summary>Refused without dropping the sender (<see cref="ServerSessionStep.Rejection"/> names the rule).</summary>
    Refused = 4,

    /// <summary>The sender is dropped from the round (<see cref="ServerSessionStep.DropReason"/>), by this message or earlier.</summary>
    Dropped = 5,

    /// <summary>The round has ended.</summary>
    PhaseClosed = 6,
}

/// <summary>The result of feeding one message to a <see cref="SecAggServerSession"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Phase">The phase that was open when the message arrived.</param>
/// <param name="Rejection">The rule that refused it, when <see cref="ServerSessionOutcome.Refused"/>.</param>
/// <param name="DropReason">Why the sender is out of the round, when <see cref="ServerSessionOutcome.Dropped"/>.</param>
/// <param name="Detail">Diagnostic text (no secrets), when not accepted.</param>
public sealed record ServerSessionStep(ServerSessionOutcome Outcome, Phase Phase, ProtocolRejection Rejection, DropReason DropReason, string? Detail)
{
    /// <summary>Whether the message is (now or already) part of the round.</summary>
    public bool IsAccepted => Outcome is ServerSessionOutcome.Accepted or ServerSessionOutcome.AlreadyAccepted;
}

/// <summary>How <see cref="SecAggServerSession.Fetch"/> answered.</summary>
public enum ServerFetchOutcome
{
    /// <summary>The phase is open for this client; the message opens it.</summary>
    Ready = 1,

    /// <summary>The previous phase is still collecting.</summary>
    Pending = 2,

    /// <summary>The client is out of the round.</summary>
    Dropped = 3,

    /// <summary>The round aborted (the message, when present, is the AbortRound).</summary>
    Aborted = 4,
}

/// <summary>The answer of <see cref="SecAggServerSession.Fetch"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Message">The message addressed to the client, when ready (or the abort).</param>
/// <param name="DropReason">Why the client is out, when dropped.</param>
public readonly record struct ServerFetch(ServerFetchOutcome Outcome, ServerToClient? Message, DropReason DropReason);

/// <summary>
/// One coordinator session of one secure-aggregation round (after fcp's <c>secagg_server.h</c>: "each instance performs
/// just one session"). The session owns the current <see cref="ServerState"/>, the per-(client, phase) outbox of the
/// messages the state machine produced, the set of clients expected to answer the open phase, and the "ready to close"
/// check. A host (the round host, the in-process simulation) only feeds messages in with <see cref="Handle"/> and
/// closes phases with <see cref="Close"/> at a deadline or as soon as <see cref="IsReadyToClose"/>; it never assigns
/// states itself.
/// </summary>
/// <remarks>
/// <para>A client that has not answered when its phase closes is dropped with <see cref="DropReason.TimedOut"/>; the state
/// machine drops malformed senders itself. A resubmission of the identical message (same encoding: a 128-bit XxHash
/// fingerprint of it, see <c>MessageDigest</c>; no security rests on it) is a safe retry; a different one for the same (client, phase) is refused as <see cref="ServerSessionOutcome.Conflicting"/>.</para>
/// <para>No I/O, clock or randomness. Thread-safe: every member takes one lock, so RPC handlers may call concurrently;
/// <see cref="Close"/> of the unmasking phase holds it while the state machine unmasks (using its worker threads).</para>
/// </remarks>
public sealed class SecAggServerSession
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(int Client, Phase Phase), ServerToClient> _outbox = [];
    private readonly Dictionary<int, DropReason> _timedOut = [];
    private Dictionary<int, byte[]> _answered = [];
    private readonly Dictionary<(int Client, Phase Phase), byte[]> _taken = [];
    private HashSet<int> _expected = [];
    private IReadOnlyList<OutgoingMessage> _phaseMessages = [];
    private ServerState _state;

    private SecAggServerSession(ServerTransition start)
    {
        _state = start.State;
        Publish(start.Messages);
    }

    /// <summary>Opens a session: the first state and the BeginRound for every cohort member (in the outbox).</summary>
    /// <exception cref="ArgumentException">Invalid options (malicious mode without identities, negative threads).</exception>
    public static SecAggServerSession Start(SecAggParameters parameters, ServerOptions? options = null) =>
        new(SecAggServer.Start(parameters, options));

    /// <summary>The round parameters.</summary>
    public SecAggParameters Parameters => _state.Parameters;

    /// <summary>The open phase (<see cref="Phase.Completed"/> or <see cref="Phase.Aborted"/> once terminal).</summary>
    public Phase Phase
    {
        get
        {
            lock (_gate)
            {
                return _state.Phase;
            }
        }
    }

    /// <summary>Whether the round has ended.</summary>
    public bool IsTerminal
    {
        get
        {
            lock (_gate)
            {
                return _state.IsTerminal;
            }
        }
    }

    /// <summary>The state machine's current state (read-only view for inspection; hosts never replace it).</summary>
    public ServerState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Clients expected to answer the open phase (sent its opening message, not dropped), increasing.</summary>
    public IReadOnlyList<int> Expected
    {
        get
        {
            lock (_gate)
            {
                return _expected.Order().ToArray();
            }
        }
    }

    /// <summary>The messages the state machine produced when the open (or terminal) phase began, one per recipient.</summary>
    public IReadOnlyList<OutgoingMessage> PhaseMessages
    {
        get
        {
            lock (_gate)
            {
                return _phaseMessages;
            }
        }
    }

    /// <summary>How many expected clients have answered the open phase.</summary>
    public int AnsweredCount
    {
        get
        {
            lock (_gate)
            {
                return _answered.Count;
            }
        }
    }

    /// <summary>Whether every expected client has answered or been dropped (close now rather than at the deadline).</summary>
    public bool IsReadyToClose
    {
        get
        {
            lock (_gate)
            {
                return !_state.IsTerminal && _expected.All(id => _answered.ContainsKey(id) || IsDropped(id));
            }
        }
    }

    /// <summary>Every client out of the round, with the reason (state-machine drops and phase timeouts).</summary>
    public IReadOnlyDictionary<int, DropReason> Dropped
    {
        get
        {
            lock (_gate)
            {
                var all = new Dictionary<int, DropReason>(_timedOut);
                foreach ((int id, DropReason reason) in _state.DroppedClients)
                {
                    all[id] = reason;
                }

                return all;
            }
        }
    }

    /// <summary>The outcome once terminal (<see cref="RoundOutcome.Unspecified"/> while running).</summary>
    public RoundOutcome Outcome
    {
        get
        {
            lock (_gate)
            {
                return _state switch
                {
                    ServerCompletedState => RoundOutcome.Completed,
                    ServerAbortedState aborted => aborted.Outcome,
                    _ => RoundOutcome.Unspecified,
                };
            }
        }
    }

    /// <summary>The completed state (sum and contributors), or null.</summary>
    public ServerCompletedState? Completed
    {
        get
        {
            lock (_gate)
            {
                return _state as ServerCompletedState;
            }
        }
    }

    /// <summary>Estimated peak bytes held for this round.</summary>
    public long PeakMemoryBytes => State.PeakMemoryBytes;

    /// <summary>
    /// Whether this session took exactly <paramref name="message"/> from <paramref name="sender"/> in
    /// <paramref name="phase"/>, open or closed (a retry whose acknowledgement was lost, arriving after the phase moved on).
    /// </summary>
    /// <param name="sender">The sender's protocol id.</param>
    /// <param name="phase">The phase the message was sent for.</param>
    /// <param name="message">The parsed message.</param>
    public bool Took(int sender, Phase phase, ClientToServer message)
    {
        ArgumentNullException.ThrowIfNull(message);
        byte[] digest = MessageDigest.Of(message);
        lock (_gate)
        {
            return _taken.TryGetValue((sender, phase), out byte[]? taken) && CryptographicOperations.FixedTimeEquals(taken, digest);
        }
    }

    /// <summary>Feeds one message from <paramref name="sender"/> (the transport-authenticated protocol id).</summary>
    /// <param name="sender">The sender's protocol id.</param>
    /// <param name="message">The parsed message.</param>
    /// <param name="encoded">Its encoding as received, when the host has it (used for the resubmission check; else re-encoded).</param>
    public ServerSessionStep Handle(int sender, ClientToServer message, ReadOnlySpan<byte> encoded = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        byte[] digest = encoded.IsEmpty ? MessageDigest.Of(message) : MessageDigest.Of(encoded);
        lock (_gate)
        {
            Phase phase = _state.Phase;
            if (TryDropReason(sender, out DropReason already))
            {
                return new ServerSessionStep(ServerSessionOutcome.Dropped, phase, ProtocolRejection.None, already, "The sender is out of the round.");
            }

            if (_state.IsTerminal)
            {
                return new ServerSessionStep(ServerSessionOutcome.PhaseClosed, phase, ProtocolRejection.RoundEnded, DropReason.Unspecified, "The round has ended.");
            }

            if (_answered.TryGetValue(sender, out byte[]? previous))
            {
                return CryptographicOperations.FixedTimeEquals(previous, digest)
                    ? new ServerSessionStep(ServerSessionOutcome.AlreadyAccepted, phase, ProtocolRejection.None, DropReason.Unspecified, null)
                    : new ServerSessionStep(ServerSessionOutcome.Conflicting, phase, ProtocolRejection.Duplicate, DropReason.Unspecified,
                        "A different message was already taken for this phase.");
            }

            if (message.MessageCase != ClientToServer.MessageOneofCase.Abort && message.MessageCase != ClientToServer.MessageOneofCase.None
                && PhaseOf(message.MessageCase) != phase)
            {
                return new ServerSessionStep(ServerSessionOutcome.Refused, phase, ProtocolRejection.UnexpectedMessageKind, DropReason.Unspecified,
                    $"{message.MessageCase} does not belong to the open phase {phase}.");
            }

            ServerStep step = _state.Handle(sender, message);
            if (step.Dropped is { } dropped)
            {
                return new ServerSessionStep(ServerSessionOutcome.Dropped, phase, ProtocolRejection.None, dropped, "Dropped: " + dropped);
            }

            if (!step.Accepted)
            {
                return new ServerSessionStep(ServerSessionOutcome.Refused, phase, step.Rejection ?? ProtocolRejection.None, DropReason.Unspecified, step.RejectionDetail);
            }

            _answered[sender] = digest;
            _taken[(sender, phase)] = digest;
            return new ServerSessionStep(ServerSessionOutcome.Accepted, phase, ProtocolRejection.None, DropReason.Unspecified, null);
        }
    }

    /// <summary>
    /// Closes the open phase (its deadline passed, or <see cref="IsReadyToClose"/>): expected clients that did not answer
    /// are dropped as <see cref="DropReason.TimedOut"/>, the state machine moves on, and its messages go to the outbox
    /// under the new phase. Returns the new phase. A terminal session stays as it is.
    /// </summary>
    public Phase Close()
    {
        lock (_gate)
        {
            if (_state.IsTerminal)
            {
                return _state.Phase;
            }

            foreach (int late in _expected.Where(id => !_answered.ContainsKey(id) && !IsDropped(id)))
            {
                _timedOut[late] = DropReason.TimedOut;
            }

            ServerTransition transition = _state.Close();
            _state = transition.State;
            Publish(transition.Messages);
            return _state.Phase;
        }
    }

    /// <summary>The message that opens <paramref name="phase"/> for <paramref name="client"/>, or why there is none (yet).</summary>
    public ServerFetch Fetch(int client, Phase phase)
    {
        lock (_gate)
        {
            if (_outbox.TryGetValue((client, phase), out ServerToClient? message))
            {
                return new ServerFetch(ServerFetchOutcome.Ready, message, DropReason.Unspecified);
            }

            if (TryDropReason(client, out DropReason reason))
            {
                return new ServerFetch(ServerFetchOutcome.Dropped, null, reason);
            }

            if (_state is ServerAbortedState)
            {
                _outbox.TryGetValue((client, Phase.Aborted), out ServerToClient? abort);
                return new ServerFetch(ServerFetchOutcome.Aborted, abort, DropReason.Unspecified);
            }

            // Terminal without a message for this client: it is not among the recipients of the last phase.
            return _state.IsTerminal
                ? new ServerFetch(ServerFetchOutcome.Dropped, null, DropReason.Unspecified)
                : new ServerFetch(ServerFetchOutcome.Pending, null, DropReason.Unspecified);
        }
    }

    /// <summary>The phase whose collecting state takes a client message of this kind.</summary>
    public static Phase PhaseOf(ClientToServer.MessageOneofCase kind) => kind switch
    {
        ClientToServer.MessageOneofCase.AdvertiseKeys => Phase.AdvertiseKeys,
        ClientToServer.MessageOneofCase.RelabelReveal => Phase.RelabelReveal,
        ClientToServer.MessageOneofCase.ShareKeys => Phase.ShareKeys,
        ClientToServer.MessageOneofCase.MaskedInput => Phase.MaskedInput,
        ClientToServer.MessageOneofCase.ConsistencySignature => Phase.ConsistencyCheck,
        ClientToServer.MessageOneofCase.Unmasking => Phase.Unmasking,
        _ => Phase.Unspecified,
    };

    private bool IsDropped(int id) => _timedOut.ContainsKey(id) || _state.DroppedClients.ContainsKey(id);

    private bool TryDropReason(int id, out DropReason reason)
    {
        if (_state.DroppedClients.TryGetValue(id, out reason))
        {
            return true;
        }

        return _timedOut.TryGetValue(id, out reason);
    }

    private void Publish(IReadOnlyList<OutgoingMessage> messages)
    {
        Phase phase = _state.Phase;

        // Only the open phase's messages stay fetchable: a client still asking for an earlier phase missed its deadline
        // and is dropped, so the outbox never holds more than one phase (O(n) messages).
        foreach ((int, Phase) stale in _outbox.Keys.Where(k => k.Phase != phase).ToList())
        {
            _outbox.Remove(stale);
        }

        var expected = new HashSet<int>();
        foreach (OutgoingMessage m in messages)
        {
            _outbox[(m.ClientId, phase)] = m.Message;
            if (!IsDropped(m.ClientId))
            {
                expected.Add(m.ClientId);
            }
        }

        _expected = _state.IsTerminal ? [] : expected;
        _phaseMessages = messages;
        _answered = [];
    }
}
