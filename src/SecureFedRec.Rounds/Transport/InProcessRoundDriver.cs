using System.Collections.Concurrent;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;

namespace SecureFedRec.Rounds.Transport;

/// <summary>The result of one in-process round.</summary>
/// <param name="Clients">Each client's result, in the order given.</param>
/// <param name="BytesSent">Serialized protocol bytes each client sent, in the order given.</param>
/// <param name="BytesReceived">Serialized protocol bytes each client received, in the order given.</param>
/// <param name="Elapsed">Wall time of the round.</param>
public sealed record InProcessRoundResult(IReadOnlyList<ClientRoundResult> Clients, IReadOnlyList<long> BytesSent,
    IReadOnlyList<long> BytesReceived, TimeSpan Elapsed);

/// <summary>
/// Runs one round in process: the round host and N client rounds over <see cref="InProcessRoundTransport"/>, at most
/// <c>threads</c> clients computing at once. Clients long-poll the host; when every client has finished or is waiting
/// for the next phase (no further message can come), the driver closes the phase at once — the in-process equivalent
/// of its deadline passing — so a silent client is dropped exactly as a late network client is.
/// </summary>
public sealed class InProcessRoundDriver : IInProcessWaits, IDisposable
{
    private readonly RoundHost _host;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _poke = new(0);
    private readonly ConcurrentDictionary<string, Task> _waitingOn = new(StringComparer.Ordinal);
    private int _finished;

    private InProcessRoundDriver(RoundHost host, int threads)
    {
        _host = host;
        _slots = new SemaphoreSlim(threads, threads);
    }

    Task IInProcessWaits.Changed => _host.Changed;

    /// <summary>Runs one round with the given clients (caller id, client round), each joining once.</summary>
    /// <exception cref="InvalidOperationException">The round stalled (the host would not open or close with every client waiting).</exception>
    /// <param name="host">The round host.</param>
    /// <param name="clients">The clients.</param>
    /// <param name="threads">Clients computing at once (0: all cores).</param>
    /// <param name="wrap">Tests: wraps client i's transport (a misbehaving client or a man in the middle); null: none.</param>
    /// <param name="cancellationToken">Cancels the round.</param>
    public static async Task<InProcessRoundResult> RunRoundAsync(RoundHost host, IReadOnlyList<(string Caller, ClientRound Round)> clients,
        int threads = 0, Func<int, IRoundTransport, IRoundTransport>? wrap = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        var driver = new InProcessRoundDriver(host, threads > 0 ? threads : Environment.ProcessorCount);
        using (driver)
        {
            return await driver.RunAsync(clients, wrap, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _poke.Dispose();
        _slots.Dispose();
    }

    void IInProcessWaits.BeginWait(string caller, Task changed)
    {
        _waitingOn[caller] = changed;
        _slots.Release();
        _poke.Release();
    }

    async Task IInProcessWaits.EndWaitAsync(string caller, CancellationToken cancellationToken)
    {
        _waitingOn.TryRemove(caller, out _);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<InProcessRoundResult> RunAsync(IReadOnlyList<(string Caller, ClientRound Round)> clients,
        Func<int, IRoundTransport, IRoundTransport>? wrap, CancellationToken cancellationToken)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var transports = clients.Select(c => new InProcessRoundTransport(_host, c.Caller, this)).ToArray();
        var tasks = new Task<ClientRoundResult>[clients.Count];
        for (int i = 0; i < clients.Count; i++)
        {
            int index = i;
            IRoundTransport transport = wrap?.Invoke(index, transports[index]) ?? transports[index];
            tasks[i] = Task.Run(() => RunClientAsync(clients[index].Round, transport, cancellationToken), cancellationToken);
        }

        int stalls = 0;
        while (Volatile.Read(ref _finished) < clients.Count || RoundOpen())
        {
            if (Volatile.Read(ref _finished) < clients.Count)
            {
                await _poke.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (!Quiescent(clients.Count))
            {
                continue;
            }

            RoundHostTick tick = await _host.TickAsync(closeNow: RoundOpen(), cancellationToken).ConfigureAwait(false);
            if (tick is RoundHostTick.Idle or RoundHostTick.PlanRefused)
            {
                if (++stalls > 3)
                {
                    throw new InvalidOperationException($"The in-process round stalled: the host did {tick} with every client waiting.");
                }

                _poke.Release();
            }
            else
            {
                stalls = 0;
            }
        }

        ClientRoundResult[] results = await Task.WhenAll(tasks).ConfigureAwait(false);
        return new InProcessRoundResult(results, transports.Select(t => t.BytesSent).ToArray(), transports.Select(t => t.BytesReceived).ToArray(),
            System.Diagnostics.Stopwatch.GetElapsedTime(start));
    }

    private bool RoundOpen() => _host.Current.RoundId != 0;

    /// <summary>No client can send anything more until the host changes: each has finished or waits on the current change.</summary>
    private bool Quiescent(int clients)
    {
        Task current = _host.Changed;
        int waiting = _waitingOn.Values.Count(t => ReferenceEquals(t, current) && !t.IsCompleted);
        return waiting + Volatile.Read(ref _finished) >= clients;
    }

    private async Task<ClientRoundResult> RunClientAsync(ClientRound round, IRoundTransport transport, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await round.RunAsync(transport, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
            Interlocked.Increment(ref _finished);
            _poke.Release();
        }
    }
}
