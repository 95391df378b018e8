namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// Refuses requests whose timestamp is outside a window around the local clock, and requests whose
/// (client id, nonce) pair was already accepted. A nonce is remembered until its timestamp leaves the window, after
/// which the timestamp check alone refuses it, so memory is bounded by the request rate times the window.
/// </summary>
/// <remarks>
/// Thread-safe. When <see cref="Capacity"/> live nonces are held, new requests are refused
/// (<see cref="ReplayVerdict.Overloaded"/>) rather than evicting a nonce, which would re-open a replay.
/// </remarks>
public sealed class ReplayGuard
{
    private readonly TimeProvider _time;
    private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, long> _expiry = new();
    private readonly Lock _gate = new();

    /// <summary>Creates a guard accepting timestamps within ±<paramref name="window"/> of <paramref name="time"/>.</summary>
    public ReplayGuard(TimeProvider time, TimeSpan window, int capacity = 1_000_000)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = time;
        Window = window;
        Capacity = capacity;
    }

    /// <summary>Accepted distance between a request's timestamp and the local clock.</summary>
    public TimeSpan Window { get; }

    /// <summary>Most nonces held at once.</summary>
    public int Capacity { get; }

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
            while (_expiry.TryPeek(out string? oldest, out long expires) && expires < now - window)
            {
                _expiry.Dequeue();
                _seen.Remove(oldest);
            }

            if (_seen.ContainsKey(key))
            {
                return ReplayVerdict.Replayed;
            }

            if (_seen.Count >= Capacity)
            {
                return ReplayVerdict.Overloaded;
            }

            // The entry may go once the timestamp itself is stale: timestamp < now - window.
            _seen.Add(key, timestampUnixMs);
            _expiry.Enqueue(key, timestampUnixMs);
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
    /// <summary>Too many live nonces: refused to keep memory bounded.</summary>
    Overloaded = 3,
}
