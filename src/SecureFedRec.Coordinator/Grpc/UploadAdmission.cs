namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// The coordinator's admission limit for large request bodies (a masked input in <c>SubmitPhase</c>, an
/// <c>UploadChunk</c>): at most <see cref="BudgetBytes"/> declared message bytes are read and processed at once, and at
/// most one such upload per client. <see cref="SignedRequestMiddleware"/> asks for a lease after it authenticated the
/// call and read the 5-byte gRPC prefix, and before grpc-dotnet reads the body; a call that does not fit waits, in
/// arrival order, until earlier leases are released (back-pressure: its body stays in the client, held by HTTP/2 flow
/// control beyond the coordinator's stream receive window). The wait ends with the call (the client's deadline or a
/// reset); it never refuses a call. One message larger than the whole budget is admitted when no other lease is held.
/// </summary>
/// <remarks>
/// <para>Why (protocol-spec/coordinator.md §"Upload admission"): without it, n clients that send their masked input at
/// the same moment make the coordinator hold n request bodies at once, each in several copies (Kestrel's buffers, the
/// parsed message, the journal entry waiting for its store write): at n = 1,000, d = 10^5 that was most of a 1.4–1.9 GiB
/// peak. The budget bounds that live set independently of n.</para>
/// <para>Thread-safe. Waiters are served first come, first served, except that a waiter whose client already holds a
/// lease is passed over (it cannot be admitted before that lease ends) so that it does not block other clients.</para>
/// </remarks>
internal sealed class UploadAdmission
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _queue = new();
    private readonly Dictionary<string, int> _holding = new(StringComparer.Ordinal);
    private readonly bool _onePerClient;
    private long _inUse;
    private long _peak;
    private long _admitted;
    private long _waited;

    /// <summary>Creates the gate with a budget of <paramref name="budgetBytes"/> declared bytes (at least 1).</summary>
    /// <param name="budgetBytes">Most bytes held at once.</param>
    /// <param name="onePerClient">Whether a client holds at most one lease at a time (uploads: true; responses, where
    /// one client may fetch several model ranges at once, false).</param>
    public UploadAdmission(long budgetBytes, bool onePerClient = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetBytes, 1);
        BudgetBytes = budgetBytes;
        _onePerClient = onePerClient;
    }

    /// <summary>Most declared message bytes admitted at once.</summary>
    public long BudgetBytes { get; }

    /// <summary>Declared bytes of the leases held now.</summary>
    public long InUseBytes
    {
        get
        {
            lock (_gate)
            {
                return _inUse;
            }
        }
    }

    /// <summary>Most declared bytes held at once so far.</summary>
    public long PeakInUseBytes
    {
        get
        {
            lock (_gate)
            {
                return _peak;
            }
        }
    }

    /// <summary>Leases granted so far, and how many of them had to wait.</summary>
    public (long Admitted, long Waited) Counts
    {
        get
        {
            lock (_gate)
            {
                return (_admitted, _waited);
            }
        }
    }

    /// <summary>Calls waiting for a lease now.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// A lease for one upload of <paramref name="bytes"/> declared bytes by <paramref name="client"/>; completes when
    /// admitted. Dispose the lease when the call has been answered.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired while waiting (nothing held).</exception>
    public ValueTask<Lease> AcquireAsync(string client, long bytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Waiter waiter;
        lock (_gate)
        {
            if (_queue.Count == 0 && Fits(client, bytes))
            {
                Take(client, bytes);
                return ValueTask.FromResult(new Lease(this, client, bytes));
            }

            cancellationToken.ThrowIfCancellationRequested();
            waiter = new Waiter(client, bytes);
            waiter.Node = _queue.AddLast(waiter);
            // Queued only behind waiters of clients that already hold a lease: it may go at once.
            AdmitWaiters();
            if (waiter.Admitted)
            {
                return ValueTask.FromResult(new Lease(this, client, bytes));
            }
        }

        return WaitAsync(waiter, cancellationToken);
    }

    private async ValueTask<Lease> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Done.TrySetCanceled(token), waiter))
        {
            try
            {
                await waiter.Done.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    if (waiter.Admitted)
                    {
                        // Admitted and cancelled at the same moment: give the lease back.
                        Return(waiter.Client, waiter.Bytes);
                        _admitted--;
                        _waited--;
                    }
                    else
                    {
                        _queue.Remove(waiter.Node!);
                    }

                    AdmitWaiters();
                }

                throw;
            }
        }

        return new Lease(this, waiter.Client, waiter.Bytes);
    }

    private void Release(string client, long bytes)
    {
        lock (_gate)
        {
            Return(client, bytes);
            AdmitWaiters();
        }
    }

    /// <summary>Admits waiters in arrival order while they fit (under the lock).</summary>
    private void AdmitWaiters()
    {
        LinkedListNode<Waiter>? node = _queue.First;
        while (node is not null)
        {
            LinkedListNode<Waiter>? next = node.Next;
            Waiter waiter = node.Value;
            if (_onePerClient && _holding.ContainsKey(waiter.Client))
            {
                node = next; // its own earlier upload is still in progress: the others go first
                continue;
            }

            if (!Fits(waiter.Client, waiter.Bytes))
            {
                return; // first come, first served: nobody overtakes a waiter that does not fit yet
            }

            _queue.Remove(node);
            Take(waiter.Client, waiter.Bytes);
            _waited++;
            waiter.Admitted = true;
            if (!waiter.Done.TrySetResult())
            {
                // Cancelled before it could be admitted: its WaitAsync gives the lease back.
            }

            node = next;
        }
    }

    private bool Fits(string client, long bytes) => (!_onePerClient || !_holding.ContainsKey(client)) && (_inUse == 0 || _inUse + bytes <= BudgetBytes);

    private void Take(string client, long bytes)
    {
        _inUse += bytes;
        _peak = Math.Max(_peak, _inUse);
        _admitted++;
        _holding[client] = _holding.GetValueOrDefault(client) + 1;
    }

    private void Return(string client, long bytes)
    {
        _inUse -= bytes;
        if (_holding.TryGetValue(client, out int held) && held > 1)
        {
            _holding[client] = held - 1;
        }
        else
        {
            _holding.Remove(client);
        }
    }

    /// <summary>An admitted upload; disposing it (once) returns its bytes to the budget.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly UploadAdmission _owner;
        private readonly string _client;
        private readonly long _bytes;
        private int _disposed;

        internal Lease(UploadAdmission owner, string client, long bytes)
        {
            _owner = owner;
            _client = client;
            _bytes = bytes;
        }

        /// <inheritdoc />
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Release(_client, _bytes);
            }
        }
    }

    private sealed class Waiter(string client, long bytes)
    {
        public string Client { get; } = client;

        public long Bytes { get; } = bytes;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        /// <summary>Set under the gate's lock when the waiter took its bytes.</summary>
        public bool Admitted { get; set; }
    }
}

