using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Roster;
using SecureFedRec.Rounds.Transport;
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
/// One round at a time per instance (not thread-safe across concurrent <see cref="RunRoundAsync"/> calls). Calls go
/// through the generated grpc-dotnet clients of a <see cref="CoordinatorChannel"/>: transient failures (UNAVAILABLE,
/// DEADLINE_EXCEEDED) are retried with exponential backoff and CSPRNG jitter for <see cref="FederationClientOptions.Patience"/>
/// (default: until the coordinator answers, logging progress); other failures surface as the library's
/// <see cref="RpcException"/>, and a refused TLS identity (untrusted, pin mismatch, name mismatch) as
/// <see cref="CoordinatorTlsException"/>, never retried. With a pinned roster authority the client verifies the
/// coordinator's roster (and its own entry) before it enrols and before every round; a refusal is a
/// <see cref="RosterRefusedException"/> naming the rule.
/// </remarks>
public sealed class FederationClient : IDisposable
{
    private readonly FederationClientOptions _options;
    private readonly CoordinatorChannel _channel;
    private readonly FilePrivacyLedger _ledger;
    private readonly ClientPrivacyGuard _guard;
    private readonly ILogger _logger;
    private readonly RosterVerifier? _rosterVerifier;
    private readonly SemaphoreSlim _rosterGate = new(1, 1);

    /// <summary>The last roster file that verified, with its digest: named in GetRoster so that an unchanged roster is not sent again.</summary>
    private HeldRoster? _heldRoster;

    /// <summary>A roster file this client verified, and its digest.</summary>
    private sealed record HeldRoster(string Digest, ByteString File);

