using System.Collections.Concurrent;
using Google.Protobuf;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Attack.Tests;

/// <summary>
/// An attack as data: what a lying coordinator rewrites in what the real round host sends. Each hook receives the
/// honest message and returns what the coordinator sends instead (the default: the honest one). The coordinator runs
/// the real gRPC services, TLS and request signing; only the round service beneath them lies.
/// </summary>
internal abstract class AttackScript
{
    /// <summary>Name used in failure messages.</summary>
    public abstract string Name { get; }

    /// <summary>The invitation (contract, client number, BeginRound) sent to <paramref name="caller"/>.</summary>
    public virtual RoundInvitation Invite(string caller, RoundInvitation honest) => honest;

    /// <summary>The message opening <paramref name="phase"/> for the client numbered <paramref name="clientNumber"/>.</summary>
    public virtual ServerToClient Fetched(string caller, int clientNumber, Phase phase, ServerToClient honest) => honest;

    /// <summary>
    /// The whole FetchPhase answer (default: <see cref="Fetched"/> on a READY message, anything else unchanged). An attack
    /// overrides this to answer a fetch the real host would not answer (e.g. a client it dropped).
    /// </summary>
    public virtual FetchReply FetchedReply(string caller, int clientNumber, ulong roundId, Phase phase, FetchReply honest) =>
        honest is { Outcome: FetchOutcome.Ready, Message: { } message } ? honest with { Message = Fetched(caller, clientNumber, phase, message) } : honest;

    /// <summary>The real round host beneath the lie (set by <see cref="LyingCoordinator"/>), for attacks that query it.</summary>
    public IRoundService Inner { get; set; } = null!;

    /// <summary>The callers invited so far and their client numbers (set by <see cref="LyingCoordinator"/>).</summary>
    public ConcurrentDictionary<string, int> Callers { get; } = new();

    /// <summary>
    /// What the coordinator passes to the real round host for a submission (null: swallow it and answer accepted, so the
    /// sender goes on and the real host never sees it).
    /// </summary>
    public virtual ClientToServer? Submitted(string caller, int clientNumber, Phase phase, ClientToServer message) => message;

    public override string ToString() => Name;
}

/// <summary>The honest coordinator: rewrites nothing (the control of every attack test).</summary>
internal sealed class HonestScript : AttackScript
{
    public override string Name => "honest";
}

/// <summary>One message the lying coordinator sent or received, in order.</summary>
internal sealed record TranscriptEntry(long Sequence, string Caller, int ClientNumber, ulong RoundId, Phase Phase, bool FromClient, IMessage Message);

/// <summary>Everything the coordinator saw and sent: what it can try to unmask with.</summary>
internal sealed class Transcript
{
    private readonly ConcurrentQueue<TranscriptEntry> _entries = new();
    private long _sequence;

    public IReadOnlyList<TranscriptEntry> Entries => [.. _entries.OrderBy(e => e.Sequence)];

    public void Add(string caller, int clientNumber, ulong roundId, Phase phase, bool fromClient, IMessage message) =>
        _entries.Enqueue(new TranscriptEntry(Interlocked.Increment(ref _sequence), caller, clientNumber, roundId, phase, fromClient, message));

    /// <summary>Messages the client numbered <paramref name="clientNumber"/> sent in round <paramref name="roundId"/>.</summary>
    public IEnumerable<ClientToServer> SentBy(int clientNumber, ulong roundId) =>
        Entries.Where(e => e.FromClient && e.ClientNumber == clientNumber && e.RoundId == roundId).Select(e => (ClientToServer)e.Message);

    /// <summary>Messages sent to the client numbered <paramref name="clientNumber"/> in round <paramref name="roundId"/>.</summary>
    public IEnumerable<ServerToClient> SentTo(int clientNumber, ulong roundId) =>
        Entries.Where(e => !e.FromClient && e.ClientNumber == clientNumber && e.RoundId == roundId).Select(e => (ServerToClient)e.Message);

    /// <summary>Every client submission of round <paramref name="roundId"/>.</summary>
    public IEnumerable<(int Client, ClientToServer Message)> Submissions(ulong roundId) =>
        Entries.Where(e => e.FromClient && e.RoundId == roundId).Select(e => (e.ClientNumber, (ClientToServer)e.Message));
}

