using System.Data.Common;
using Grpc.Core;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Coordinator.Storage;

/// <summary>
/// The store a store outage surfaces as: a call that still failed after the coordinator's bounded retries. It is an
/// <see cref="RpcException"/> with status UNAVAILABLE, so an RPC that meets it ends with a retryable status (the SDK
/// retries UNAVAILABLE with backoff) instead of UNKNOWN.
/// </summary>
public sealed class StoreUnavailableException : RpcException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The store operation that failed.</param>
    /// <param name="inner">The last failure.</param>
    public StoreUnavailableException(string operation, Exception inner)
        : base(new Status(StatusCode.Unavailable, "The coordinator's store is unavailable; retry later.", inner))
    {
        Operation = operation;
        Cause = inner;
    }

    /// <summary>The last failure of the store (start-up reports it as the store's own error).</summary>
    public Exception Cause { get; }

    /// <summary>The store operation that failed.</summary>
    public string Operation { get; }
}

/// <summary>
/// A <see cref="ICoordinatorStore"/> decorator that retries transient failures (database and I/O errors, timeouts) a
/// bounded number of times with exponential backoff, then throws <see cref="StoreUnavailableException"/>. Refusals
/// (<see cref="StoreConflictException"/>, a corrupt ledger, bad arguments) and cancellation are never retried.
/// </summary>
/// <remarks>
/// Every store method is atomic, so a failed attempt wrote nothing and retrying it is safe; the one ambiguity, a commit
/// that succeeded but whose reply was lost, is caught by the store's own keys (a ledger row is keyed by round id and
/// comes back as not added; a model version that differs from the round host's is refused). Thread-safe.
/// </remarks>
public sealed class RetryingCoordinatorStore : ICoordinatorStore
{
    private readonly ICoordinatorStore _inner;
    private readonly int _attempts;
    private readonly TimeSpan _initialBackoff;
    private readonly TimeSpan _maxBackoff;
    private readonly TimeProvider _time;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The store.</param>
    /// <param name="attempts">Attempts per call (default 4).</param>
    /// <param name="initialBackoff">Delay before the second attempt (default 100 ms), doubling up to <paramref name="maxBackoff"/>.</param>
    /// <param name="maxBackoff">Largest delay between attempts (default 1 s).</param>
    /// <param name="time">Clock of the delays.</param>
    public RetryingCoordinatorStore(ICoordinatorStore inner, int attempts = 4, TimeSpan? initialBackoff = null, TimeSpan? maxBackoff = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        _inner = inner;
        _attempts = attempts;
        _initialBackoff = initialBackoff ?? TimeSpan.FromMilliseconds(100);
        _maxBackoff = maxBackoff ?? TimeSpan.FromSeconds(1);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Failures that were retried (each failed attempt that was followed by another).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    private long _retries;

    /// <summary>Whether <paramref name="ex"/> is a transient store failure worth retrying.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        StoreUnavailableException => false,
        StoreConflictException or LedgerCorruptException or ArgumentException or OperationCanceledException => false,
        DbException or IOException or TimeoutException or System.Net.Sockets.SocketException => true,
        InvalidOperationException { InnerException: { } inner } => IsTransient(inner),
        _ => false,
    };

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _inner.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public Task<EnrolmentRecord> EnrolAsync(string clientId, byte[] publicKey, string displayName, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Run(nameof(EnrolAsync), ct => _inner.EnrolAsync(clientId, publicKey, displayName, now, ct), cancellationToken);

    /// <inheritdoc />
    public Task<EnrolmentRecord?> GetEnrolmentAsync(string clientId, CancellationToken cancellationToken = default) =>
        Run(nameof(GetEnrolmentAsync), ct => _inner.GetEnrolmentAsync(clientId, ct), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<EnrolmentRecord>> ListEnrolmentsAsync(CancellationToken cancellationToken = default) =>
        Run(nameof(ListEnrolmentsAsync), _inner.ListEnrolmentsAsync, cancellationToken);

    /// <inheritdoc />
    public Task<RoundRecord> CreateRoundAsync(long modelVersion, string parametersJson, string phase, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Run(nameof(CreateRoundAsync), ct => _inner.CreateRoundAsync(modelVersion, parametersJson, phase, now, ct), cancellationToken);

    /// <inheritdoc />
    public Task UpdateRoundAsync(long roundId, string phase, string? outcome, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Run(nameof(UpdateRoundAsync), async ct =>
        {
            await _inner.UpdateRoundAsync(roundId, phase, outcome, now, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task AppendJournalAsync(long roundId, IReadOnlyList<JournalRecord> entries, CancellationToken cancellationToken = default) =>
        Run(nameof(AppendJournalAsync), async ct =>
        {
            await _inner.AppendJournalAsync(roundId, entries, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<JournalRecord>> ListJournalAsync(long roundId, CancellationToken cancellationToken = default) =>
        Run(nameof(ListJournalAsync), ct => _inner.ListJournalAsync(roundId, ct), cancellationToken);

    /// <inheritdoc />
    public Task<RoundRecord?> GetRoundAsync(long roundId, CancellationToken cancellationToken = default) =>
        Run(nameof(GetRoundAsync), ct => _inner.GetRoundAsync(roundId, ct), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RoundRecord>> ListOpenRoundsAsync(CancellationToken cancellationToken = default) =>
        Run(nameof(ListOpenRoundsAsync), _inner.ListOpenRoundsAsync, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RoundRecord>> ListRoundsAsync(CancellationToken cancellationToken = default) =>
        Run(nameof(ListRoundsAsync), _inner.ListRoundsAsync, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersionRecord> AppendModelAsync(long roundId, byte[] model, string epsilon, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Run(nameof(AppendModelAsync), ct => _inner.AppendModelAsync(roundId, model, epsilon, now, ct), cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersionRecord?> GetModelAsync(long version, CancellationToken cancellationToken = default) =>
        Run(nameof(GetModelAsync), ct => _inner.GetModelAsync(version, ct), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ModelVersionRecord>> ListModelsAsync(CancellationToken cancellationToken = default) =>
        Run(nameof(ListModelsAsync), _inner.ListModelsAsync, cancellationToken);

    /// <inheritdoc />
    public Task<(LedgerRecord Entry, bool Added)> AppendLedgerAsync(LedgerRecord entry, CancellationToken cancellationToken = default) =>
        Run(nameof(AppendLedgerAsync), ct => _inner.AppendLedgerAsync(entry, ct), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<LedgerRecord>> ListLedgerAsync(CancellationToken cancellationToken = default) =>
        Run(nameof(ListLedgerAsync), _inner.ListLedgerAsync, cancellationToken);

    /// <inheritdoc />
    public Task<LedgerHead> GetLedgerHeadAsync(CancellationToken cancellationToken = default) =>
        Run(nameof(GetLedgerHeadAsync), _inner.GetLedgerHeadAsync, cancellationToken);

    /// <inheritdoc />
    public Task<LedgerVerification> VerifyLedgerAsync(LedgerHead? expected = null, bool allModelBytes = false, CancellationToken cancellationToken = default) =>
        Run(nameof(VerifyLedgerAsync), ct => _inner.VerifyLedgerAsync(expected, allModelBytes, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    private async Task<T> Run<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        TimeSpan delay = _initialBackoff;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await call(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= _attempts)
                {
                    throw new StoreUnavailableException(operation, ex);
                }

                Interlocked.Increment(ref _retries);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = delay * 2 > _maxBackoff ? _maxBackoff : delay * 2;
            }
        }
    }
}