/// <summary>
/// The coordinator's admission limit for large responses (a relayed message above 64 KiB in <c>FetchPhase</c> — the
/// neighbourhood key list every cohort member fetches when AdvertiseKeys or RelabelReveal closes — a model in
/// <c>GetModel</c>, a range in <c>GetModelRange</c>, a roster in <c>GetRoster</c>): at most
/// <see cref="UploadAdmission.BudgetBytes"/> response bytes are being written at once. A handler takes a lease of its
/// response's size (<see cref="HoldAsync"/>) before it returns the response; <see cref="SignedRequestMiddleware"/>
/// flushes the response once grpc-dotnet has written it and then releases the lease (<see cref="ReleaseAsync"/>): the
/// flush of a Kestrel HTTP/2 stream completes only when the stream has handed its bytes to the connection, as the
/// client's flow-control window lets it.
/// </summary>
/// <remarks>
/// Why (protocol-spec/coordinator.md §"Upload admission"): when a phase closes, every held <c>FetchPhase</c> of the cohort
/// wakes at once and each writes the same broadcast into its own HTTP/2 stream buffer (Kestrel's pinned memory pool):
/// at n = 1,000 with a Harary graph that is 1,000 × ~190 KB of pinned blocks held until each client has read its
/// response. The gate bounds those buffers independently of n; waiting responses cost a task each. Thread-safe.
/// </remarks>
internal sealed class ResponseAdmission(long budgetBytes)
{
    /// <summary><c>HttpContext.Items</c> key of the call's lease (released by the middleware).</summary>
    public static readonly object LeaseItem = new();

    /// <summary>The gate (several leases per client allowed: parallel model ranges).</summary>
    public UploadAdmission Gate { get; } = new(budgetBytes, onePerClient: false);

    /// <summary>
    /// Waits until a response of <paramref name="bytes"/> may be written (nothing for a response of at most 64 KiB) and
    /// attaches the lease to the call; the middleware releases it when the call has completed.
    /// </summary>
    public async ValueTask HoldAsync(Microsoft.AspNetCore.Http.HttpContext context, string client, long bytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (bytes <= Wire.CoordinatorProtocol.SmallMessageBytes || context.Items.ContainsKey(LeaseItem))
        {
            return;
        }

        context.Items[LeaseItem] = await Gate.AcquireAsync(client, bytes, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Once the call's handler and grpc-dotnet are done (the response message is written but, for a unary call, not
    /// flushed): flushes the response, which completes when Kestrel's HTTP/2 stream has handed every byte to the
    /// connection, then releases the call's lease, if it took one. Never throws for a client that went away.
    /// </summary>
    public static async Task ReleaseAsync(Microsoft.AspNetCore.Http.HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Items.Remove(LeaseItem, out object? lease) || lease is not IDisposable held)
        {
            return;
        }

        try
        {
            if (!context.RequestAborted.IsCancellationRequested)
            {
                await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            // The client went away (or the response is already complete): nothing is buffered for it any more.
        }
        finally
        {
            held.Dispose();
        }
    }
}