    /// <summary>Creates the client and opens (or creates) its local ledger.</summary>
    public FederationClient(FederationClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RosterAuthority is { } pin)
        {
            if (!RosterEncoding.IsIdentifier(options.Organisation) || !RosterEncoding.IsIdentifier(options.ClientId))
            {
                throw new ArgumentException("With RosterAuthority, Organisation and ClientId (this client's roster name, 1..64 characters of [a-z0-9._-]) are required.", nameof(options));
            }

            _rosterVerifier = pin.CreateVerifier();
        }

        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _channel = new CoordinatorChannel(options.Coordinator, new CoordinatorChannelOptions
        {
            Authenticator = options.Identity,
            Pin = options.Pin ?? (options.TrustedCertificate is { } pinned ? CertificatePin.ForCertificate(pinned) : null),
            CallTimeout = options.CallTimeout,
            MaxAttempts = options.MaxAttempts,
            Patience = options.Patience,
            ProgressInterval = options.ProgressInterval,
            OnWaiting = wait => ClientLog.Waiting(_logger, options.Coordinator, wait),
            InitialBackoff = options.InitialBackoff,
            MaxBackoff = options.MaxBackoff,
            MaxReceiveMessageSize = options.MaxMessageBytes,
            MaxSendMessageSize = options.MaxMessageBytes,
            OnRetry = (method, status, attempt, delay) => ClientLog.Retrying(_logger, status, method, attempt, (long)delay.TotalMilliseconds),
        });
        RoundTransport = new ModelCachingTransport(new GrpcRoundTransport(_channel));
        _ledger = FilePrivacyLedger.Open(options.LedgerPath, new PrivacyBudget(options.Policy.MaxTotalEpsilon, options.Policy.Delta), options.TimeProvider);
        _guard = new ClientPrivacyGuard(options.Policy, _ledger);
    }

    /// <summary>Tests only: the DP noise and rounding randomness (null: the OS CSPRNG).</summary>
    internal RandomSource? NoiseRandom { get; set; }

    /// <summary>The local privacy ledger.</summary>
    public IPrivacyLedger Ledger => _ledger;

    /// <summary>
    /// The coordinator as the round pipeline sees it: <see cref="GrpcRoundTransport"/> over this client's channel (signed,
    /// retried), keeping the last model version fetched (<see cref="ModelCachingTransport"/>). The client round runs
    /// against this interface.
    /// </summary>
    internal IRoundTransport RoundTransport { get; }

    /// <summary>This client's id (hex SHA-256 of its identity public key).</summary>
    public string ClientId => _options.Identity.ClientId;

    /// <summary>Where the roster checkpoint is kept (<see cref="FederationClientOptions.RosterCheckpointPath"/>, or beside the ledger).</summary>
    public string RosterCheckpointPath => _options.RosterCheckpointPath ?? _options.LedgerPath + ".roster";

    /// <summary>The cohort policy (at least the policy's <see cref="ClientPrivacyPolicy.MinDistinctOrganisations"/> distinct
    /// organisations, all current roster members), or null without a roster.</summary>
    public CohortPolicy? CohortPolicy => _rosterVerifier is null ? null : new CohortPolicy(Math.Max(1, _options.Policy.MinDistinctOrganisations));

    /// <summary>
    /// Fetches the coordinator's roster (Membership/GetRoster) and verifies it (roster.md §5) against the pinned authority
    /// and the persisted checkpoint, then checks this client's own entry (§5.2: listed under Organisation/ClientId with this
    /// identity's key, within its validity, not revoked), and only then advances the checkpoint. Call before anything is
    /// generated or charged; <see cref="EnrolAsync"/> and <see cref="RunRoundAsync"/> do.
    /// </summary>
    /// <exception cref="RosterRefusedException">The roster or this client's entry is refused (the rule named).</exception>
    /// <exception cref="InvalidOperationException">No <see cref="FederationClientOptions.RosterAuthority"/> is configured.</exception>
    public async Task<VerifiedRoster> GetRosterAsync(CancellationToken cancellationToken = default)
    {
        RosterVerification result = await VerifyRosterAsync(cancellationToken).ConfigureAwait(false);
        return result.Check.Passed ? result.Roster! : throw new RosterRefusedException(result.Check, _options.Coordinator.ToString());
    }

    /// <summary>As <see cref="GetRosterAsync"/>, the refusal as a value (the round pipeline's roster provider).</summary>
    public async Task<RosterVerification> VerifyRosterAsync(CancellationToken cancellationToken = default)
    {
        RosterVerifier verifier = _rosterVerifier ?? throw new InvalidOperationException("No RosterAuthority is configured: this client runs in a roster-less (allow-list) deployment.");
        // coordinator.md §3.1: name the roster this client holds; an unchanged roster comes back as not_modified, and the
        // held bytes are verified again below exactly as if they had been sent (a coordinator that ignores the field,
        // or a roster that changed, sends the file).
        HeldRoster? held = Volatile.Read(ref _heldRoster);
        GetRosterResponse response = await _channel.InvokeAsync("GetRoster",
            o => _channel.Membership.GetRosterAsync(new GetRosterRequest { KnownDigest = held?.Digest ?? string.Empty }, o), cancellationToken).ConfigureAwait(false);
        ByteString file = response.Roster;
        if (response.NotModified)
        {
            if (held is null || !string.Equals(response.Digest, held.Digest, StringComparison.Ordinal))
            {
                // Not modified against a roster this client does not hold: not what it asked; fetch the file itself.
                response = await _channel.InvokeAsync("GetRoster",
                    o => _channel.Membership.GetRosterAsync(new GetRosterRequest(), o), cancellationToken).ConfigureAwait(false);
                file = response.Roster;
            }
            else
            {
                file = held.File;
            }
        }

        await _rosterGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string checkpointPath = RosterCheckpointPath;
            RosterCheckpoint? lastSeen = RosterCheckpointFile.Read(checkpointPath);
            DateTimeOffset now = _options.TimeProvider.GetUtcNow();
            // Steps 1–7 of the check are a pure function of these bytes and the pin: answered from this process's cache
            // when it already verified exactly these bytes; validity and this client's checkpoint are checked every time.
            RosterVerification result = VerifiedRosterCache.Verify(verifier, file.Span, now, lastSeen);
            if (!result.Check.Passed)
            {
                ClientLog.RosterRefused(_logger, result.Check.Refusal.ToString(), result.Check.Detail);
                return result;
            }

            VerifiedRoster roster = result.Roster!;
            Volatile.Write(ref _heldRoster, new HeldRoster(roster.Digest, file));
            RosterCheck self = roster.CheckMember(_options.Organisation!, _options.ClientId!, now, _options.Identity.PublicKey, out _);
            if (!self.Passed)
            {
                // This client is not a current member under its own name and key: nothing it could sign would be admitted.
                ClientLog.RosterRefused(_logger, self.Refusal.ToString(), self.Detail);
                return new RosterVerification(new RosterCheck(self.Refusal, "this client (" + self.Detail + ")"), null);
            }

            if (lastSeen is null || lastSeen.Version != roster.Version)
            {
                RosterCheckpointFile.Write(checkpointPath, roster.Checkpoint);
            }

            return result;
        }
        finally
        {
            _rosterGate.Release();
        }
    }

    /// <summary>Reads the coordinator's status and adopts its clock offset for request signatures.</summary>
    public async Task<GetStatusResponse> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        DateTimeOffset before = _options.TimeProvider.GetUtcNow();
        GetStatusResponse status = await _channel.InvokeAsync("GetStatus",
            o => _channel.Status.GetStatusAsync(new GetStatusRequest(), o), cancellationToken).ConfigureAwait(false);
        DateTimeOffset after = _options.TimeProvider.GetUtcNow();
        DateTimeOffset midpoint = before + ((after - before) / 2);
        _options.Identity.ClockOffset = DateTimeOffset.FromUnixTimeMilliseconds(status.ServerTimeUnixMs) - midpoint;
        return status;
    }

    /// <summary>
    /// Enrols this identity (idempotent). With a <see cref="FederationClientOptions.RosterAuthority"/>, the roster is fetched
    /// and verified first (<see cref="GetRosterAsync"/>: a refusal is a <see cref="RosterRefusedException"/> and nothing is
    /// sent to Enrolment) and the enrolment claims this client's roster name. PERMISSION_DENIED when the coordinator does not
    /// admit the key (not a current roster member, or not on the allow-list).
    /// </summary>
    public async Task<EnrolResponse> EnrolAsync(CancellationToken cancellationToken = default)
    {
        using System.Diagnostics.Activity? span = ClientTelemetry.Source.StartActivity(ClientTelemetry.EnrolSpan);
        await GetStatusAsync(cancellationToken).ConfigureAwait(false);
        if (_rosterVerifier is not null)
        {
            await GetRosterAsync(cancellationToken).ConfigureAwait(false);
        }

        var request = new EnrolRequest
        {
            IdentityPublicKey = ByteString.CopyFrom(_options.Identity.PublicKey),
            DisplayName = _options.DisplayName,
            Organisation = _options.Organisation ?? string.Empty,
            RosterClientId = _options.ClientId ?? string.Empty,
        };
        EnrolResponse response = await _channel.InvokeAsync("Enrol", o => _channel.Enrolment.EnrolAsync(request, o), cancellationToken).ConfigureAwait(false);
        ClientLog.Enrolled(_logger, _options.Coordinator, response.ClientId);
        return response;
    }

    /// <summary>Fetches a model version (0: the latest).</summary>
    public async Task<ModelSnapshot> GetModelAsync(ulong version = 0, CancellationToken cancellationToken = default)
    {
        ModelRelease model = await RoundTransport.GetModelAsync(version, cancellationToken).ConfigureAwait(false);
        return new ModelSnapshot(model.Version, model.RoundId, model.Values, model.Epsilon, model.TotalEpsilon);
    }

    /// <summary>
    /// Waits to be selected for a round and runs the one client round of SecureFedRec.Rounds over the network
    /// (<see cref="Rounds.Client.ClientRound"/>): the contract is checked against the opening message, the local policy
    /// and ledger consent before any key is made, <paramref name="computeUpdate"/> computes the update (given the round's
    /// model; return a vector of the model's length), the update is clipped, rotated, rounded and noised, and the
    /// secure-aggregation protocol runs to its end.
    /// </summary>
    /// <exception cref="TimeoutException">Not selected within <see cref="FederationClientOptions.JoinTimeout"/>.</exception>
    /// <exception cref="RpcException">The coordinator opens no more rounds (its configured rounds are run, or its budget cannot release another: FAILED_PRECONDITION), or a transport failure after <see cref="FederationClientOptions.Patience"/>.</exception>
    public async Task<ClientRoundResult> RunRoundAsync(Func<RoundContext, double[]> computeUpdate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(computeUpdate);
        if (_rosterVerifier is not null)
        {
            // A forged, stale or rolled-back roster, or this client's own entry gone, refuses the round here: no key made,
            // nothing charged.
            await GetRosterAsync(cancellationToken).ConfigureAwait(false);
        }

        using System.Diagnostics.Activity? span = ClientTelemetry.Source.StartActivity(ClientTelemetry.RoundSpan);
        var round = new Rounds.Client.ClientRound(new Rounds.Client.ClientRoundOptions
        {
            Guard = _guard,
            UpdateSource = (request, _) =>
            {
                Rounds.Transport.ModelRelease m = request.Model;
                ClientLog.Selected(_logger, request.Contract.RoundId, request.Contract.ModelVersion, 0);
                span?.AddEvent(new System.Diagnostics.ActivityEvent("selected"))
                    .SetTag("securefedrec.round.id", (long)request.Contract.RoundId)
                    .SetTag("securefedrec.model.version", (long)request.Contract.ModelVersion);
                double[] update = computeUpdate(new RoundContext(request.Contract.RoundId,
                    new ModelSnapshot(m.Version, m.RoundId, m.Values, m.Epsilon, m.TotalEpsilon), request.Contract.Dp));
                return Task.FromResult(Rounds.LocalUpdate.FromTotal(update));
            },
            Time = _options.TimeProvider,
            JoinTimeout = _options.JoinTimeout,
            NoiseRandom = NoiseRandom,
            // The one identity signs the advertised keys; the cohort's keys come from the verified roster only.
            Identity = _options.Identity.SigningKey,
            Roster = _rosterVerifier is null ? null : VerifyRosterAsync,
            Self = _rosterVerifier is null ? null : new Rounds.MemberName(_options.Organisation!, _options.ClientId!),
            CohortPolicy = CohortPolicy,
            OnWarning = message => ClientLog.RoundWarning(_logger, message),
        });
        Rounds.Client.ClientRoundResult result = await round.RunAsync(RoundTransport, cancellationToken).ConfigureAwait(false);
        span?.SetTag("securefedrec.round.id", (long)result.RoundId)
            .SetTag("securefedrec.round.outcome", result.Outcome.ToString())
            .SetTag("securefedrec.client.reason", result.Reason.ToString())
            .SetTag("securefedrec.ledger.local_total_epsilon", _ledger.TotalEpsilon);
        if (result.Outcome is not (Rounds.Client.ClientRoundOutcome.Completed or Rounds.Client.ClientRoundOutcome.Declined))
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, result.Reason + ": " + result.Detail);
        }

        switch (result.Reason)
        {
            case Rounds.Client.ClientRoundReason.JoinTimedOut:
                throw new TimeoutException("Not selected for a round within " + _options.JoinTimeout + ".");
            case Rounds.Client.ClientRoundReason.CoordinatorFinished:
                throw new RpcException(new Status(StatusCode.FailedPrecondition, "The coordinator opens no more rounds: it has run its configured number of rounds, or its privacy budget cannot release another."));
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
        return new ClientRoundResult(result.RoundId, kind, detail, _ledger.TotalEpsilon) { Drop = result.Drop, Roster = result.Roster };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _channel.Dispose();
        _ledger.Dispose();
        _rosterGate.Dispose();
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
public sealed record ClientRoundResult(ulong RoundId, RoundOutcomeKind Kind, string? Detail, double LocalTotalEpsilon)
{
    /// <summary>Why the coordinator dropped this client, when <see cref="Kind"/> is <see cref="RoundOutcomeKind.Dropped"/> (e.g. TimedOut: it missed a phase deadline).</summary>
    public Protocol.Wire.DropReason Drop { get; init; }

    /// <summary>The roster or cohort rule that declined the round (<c>roster.md</c> §6), or <see cref="RosterRefusal.None"/>.</summary>
    public RosterRefusal Roster { get; init; }
}

/// <summary>
/// The client's round transport with the last model version it fetched kept: a released version never changes, so a
/// round of the version this client already holds (it fetched it to train, or in an earlier call) does not download it
/// again. Version 0 (the latest) is always asked for. Thread-safe.
/// </summary>
internal sealed class ModelCachingTransport(IRoundTransport inner) : IRoundTransport
{
    private ModelRelease? _last;

    /// <summary>The transport this cache wraps (tests read its counters).</summary>
    internal IRoundTransport Inner => inner;

    public Task<JoinReply> JoinAsync(CancellationToken cancellationToken) => inner.JoinAsync(cancellationToken);

    public Task<SubmitReply> SubmitAsync(ulong roundId, Protocol.Wire.Phase phase, Protocol.Wire.ClientToServer message, CancellationToken cancellationToken) =>
        inner.SubmitAsync(roundId, phase, message, cancellationToken);

    public Task<FetchReply> FetchAsync(ulong roundId, Protocol.Wire.Phase phase, CancellationToken cancellationToken) => inner.FetchAsync(roundId, phase, cancellationToken);

    public async Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken)
    {
        if (version != 0 && Volatile.Read(ref _last) is { } held && held.Version == version)
        {
            return held;
        }

        ModelRelease fetched = await inner.GetModelAsync(version, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _last, fetched);
        return fetched;
    }
}
