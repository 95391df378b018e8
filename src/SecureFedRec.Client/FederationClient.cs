using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Mechanism;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;
using WirePhase = SecureFedRec.Wire.V1.Phase;
using WireThreatMode = SecureFedRec.Wire.V1.ThreatMode;

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
    /// Waits to be selected for a round, checks it against the local policy and ledger, computes the update with
    /// <paramref name="computeUpdate"/> (given the round's model; return a vector of the model's length), and runs the
    /// secure-aggregation protocol to its end.
    /// </summary>
    public async Task<ClientRoundResult> RunRoundAsync(Func<RoundContext, double[]> computeUpdate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(computeUpdate);
        JoinRoundResponse joined = await JoinAsync(cancellationToken).ConfigureAwait(false);
        RoundInfo info = joined.Round;
        ulong roundId = info.RoundId;
        ClientLog.Selected(_logger, roundId, info.ModelVersion, info.ClientNumber);
        ServerToClient begin = ServerToClient.Parser.ParseFrom(joined.Payload);

        string? refusal = CheckRound(info, begin, out MechanismParameters? mechanismParameters);
        DistributedDiscreteGaussianMechanism? mechanism = null;
        if (refusal is null)
        {
            (PolicyDecision decision, mechanism) = _guard.Consent(new RoundAnnouncement(RoundCodec.LedgerRoundId(roundId), mechanismParameters!,
                info.ThreatMode == WireThreatMode.Malicious ? Privacy.Policy.ThreatMode.SemiMalicious : Privacy.Policy.ThreatMode.CuriousServer,
                info.Dp.ClaimedEpsilon));
            if (!decision.Accepted)
            {
                refusal = decision.Reason + ": " + decision.Message;
                ClientLog.Declined(_logger, roundId, decision.Reason.ToString(), decision.Message);
            }
        }

        uint[]? encoded = null;
        if (refusal is null)
        {
            ModelSnapshot model = await GetModelAsync(info.ModelVersion, cancellationToken).ConfigureAwait(false);
            double[] update = computeUpdate(new RoundContext(roundId, model, mechanismParameters!));
            if (update.Length != mechanismParameters!.Dimension)
            {
                throw new ArgumentException("The update has " + update.Length + " values; the model has " + mechanismParameters.Dimension + ".");
            }

            encoded = mechanism!.Encode(update, RoundCodec.RotationSeed(roundId), RandomSource.System);
        }

        ClientState state = SecAggClient.Create(new ClientOptions((int)info.ClientNumber, _ => encoded ?? [])
        {
            Policy = _ => refusal,
        });
        try
        {
            return await DriveAsync(roundId, state, begin, WirePhase.AdvertiseKeys, refusal, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Every exit (success, decline, cancel, exception) wipes the round's protocol secrets; idempotent after completion.
            state.Abandon();
        }
    }

    private static string? CheckRound(RoundInfo info, ServerToClient begin, out MechanismParameters? parameters)
    {
        parameters = null;
        if (info.ThreatMode != WireThreatMode.HonestButCurious)
        {
            return "Malicious-mode rounds need an identity roster this client does not have.";
        }

        try
        {
            parameters = RoundCodec.FromWire(info.Dp);
        }
        catch (FormatException ex)
        {
            return ex.Message;
        }

        if (begin.MessageCase != ServerToClient.MessageOneofCase.BeginRound || begin.BeginRound.Parameters is not { } p)
        {
            return "The round did not start with BeginRound.";
        }

        byte[] binding = RoundCodec.Binding(info.RoundId, info.ModelVersion, info.ThreatMode, info.Dp);
        if (p.RoundNumber != info.RoundId || p.Dimension != (uint)parameters.PaddedDimension || p.Bits != (uint)parameters.Bits
            || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(p.Binding.Span, binding))
        {
            return "The secure-aggregation parameters do not bind the announced round, model and DP parameters.";
        }

        return null;
    }

    private async Task<ClientRoundResult> DriveAsync(ulong roundId, ClientState state, ServerToClient first, WirePhase firstPhase, string? refusal, CancellationToken cancellationToken)
    {
        ServerToClient message = first;
        WirePhase phase = firstPhase;
        while (true)
        {
            ClientStep step = state.Handle(message);
            if (!step.Accepted)
            {
                ClientLog.ProtocolRefused(_logger, roundId, phase.ToString(), step.RejectionDetail ?? "refused");
                return Finish(roundId, RoundOutcomeKind.Aborted, step.RejectionDetail);
            }

            state = step.State;
            if (step.Message is { } reply)
            {
                await CallAsync<SubmitPhaseRequest, SubmitPhaseResponse>(CoordinatorApi.SubmitPhase, new SubmitPhaseRequest
                {
                    RoundId = roundId,
                    Phase = phase,
                    Payload = reply.ToByteString(),
                }, cancellationToken).ConfigureAwait(false);
            }

            if (state.Phase == Phase.Aborted)
            {
                return Finish(roundId, refusal is null ? RoundOutcomeKind.Aborted : RoundOutcomeKind.Declined, refusal ?? ((ClientAbortedState)state).Reason.ToString());
            }

            phase = (WirePhase)(int)state.Phase;
            FetchPhaseResponse fetched = await FetchAsync(roundId, phase, cancellationToken).ConfigureAwait(false);
            switch (fetched.Outcome)
            {
                case FetchPhaseResponse.Types.Outcome.Dropped:
                    return Finish(roundId, RoundOutcomeKind.Dropped, fetched.DropReason.ToString());
                case FetchPhaseResponse.Types.Outcome.Aborted:
                    return Finish(roundId, RoundOutcomeKind.Aborted, "The coordinator aborted the round.");
            }

            message = ServerToClient.Parser.ParseFrom(fetched.Payload);
            if (state.Phase == Phase.Completed)
            {
                return message.MessageCase == ServerToClient.MessageOneofCase.Result
                       && message.Result.Outcome == SecureFedRec.Protocol.Wire.RoundOutcome.Completed
                       && message.Result.Contributors.Contains((uint)state.ClientId)
                    ? Finish(roundId, RoundOutcomeKind.Completed, null)
                    : Finish(roundId, RoundOutcomeKind.Aborted, "The round ended without this client's contribution in the sum.");
            }
        }
    }

    private ClientRoundResult Finish(ulong roundId, RoundOutcomeKind kind, string? detail)
    {
        ClientLog.RoundEnded(_logger, roundId, kind, _ledger.TotalEpsilon);
        return new ClientRoundResult(roundId, kind, detail, _ledger.TotalEpsilon);
    }

    private async Task<JoinRoundResponse> JoinAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset giveUp = _options.TimeProvider.GetUtcNow() + _options.JoinTimeout;
        while (true)
        {
            JoinRoundResponse response = await CallAsync<JoinRoundRequest, JoinRoundResponse>(CoordinatorApi.JoinRound, new JoinRoundRequest(), cancellationToken).ConfigureAwait(false);
            if (response.Outcome == JoinRoundResponse.Types.Outcome.Selected)
            {
                return response;
            }

            if (_options.TimeProvider.GetUtcNow() > giveUp)
            {
                throw new TimeoutException("Not selected for a round within " + _options.JoinTimeout + ".");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(50, response.RetryAfterMs)), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<FetchPhaseResponse> FetchAsync(ulong roundId, WirePhase phase, CancellationToken cancellationToken)
    {
        while (true)
        {
            FetchPhaseResponse response = await CallAsync<FetchPhaseRequest, FetchPhaseResponse>(CoordinatorApi.FetchPhase,
                new FetchPhaseRequest { RoundId = roundId, Phase = phase }, cancellationToken).ConfigureAwait(false);
            if (response.Outcome != FetchPhaseResponse.Types.Outcome.Pending)
            {
                return response;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(20, response.RetryAfterMs)), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One RPC with retries on transient failures: exponential backoff, full jitter from the OS CSPRNG.</summary>
    private async Task<TResponse> CallAsync<TRequest, TResponse>(MethodDescriptor method, TRequest request, CancellationToken cancellationToken)
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
