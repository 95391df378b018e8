using Google.Protobuf;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Rounds.Transport;

/// <summary>
/// A client's transport that calls an <see cref="IRoundService"/> in the same process: every protocol message is
/// serialized and parsed on the way, so the simulation exercises the same encoding the network carries (and counts
/// its bytes). Optionally long-polls: with a change signal, a pending join or fetch waits for the next change of
/// round or phase instead of returning <see cref="FetchOutcome.Pending"/>.
/// </summary>
/// <remarks>Thread-safe if the service is. One instance per client (it carries the caller's identity).</remarks>
public sealed class InProcessRoundTransport : IRoundTransport
{
    private readonly IRoundService _service;
    private readonly string _caller;
    private readonly IInProcessWaits? _waits;
    private long _bytesSent;
    private long _bytesReceived;

    /// <summary>Creates the transport for <paramref name="caller"/>; pending replies are returned as they are.</summary>
    /// <param name="service">The round host.</param>
    /// <param name="caller">The caller's (authenticated) client id.</param>
    public InProcessRoundTransport(IRoundService service, string caller)
        : this(service, caller, null)
    {
    }

    internal InProcessRoundTransport(IRoundService service, string caller, IInProcessWaits? waits)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentException.ThrowIfNullOrEmpty(caller);
        _service = service;
        _caller = caller;
        _waits = waits;
    }

    /// <summary>Serialized protocol bytes this client sent.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Serialized protocol bytes this client received.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <inheritdoc />
    public async Task<JoinReply> JoinAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task? changed = _waits?.Changed;
            JoinReply reply = _service.Join(_caller);
            if (reply.Outcome == JoinOutcome.Selected && reply.Invitation is { } invitation)
            {
                return reply with { Invitation = invitation with { Opening = Receive(invitation.Opening) } };
            }

            if (changed is null || reply.Outcome == JoinOutcome.Finished)
            {
                return reply;
            }

            await WaitAsync(changed, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        byte[] bytes = message.ToByteArray();
        Interlocked.Add(ref _bytesSent, bytes.Length);
        return _service.SubmitAsync(_caller, roundId, phase, ClientToServer.Parser.ParseFrom(bytes), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task? changed = _waits?.Changed;
            FetchReply reply = _service.Fetch(_caller, roundId, phase);
            if (reply.Outcome != FetchOutcome.Pending || changed is null)
            {
                return reply.Message is { } message ? reply with { Message = Receive(message) } : reply;
            }

            await WaitAsync(changed, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken)
    {
        ModelRelease? release = await _service.GetModelAsync(version, cancellationToken).ConfigureAwait(false);
        return release ?? throw new InvalidOperationException("Model version " + version + " does not exist.");
    }

    private ServerToClient Receive(ServerToClient message)
    {
        byte[] bytes = message.ToByteArray();
        Interlocked.Add(ref _bytesReceived, bytes.Length);
        return ServerToClient.Parser.ParseFrom(bytes);
    }

    private async Task WaitAsync(Task changed, CancellationToken cancellationToken)
    {
        _waits!.BeginWait(_caller, changed);
        try
        {
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _waits.EndWaitAsync(_caller, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>How an in-process driver long-polls and bounds how many clients compute at once.</summary>
internal interface IInProcessWaits
{
    /// <summary>Completes at the next change of round or phase.</summary>
    Task Changed { get; }

    /// <summary>The client starts waiting on <paramref name="changed"/> (gives up its compute slot).</summary>
    void BeginWait(string caller, Task changed);

    /// <summary>The client resumes (takes a compute slot again).</summary>
    Task EndWaitAsync(string caller, CancellationToken cancellationToken);
}