/// <summary>
/// The lying coordinator: an <see cref="IRoundService"/> decorator between the coordinator's gRPC services and its real
/// round host (<see cref="Coordinator.RoundEngine"/>). It records every message (<see cref="Transcript"/>) and lets the
/// <see cref="AttackScript"/> rewrite what the clients receive. Thread-safe (the gRPC services call it concurrently).
/// </summary>
internal sealed class LyingCoordinator : IRoundService
{
    private readonly ConcurrentDictionary<string, int> _numbers = new();
    private readonly IRoundService inner;
    private readonly AttackScript script;

    public LyingCoordinator(IRoundService inner, AttackScript script)
    {
        this.inner = inner;
        this.script = script;
        script.Inner = inner;
    }

    public Transcript Transcript { get; } = new();

    /// <summary>The invitations each caller received, by round (for replay attacks).</summary>
    public ConcurrentDictionary<(string Caller, ulong Round), RoundInvitation> Invitations { get; } = new();

    /// <summary>Client number of a caller in its latest round (0 when it was never invited).</summary>
    public int NumberOf(string caller) => _numbers.GetValueOrDefault(caller);

    public JoinReply Join(string caller)
    {
        JoinReply reply = inner.Join(caller);
        if (reply is not { Outcome: JoinOutcome.Selected, Invitation: { } honest })
        {
            return reply;
        }

        RoundInvitation sent = script.Invite(caller, honest);
        _numbers[caller] = sent.ClientNumber;
        script.Callers[caller] = sent.ClientNumber;
        Invitations[(caller, sent.Contract.RoundId)] = sent;
        Transcript.Add(caller, sent.ClientNumber, sent.Contract.RoundId, Phase.AdvertiseKeys, fromClient: false, sent.Opening);
        return reply with { Invitation = sent };
    }

    public SubmitReply Submit(string caller, ulong roundId, Phase phase, ClientToServer message)
    {
        int number = NumberOf(caller);
        Transcript.Add(caller, number, roundId, phase, fromClient: true, message);
        ClientToServer? forwarded = script.Submitted(caller, number, phase, message);
        return forwarded is null
            ? new SubmitReply(SubmitOutcome.Accepted, RoundRefusal.None, null, DateTimeOffset.UtcNow.AddSeconds(10))
            : inner.Submit(caller, roundId, phase, forwarded);
    }

    public FetchReply Fetch(string caller, ulong roundId, Phase phase)
    {
        int number = NumberOf(caller);
        FetchReply reply = script.FetchedReply(caller, number, roundId, phase, inner.Fetch(caller, roundId, phase));
        if (reply is { Outcome: FetchOutcome.Ready, Message: { } sent })
        {
            Transcript.Add(caller, number, roundId, phase, fromClient: false, sent);
        }

        return reply;
    }

    public Task<ModelRelease?> GetModelAsync(ulong version, CancellationToken cancellationToken) => inner.GetModelAsync(version, cancellationToken);
}

/// <summary>Rewrites of the opening message that keep it consistent with a (lying) contract.</summary>
internal static class Lies
{
    /// <summary>
    /// A coherent lie: <paramref name="contract"/> announced, the BeginRound re-bound to it (its binding recomputed) and
    /// <paramref name="edit"/> applied to the secure-aggregation parameters. Only the real cohort keeps taking part, so
    /// the lie is what the clients see, not what the round host runs.
    /// </summary>
    public static RoundInvitation Rebind(RoundInvitation honest, RoundContract contract, Action<RoundParameters>? edit = null)
    {
        ServerToClient opening = honest.Opening.Clone();
        opening.BeginRound.Parameters.Binding = ByteString.CopyFrom(contract.Binding());
        edit?.Invoke(opening.BeginRound.Parameters);
        return honest with { Contract = contract, Opening = opening };
    }

    /// <summary>The BeginRound edited without touching the contract or its binding (an unbound lie).</summary>
    public static RoundInvitation EditParameters(RoundInvitation honest, Action<RoundParameters> edit)
    {
        ServerToClient opening = honest.Opening.Clone();
        edit(opening.BeginRound.Parameters);
        return honest with { Opening = opening };
    }
}
