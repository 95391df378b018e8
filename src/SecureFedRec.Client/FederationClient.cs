using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Client;

/// <summary>
/// The client SDK an institution references: connects to a coordinator over gRPC/HTTP/2 (TLS), enrols its identity,
/// takes part in rounds with an update computed from its local data, fetches model versions. Every round is checked
/// against the local <see cref="ClientPrivacyPolicy"/> and charged to the local ledger (H2's
/// <see cref="ClientPrivacyGuard"/>) before anything derived from the data leaves the machine; the update leaves only
/// clipped, rotated, rounded, noised (distributed discrete Gaussian) and masked (secure aggregation).
/// </summary>
/// <remarks>
/// One round at a time per instance (not thread-safe across concurrent <see cref="RunRoundAsync"/> calls). Transient
/// failures (UNAVAILABLE, DEADLINE_EXCEEDED) are retried with exponential backoff and CSPRNG jitter; other failures
/// surface as <see cref="WireException"/>. Honest-but-curious rounds only: a malicious-mode round needs a roster of
/// every cohort member's identity key, which this SDK does not obtain yet, and is declined.
/// </remarks>
public sealed class FederationClient : IDisposable
{
    private readonly FederationClientOptions _options;
    private readonly WireChannel _channel;
    private readonly FilePrivacyLedger _ledger;
    private readonly ClientPrivacyGuard _guard;
    private readonly ILogger _logger;

    /// <summary>Creates the client and opens (or creates) its local ledger.</summary>
    public FederationClient(FederationClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _channel = new WireChannel(options.Coordinator, new WireChannelOptions
        {
            Authenticator = options.Identity,
            TrustedServerCertificate = options.TrustedCertificate,
            DefaultTimeout = options.CallTimeout,
        });
        _ledger = FilePrivacyLedger.Open(options.LedgerPath, new PrivacyBudget(options.Policy.MaxTotalEpsilon, options.Policy.Delta), options.TimeProvider);
        _guard = new ClientPrivacyGuard(options.Policy, _ledger);
    }

    /// <summary>Tests only: the DP noise and rounding randomness (null: the OS CSPRNG).</summary>
    internal RandomSource? NoiseRandom { get; set; }

    /// <summary>The local privacy ledger.</summary>
    public IPrivacyLedger Ledger => _ledger;

    /// <summary>This client's id (hex SHA-256 of its identity public key).</summary>
    public string ClientId => _options.Identity.ClientId;

