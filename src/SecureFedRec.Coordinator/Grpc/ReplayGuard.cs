namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// Refuses requests whose timestamp is outside a window around the local clock, and requests whose
/// (client id, nonce) pair was already accepted. A nonce is remembered until its timestamp leaves the window, after
/// which the timestamp check alone refuses it, so memory is bounded by the request rate times the window.
/// </summary>
/// <remarks>
/// Thread-safe. Two bounds keep one client from denying service to the others: each client id may hold at most
/// <see cref="PerClientCapacity"/> live nonces (its requests beyond that are refused, <see cref="ReplayVerdict.QuotaExceeded"/>,
/// until its oldest nonces leave the window), and all clients together at most <see cref="Capacity"/>
/// (<see cref="ReplayVerdict.Overloaded"/>). A nonce is never evicted early, which would re-open a replay. The guard runs
/// only after a request's signature verified, so only a key holder spends its own quota.
/// </remarks>
public sealed class ReplayGuard
{
    private readonly TimeProvider _time;
    private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perClient = new(StringComparer.Ordinal);
    private readonly PriorityQueue<(string Key, string Client), long> _expiry = new();
    private readonly Lock _gate = new();

    /// <summary>Creates a guard accepting timestamps within ±<paramref name="window"/> of <paramref name="time"/>, holding at
    /// most <paramref name="capacity"/> nonces in all and <paramref name="perClientCapacity"/> per client id (0: the whole
    /// capacity).</summary>
    public ReplayGuard(TimeProvider time, TimeSpan window, int capacity = 1_000_000, int perClientCapacity = 0)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(perClientCapacity);
        _time = time;
        Window = window;
        Capacity = capacity;
        PerClientCapacity = perClientCapacity == 0 ? capacity : Math.Min(perClientCapacity, capacity);
    }

    /// <summary>Accepted distance between a request's timestamp and the local clock.</summary>
    public TimeSpan Window { get; }

    /// <summary>Most nonces held at once.</summary>
    public int Capacity { get; }

    /// <summary>Most nonces one client id holds at once (its requests per window, 2 × <see cref="Window"/>).</summary>
    public int PerClientCapacity { get; }

    /// <summary>Checks and records one request.</summary>
    public ReplayVerdict Check(string clientId, ReadOnlySpan<byte> nonce, long timestampUnixMs)
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long window = (long)Window.TotalMilliseconds;
        if (timestampUnixMs < now - window || timestampUnixMs > now + window)
        {
            return ReplayVerdict.Stale;
        }

        string key = clientId + ":" + Convert.ToHexString(nonce);
        lock (_gate)
        {
            while (_expiry.TryPeek(out (string Key, string Client) oldest, out long expires) && expires < now - window)
            {
                _expiry.Dequeue();
                _seen.Remove(oldest.Key);
                if (_perClient.TryGetValue(oldest.Client, out int held))
                {
                    if (held <= 1)
                    {
                        _perClient.Remove(oldest.Client);
                    }
                    else
                    {
                        _perClient[oldest.Client] = held - 1;
                    }
                }
            }

            if (_seen.ContainsKey(key))
            {
                return ReplayVerdict.Replayed;
            }

            if (_seen.Count >= Capacity)
            {
                return ReplayVerdict.Overloaded;
            }

            int mine = _perClient.GetValueOrDefault(clientId);
            if (mine >= PerClientCapacity)
            {
                return ReplayVerdict.QuotaExceeded;
            }

            // The entry may go once the timestamp itself is stale: timestamp < now - window.
            _seen.Add(key, timestampUnixMs);
            _perClient[clientId] = mine + 1;
            _expiry.Enqueue((key, clientId), timestampUnixMs);
            return ReplayVerdict.Fresh;
        }
    }
}

/// <summary>Outcome of <see cref="ReplayGuard.Check"/>. Closed set.</summary>
public enum ReplayVerdict
{
    /// <summary>First time seen, timestamp in the window: accepted and recorded.</summary>
    Fresh = 0,
    /// <summary>Timestamp outside the window.</summary>
    Stale = 1,
    /// <summary>The (client, nonce) pair was already used.</summary>
    Replayed = 2,
    /// <summary>Too many live nonces in all: refused to keep memory bounded.</summary>
    Overloaded = 3,
    /// <summary>This client id holds its quota of live nonces: refused so that one client cannot fill the cache.</summary>
    QuotaExceeded = 4,
}