    /// <summary>Reads the coordinator's status and adopts its clock offset for request signatures.</summary>
    public async Task<GetStatusResponse> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        DateTimeOffset before = _options.TimeProvider.GetUtcNow();
        GetStatusResponse status = await CallAsync<GetStatusRequest, GetStatusResponse>(CoordinatorApi.GetStatus, new GetStatusRequest(), cancellationToken).ConfigureAwait(false);
        DateTimeOffset after = _options.TimeProvider.GetUtcNow();
        DateTimeOffset midpoint = before + ((after - before) / 2);
        _options.Identity.ClockOffset = DateTimeOffset.FromUnixTimeMilliseconds(status.ServerTimeUnixMs) - midpoint;
        return status;
    }

    /// <summary>Enrols this identity (idempotent). PERMISSION_DENIED when the key is not on the allow-list.</summary>
    public async Task<EnrolResponse> EnrolAsync(CancellationToken cancellationToken = default)
    {
        await GetStatusAsync(cancellationToken).ConfigureAwait(false);
        EnrolResponse response = await CallAsync<EnrolRequest, EnrolResponse>(CoordinatorApi.Enrol, new EnrolRequest
        {
            IdentityPublicKey = ByteString.CopyFrom(_options.Identity.PublicKey),
            DisplayName = _options.DisplayName,
        }, cancellationToken).ConfigureAwait(false);
        ClientLog.Enrolled(_logger, _options.Coordinator, response.ClientId);
        return response;
    }

    /// <summary>Fetches a model version (0: the latest).</summary>
    public async Task<ModelSnapshot> GetModelAsync(ulong version = 0, CancellationToken cancellationToken = default)
    {
        GetModelResponse response = await CallAsync<GetModelRequest, GetModelResponse>(CoordinatorApi.GetModel, new GetModelRequest { Version = version }, cancellationToken).ConfigureAwait(false);
        return new ModelSnapshot(response.Version, response.RoundId, RoundCodec.DecodeModel(response.Model.Span), response.Epsilon, response.TotalEpsilon);
    }

    /// <summary>
    /// Waits to be selected for a round and runs the one client round of SecureFedRec.Rounds over the network
    /// (<see cref="Rounds.Client.ClientRound"/>): the contract is checked against the opening message, the local policy
    /// and ledger consent before any key is made, <paramref name="computeUpdate"/> computes the update (given the round's
    /// model; return a vector of the model's length), the update is clipped, rotated, rounded and noised, and the
    /// secure-aggregation protocol runs to its end.
    /// </summary>
    /// <exception cref="TimeoutException">Not selected within <see cref="FederationClientOptions.JoinTimeout"/>.</exception>
    /// <exception cref="WireException">The coordinator has run its configured rounds, or a transport failure.</exception>
    public async Task<ClientRoundResult> RunRoundAsync(Func<RoundContext, double[]> computeUpdate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(computeUpdate);
        var round = new Rounds.Client.ClientRound(new Rounds.Client.ClientRoundOptions
        {
            Guard = _guard,
            UpdateSource = (request, _) =>
            {
                Rounds.Transport.ModelRelease m = request.Model;
                ClientLog.Selected(_logger, request.Contract.RoundId, request.Contract.ModelVersion, 0);
                double[] update = computeUpdate(new RoundContext(request.Contract.RoundId,
                    new ModelSnapshot(m.Version, m.RoundId, m.Values, m.Epsilon, m.TotalEpsilon), request.Contract.Dp));
                return Task.FromResult(Rounds.LocalUpdate.FromTotal(update));
            },
            Time = _options.TimeProvider,
            JoinTimeout = _options.JoinTimeout,
            NoiseRandom = NoiseRandom,
        });
        Rounds.Client.ClientRoundResult result = await round.RunAsync(new NetworkRoundTransport(this), cancellationToken).ConfigureAwait(false);
        switch (result.Reason)
        {
            case Rounds.Client.ClientRoundReason.JoinTimedOut:
                throw new TimeoutException("Not selected for a round within " + _options.JoinTimeout + ".");
            case Rounds.Client.ClientRoundReason.CoordinatorFinished:
                throw new WireException(GrpcStatusCode.FailedPrecondition, "The coordinator has run its configured number of rounds.");
            case Rounds.Client.ClientRoundReason.PolicyDeclined:
                ClientLog.Declined(_logger, result.RoundId, result.Decline.ToString(), result.Detail ?? string.Empty);
                break;
        }

        RoundOutcomeKind kind = result.Outcome switch
        {
            Rounds.Client.ClientRoundOutcome.Completed => RoundOutcomeKind.Completed,
            Rounds.Client.ClientRoundOutcome.Declined => RoundOutcomeKind.Declined,
            Rounds.Client.ClientRoundOutcome.Dropped => RoundOutcomeKind.Dropped,
            _ => RoundOutcomeKind.Aborted,
        };
        string? detail = result.Outcome == Rounds.Client.ClientRoundOutcome.Completed ? null : result.Reason + ": " + result.Detail;
        ClientLog.RoundEnded(_logger, result.RoundId, kind, _ledger.TotalEpsilon);
        return new ClientRoundResult(result.RoundId, kind, detail, _ledger.TotalEpsilon);
    }

    /// <summary>One RPC with retries on transient failures: exponential backoff, full jitter from the OS CSPRNG.</summary>
    internal async Task<TResponse> CallAsync<TRequest, TResponse>(MethodDescriptor method, TRequest request, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await _channel.CallAsync<TRequest, TResponse>(method, request, _options.CallTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (WireException ex) when (ex.IsTransient && attempt < _options.MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                TimeSpan delay = Backoff.Delay(attempt, _options.InitialBackoff, _options.MaxBackoff, RandomSource.System);
                ClientLog.Retrying(_logger, ex.StatusCode, method.Name, attempt, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _channel.Dispose();
        _ledger.Dispose();
    }
}

/// <summary>Exponential backoff with jitter (delay uniform in [cap/2, cap], cap = min(max, initial·2^(attempt−1))).</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max, RandomSource rng)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        long capTicks = initial.Ticks;
        for (int i = 1; i < attempt && capTicks < max.Ticks; i++)
        {
            capTicks *= 2;
        }

        capTicks = Math.Min(capTicks, max.Ticks);
        long half = capTicks / 2;
        return TimeSpan.FromTicks(half + (long)rng.NextBelow((ulong)(capTicks - half) + 1));
    }
}

/// <summary>A model version as released by the coordinator.</summary>
/// <param name="Version">Model version (1 = initial).</param>
/// <param name="RoundId">Round that produced it (0 for the initial model).</param>
/// <param name="Values">The model (decoded, see docs/integrators.md).</param>
/// <param name="RoundEpsilon">ε of that round in the coordinator's ledger.</param>
/// <param name="TotalEpsilon">Coordinator's total ε after that round.</param>
public sealed record ModelSnapshot(ulong Version, ulong RoundId, double[] Values, double RoundEpsilon, double TotalEpsilon);

/// <summary>What <see cref="FederationClient.RunRoundAsync"/> hands the update function.</summary>
/// <param name="RoundId">The round.</param>
/// <param name="Model">The model version the update must be computed against.</param>
/// <param name="Mechanism">The round's DP parameters (clip norm, dimension).</param>
public sealed record RoundContext(ulong RoundId, ModelSnapshot Model, MechanismParameters Mechanism);

/// <summary>How a round ended for this client.</summary>
public enum RoundOutcomeKind
{
    /// <summary>The round completed with this client's contribution in the sum.</summary>
    Completed = 1,
    /// <summary>The local policy or a check of the round's parameters declined it; nothing was contributed.</summary>
    Declined = 2,
    /// <summary>The coordinator dropped this client (e.g. it missed a deadline).</summary>
    Dropped = 3,
    /// <summary>The round aborted (too few survivors, misbehaviour detected, coordinator restart).</summary>
    Aborted = 4,
}

/// <summary>The outcome of one round for this client.</summary>
public sealed record ClientRoundResult(ulong RoundId, RoundOutcomeKind Kind, string? Detail, double LocalTotalEpsilon);
