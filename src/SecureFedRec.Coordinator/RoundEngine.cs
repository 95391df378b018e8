using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Mechanism;
using SecureFedRec.Protocol;
using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;
using ProtocolDropReason = SecureFedRec.Protocol.Wire.DropReason;
using ProtocolThreatMode = SecureFedRec.Protocol.Wire.ThreatMode;
using WireDropReason = SecureFedRec.Wire.V1.DropReason;
using WirePhase = SecureFedRec.Wire.V1.Phase;
using WireThreatMode = SecureFedRec.Wire.V1.ThreatMode;

namespace SecureFedRec.Coordinator;

/// <summary>
/// Orchestrates rounds over the network around the protocol's server state machine (SecureFedRec.Protocol.Server):
/// recruits waiting clients, selects a cohort with the CSPRNG, plans the round's DP parameters, opens the protocol,
/// relays its messages, closes each phase at its deadline or as soon as every expected client answered (late clients
/// are dropped), and on completion decodes the sum, charges the ledger durably and only then releases the next model
/// version.
/// </summary>
/// <remarks>
/// Thread-safe: RPC handlers feed messages under one lock; only <see cref="TickAsync"/> (one driver) opens and closes
/// phases and writes to the store. The protocol state of a round lives in memory only: a round open at start-up is
/// aborted (<see cref="RecoverAsync"/>), with nothing charged and nothing released.
/// </remarks>
public sealed class RoundEngine
{
    /// <summary>Rounds whose messages stay fetchable after newer rounds opened.</summary>
    private const int RecentRounds = 4;

    private readonly CoordinatorOptions _options;
    private readonly ICoordinatorStore _store;
    private readonly IPrivacyLedger _ledger;
    private readonly CoordinatorMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (EnrolmentRecord Client, DateTimeOffset LastSeen)> _waiting = new(StringComparer.Ordinal);
    private DateTimeOffset? _recruitSince;
    private readonly HashSet<string> _opening = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, ActiveRound> _recent = [];
    private ActiveRound? _round;
    private int _completed;
    private long _modelVersion;

    /// <summary>Creates the engine; call <see cref="RecoverAsync"/> once before the first tick.</summary>
    public RoundEngine(CoordinatorOptions options, ICoordinatorStore store, IPrivacyLedger ledger, CoordinatorMetrics metrics, ILogger logger, TimeProvider time)
    {
        _options = options;
        _store = store;
        _ledger = ledger;
        _metrics = metrics;
        _logger = logger;
        _time = time;
    }

    /// <summary>The round in progress (0 when none) and its phase.</summary>
    public (ulong Round, WirePhase Phase) Current
    {
        get
        {
            lock (_gate)
            {
                return _round is null ? (0, WirePhase.Unspecified) : (_round.Id, _round.Phase);
            }
        }
    }

    /// <summary>Latest released model version.</summary>
    public long ModelVersion => Interlocked.Read(ref _modelVersion);

    /// <summary>Whether <see cref="RoundOptions.MaxRounds"/> rounds have completed.</summary>
    public bool Finished => _options.Rounds.MaxRounds > 0 && Volatile.Read(ref _completed) >= _options.Rounds.MaxRounds;

    /// <summary>
    /// Start-up: aborts rounds left open by a crash (their protocol state is gone), makes sure the initial model exists
    /// (version 1, Rounds:InitialModel) and loads the latest version.
    /// </summary>
    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        foreach (RoundRecord open in await _store.ListOpenRoundsAsync(cancellationToken).ConfigureAwait(false))
        {
            CoordinatorLog.RecoveredOpenRound(_logger, open.RoundId, open.Phase);
            await _store.UpdateRoundAsync(open.RoundId, nameof(WirePhase.Aborted), "AbortedByRestart", _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            _metrics.RoundFinished("aborted_by_restart");
        }

        ModelVersionRecord? latest = await _store.GetModelAsync(0, cancellationToken).ConfigureAwait(false);
        latest ??= await _store.AppendModelAsync(0, RoundCodec.EncodeModel(_options.Rounds.CreateInitialModel()), "0", _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _modelVersion, latest.Version);
        _completed = (await _store.ListRoundsAsync(cancellationToken).ConfigureAwait(false)).Count(r => r.Outcome == "Completed");
        _metrics.ModelVersion(latest.Version);
        _metrics.EpsilonSpent(_ledger.TotalEpsilon);
    }

    /// <summary>JoinRound: selected (with the opening message), waiting, or not selected.</summary>
    public JoinRoundResponse Join(EnrolmentRecord client)
    {
        ArgumentNullException.ThrowIfNull(client);
        DateTimeOffset now = _time.GetUtcNow();
        lock (_gate)
        {
            ActiveRound? round = _round;
            if (round is not null && !round.Terminal && round.Numbers.TryGetValue(client.ClientId, out int number))
            {
                round.Outbox.TryGetValue((number, WirePhase.AdvertiseKeys), out ByteString? payload);
                return new JoinRoundResponse
                {
                    Outcome = JoinRoundResponse.Types.Outcome.Selected,
                    Round = round.Info(number),
                    Payload = payload ?? ByteString.Empty,
                    PhaseDeadlineUnixMs = round.AdvertiseDeadline.ToUnixTimeMilliseconds(),
                };
            }

            if (_opening.Contains(client.ClientId))
            {
                // Selected into a round that is being opened right now: ask again shortly, do not queue for the next.
                return new JoinRoundResponse { Outcome = JoinRoundResponse.Types.Outcome.Wait, RetryAfterMs = 50 };
            }

            if (Finished)
            {
                throw new WireException(GrpcStatusCode.FailedPrecondition, "The coordinator has run its configured number of rounds.");
            }

            _waiting[client.ClientId] = (client, now);
            _recruitSince ??= now;
            bool running = round is not null && !round.Terminal;
            return new JoinRoundResponse
            {
                Outcome = running ? JoinRoundResponse.Types.Outcome.NotSelected : JoinRoundResponse.Types.Outcome.Wait,
                RetryAfterMs = running ? 500u : 200u,
            };
        }
    }

    /// <summary>SubmitPhase: feeds one client message to the protocol.</summary>
    public SubmitPhaseResponse Submit(EnrolmentRecord client, SubmitPhaseRequest request)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            ActiveRound round = RoundFor(request.RoundId);
            int number = round.NumberOf(client.ClientId);
            if (round.Terminal || request.Phase != round.Phase)
            {
                throw new WireException(GrpcStatusCode.FailedPrecondition, "The phase is closed.");
            }

            if (round.Drops.ContainsKey(number))
            {
                throw new WireException(GrpcStatusCode.FailedPrecondition, "This client was dropped from the round.");
            }

            byte[] hash = SHA256.HashData(request.Payload.Span);
            if (round.Submitted.TryGetValue(number, out byte[]? previous))
            {
                return CryptographicOperations.FixedTimeEquals(previous, hash)
                    ? new SubmitPhaseResponse { PhaseDeadlineUnixMs = round.Deadline.ToUnixTimeMilliseconds() }
                    : throw new WireException(GrpcStatusCode.AlreadyExists, "A different message was already submitted for this phase.");
            }

            ClientToServer message;
            try
            {
                message = ClientToServer.Parser.ParseFrom(request.Payload);
            }
            catch (InvalidProtocolBufferException)
            {
                throw new WireException(GrpcStatusCode.InvalidArgument, "Payload is not a securefedrec.secagg.v1.ClientToServer message.");
            }

            ServerStep step = round.State.Handle(number, message);
            round.State = step.State;
            if (!step.Accepted)
            {
                CoordinatorLog.MessageRefused(_logger, (long)round.Id, client.ClientId, round.Phase, step.RejectionDetail ?? "refused");
                if (step.Dropped is not null || message.MessageCase == ClientToServer.MessageOneofCase.Abort)
                {
                    Drop(round, number, message.MessageCase == ClientToServer.MessageOneofCase.Abort ? WireDropReason.ClientAborted : WireDropReason.InvalidMessage);
                }

                throw new WireException(GrpcStatusCode.InvalidArgument, "The protocol refused the message: " + (step.RejectionDetail ?? "refused"));
            }

            if (message.MessageCase == ClientToServer.MessageOneofCase.Abort)
            {
                Drop(round, number, WireDropReason.ClientAborted);
            }

            round.Submitted[number] = hash;
            return new SubmitPhaseResponse { PhaseDeadlineUnixMs = round.Deadline.ToUnixTimeMilliseconds() };
        }
    }

    /// <summary>FetchPhase: the message that opens <paramref name="request"/>.Phase for this client, or why not.</summary>
    public FetchPhaseResponse Fetch(EnrolmentRecord client, FetchPhaseRequest request)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            ActiveRound round = RoundFor(request.RoundId);
            int number = round.NumberOf(client.ClientId);
            if (round.Outbox.TryGetValue((number, request.Phase), out ByteString? payload))
            {
                return new FetchPhaseResponse
                {
                    Outcome = FetchPhaseResponse.Types.Outcome.Ready,
                    Payload = payload,
                    PhaseDeadlineUnixMs = request.Phase == round.Phase ? round.Deadline.ToUnixTimeMilliseconds() : 0,
                };
            }

            if (round.Drops.TryGetValue(number, out WireDropReason reason))
            {
                return new FetchPhaseResponse { Outcome = FetchPhaseResponse.Types.Outcome.Dropped, DropReason = reason };
            }

            if (round.Phase == WirePhase.Aborted)
            {
                round.Outbox.TryGetValue((number, WirePhase.Aborted), out ByteString? abort);
                return new FetchPhaseResponse { Outcome = FetchPhaseResponse.Types.Outcome.Aborted, Payload = abort ?? ByteString.Empty };
            }

            return new FetchPhaseResponse { Outcome = FetchPhaseResponse.Types.Outcome.Pending, RetryAfterMs = 100 };
        }
    }

    /// <summary>One step of the driver: open a round when enough clients wait, close a phase when due, release.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        List<EnrolmentRecord>? cohort = null;
        ActiveRound? closing = null;
        lock (_gate)
        {
            if (_round is null || _round.Terminal)
            {
                cohort = Finished ? null : SelectCohort(now);
            }
            else if (now >= _round.Deadline || _round.Expected.All(n => _round.Submitted.ContainsKey(n) || _round.Drops.ContainsKey(n)))
            {
                closing = _round;
            }
        }

        if (cohort is not null)
        {
            try
            {
                await OpenAsync(cohort, now, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // The selected clients go back to recruiting on their next JoinRound.
                lock (_gate)
                {
                    _opening.Clear();
                }

                throw;
            }
        }
        else if (closing is not null)
        {
            await CloseAsync(closing, now, cancellationToken).ConfigureAwait(false);
        }
    }

    private List<EnrolmentRecord>? SelectCohort(DateTimeOffset now)
    {
        RoundOptions o = _options.Rounds;
        foreach (string stale in _waiting.Where(w => now - w.Value.LastSeen > TimeSpan.FromSeconds(o.WaitingExpirySeconds)).Select(w => w.Key).ToList())
        {
            _waiting.Remove(stale);
        }

        if (_waiting.Count == 0)
        {
            _recruitSince = null;
            return null;
        }

        bool full = _waiting.Count >= o.CohortSize;
        bool waitedEnough = _recruitSince is { } since && now - since >= TimeSpan.FromSeconds(o.RecruitSeconds) && _waiting.Count >= o.MinClients;
        if (!full && !waitedEnough)
        {
            return null;
        }

        // Uniform sample without replacement: Fisher–Yates with the OS CSPRNG.
        List<EnrolmentRecord> pool = _waiting.Values.Select(w => w.Client).OrderBy(c => c.Number).ToList();
        for (int i = pool.Count - 1; i > 0; i--)
        {
            int j = (int)RandomSource.System.NextBelow((ulong)(i + 1));
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }

        List<EnrolmentRecord> cohort = pool.Take(o.CohortSize).OrderBy(c => c.Number).ToList();
        foreach (EnrolmentRecord c in cohort)
        {
            _waiting.Remove(c.ClientId);
            _opening.Add(c.ClientId);
        }

        _recruitSince = _waiting.Count > 0 ? now : null;
        return cohort;
    }

    private async Task OpenAsync(List<EnrolmentRecord> cohort, DateTimeOffset now, CancellationToken cancellationToken)
    {
        RoundOptions o = _options.Rounds;
        int n = cohort.Count;
        int t = o.Threshold(n);
        var request = new PlanRequest
        {
            TargetEpsilon = o.TargetEpsilon,
            Delta = o.Delta,
            Rounds = o.PlannedRounds,
            PlannedClients = n,
            MinClients = t,
            Dimension = o.Dimension,
            Bits = o.Bits,
            Clip = o.Clip,
        };
        if (!DistributedDpPlanner.TryPlan(request, out DistributedDpPlan? plan, out PlanRefusal? refusal))
        {
            CoordinatorLog.PlanRefused(_logger, n, refusal?.Message ?? "refused");
            lock (_gate)
            {
                _opening.Clear();
            }

            return;
        }

        bool malicious = o.ThreatMode == "Malicious";
        WireThreatMode mode = malicious ? WireThreatMode.Malicious : WireThreatMode.HonestButCurious;
        DpParameters dp = RoundCodec.ToWire(plan!.Parameters, plan.EpsilonPerRound);
        long modelVersion = ModelVersion;
        string json = JsonSerializer.Serialize(new { cohort = cohort.Select(c => c.ClientId), threshold = t, dp = plan.Parameters, modelVersion, mode = mode.ToString() });
        RoundRecord record = await _store.CreateRoundAsync(modelVersion, json, nameof(WirePhase.AdvertiseKeys), now, cancellationToken).ConfigureAwait(false);
        ulong id = (ulong)record.RoundId;
        byte[] binding = RoundCodec.Binding(id, (ulong)modelVersion, mode, dp);
        SecAggParameters parameters = SecAggParameters.Create(id, cohort.Select(c => c.Number).ToList(), t,
            plan.Parameters.PaddedDimension, plan.Parameters.Bits,
            malicious ? ProtocolThreatMode.Malicious : ProtocolThreatMode.HonestButCurious, binding: binding);
        ServerTransition start = SecAggServer.Start(parameters, new ServerOptions
        {
            EnrolledIdentities = malicious ? cohort.ToDictionary(c => c.Number, c => c.PublicKey) : null,
            Threads = 1,
        });
        var round = new ActiveRound(id, modelVersion, mode, dp, plan.Parameters, plan.EpsilonPerRound, cohort, start.State, now)
        {
            Deadline = now + TimeSpan.FromSeconds(o.PhaseSeconds),
        };
        round.AdvertiseDeadline = round.Deadline;
        round.Publish(start.Messages, WirePhase.AdvertiseKeys);
        lock (_gate)
        {
            _round = round;
            _opening.Clear();
            _recent[id] = round;
            // Late clients may still fetch the result of a recent round after the next one opened.
            foreach (ulong old in _recent.Keys.Where(k => k + RecentRounds <= id).ToList())
            {
                _recent.Remove(old);
            }
        }

        _metrics.Current((long)id, (int)round.Phase);
        CoordinatorLog.RoundOpened(_logger, (long)id, n, t, modelVersion, plan.EpsilonPerRound);
    }

    private async Task CloseAsync(ActiveRound round, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ServerTransition transition;
        WirePhase closed;
        int answered;
        int expected;
        lock (_gate)
        {
            closed = round.Phase;
            expected = round.Expected.Count;
            answered = round.Expected.Count(round.Submitted.ContainsKey);
            foreach (int late in round.Expected.Where(n => !round.Submitted.ContainsKey(n) && !round.Drops.ContainsKey(n)).ToList())
            {
                Drop(round, late, WireDropReason.DeadlineMissed);
            }

            transition = round.State.Close();
            round.State = transition.State;
            foreach ((int number, ProtocolDropReason reason) in transition.State.DroppedClients)
            {
                if (!round.Drops.ContainsKey(number))
                {
                    Drop(round, number, reason == ProtocolDropReason.TimedOut ? WireDropReason.DeadlineMissed : WireDropReason.InvalidMessage);
                }
            }
        }

        double seconds = (now - round.PhaseStartedAt).TotalSeconds;
        _metrics.PhaseDuration(closed.ToString(), seconds);
        WirePhase next = (WirePhase)(int)transition.State.Phase;
        CoordinatorLog.PhaseClosed(_logger, (long)round.Id, closed, seconds, answered, expected, next);

        if (transition.State is ServerCompletedState completed)
        {
            await ReleaseAsync(round, completed, transition, now, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (transition.State is ServerAbortedState aborted)
        {
            await FinishAsync(round, transition, WirePhase.Aborted, aborted.Outcome.ToString(), now, cancellationToken).ConfigureAwait(false);
            CoordinatorLog.RoundAborted(_logger, (long)round.Id, aborted.Outcome.ToString());
            _metrics.RoundFinished("aborted");
            return;
        }

        await _store.UpdateRoundAsync((long)round.Id, next.ToString(), null, now, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            round.Advance(next, now, now + TimeSpan.FromSeconds(_options.Rounds.PhaseSeconds));
            round.Publish(transition.Messages, next);
        }

        _metrics.Current((long)round.Id, (int)next);
    }

    private async Task ReleaseAsync(ActiveRound round, ServerCompletedState completed, ServerTransition transition, DateTimeOffset now, CancellationToken cancellationToken)
    {
        int contributors = completed.Contributors.Count;
        var mechanism = new DistributedDiscreteGaussianMechanism(round.Mechanism);
        DecodeResult decoded = mechanism.Decode(completed.Sum, contributors, RoundCodec.RotationSeed(round.Id));
        if (!decoded.Succeeded)
        {
            CoordinatorLog.Withheld(_logger, (long)round.Id, "decode failed: " + decoded.Failure);
            await FinishAsync(round, transition, WirePhase.Completed, "Withheld", now, cancellationToken).ConfigureAwait(false);
            _metrics.RoundFinished("withheld");
            return;
        }

        // ε is recorded durably before anything derived from the sum leaves this process.
        LedgerDecision decision = _ledger.Charge(new RoundCharge(RoundCodec.LedgerRoundId(round.Id), round.Mechanism, contributors));
        if (!decision.MayRelease)
        {
            CoordinatorLog.Withheld(_logger, (long)round.Id, "ledger: " + decision.Message);
            await FinishAsync(round, transition, WirePhase.Completed, "Withheld", now, cancellationToken).ConfigureAwait(false);
            _metrics.RoundFinished("withheld");
            return;
        }

        ModelVersionRecord current = (await _store.GetModelAsync(round.ModelVersion, cancellationToken).ConfigureAwait(false))!;
        double[] model = RoundCodec.DecodeModel(current.Model);
        IReadOnlyList<double> sum = decoded.Sum!;
        for (int i = 0; i < model.Length; i++)
        {
            // FedAvg with server learning rate 1: the mean of the contributors' clipped, noised updates.
            model[i] += sum[i] / contributors;
        }

        ModelVersionRecord released = await _store.AppendModelAsync((long)round.Id, RoundCodec.EncodeModel(model),
            decision.RoundEpsilon.ToString("R", CultureInfo.InvariantCulture), now, cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _modelVersion, released.Version);
        await FinishAsync(round, transition, WirePhase.Completed, "Completed", now, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _completed);
        _metrics.RoundFinished("completed");
        _metrics.Survivors(contributors);
        _metrics.EpsilonSpent(decision.TotalAfter);
        _metrics.ModelVersion(released.Version);
        CoordinatorLog.Released(_logger, (long)round.Id, released.Version, contributors, decision.RoundEpsilon, decision.TotalAfter);
        if (Finished)
        {
            CoordinatorLog.MaxRoundsReached(_logger, _options.Rounds.MaxRounds);
        }
    }

    private async Task FinishAsync(ActiveRound round, ServerTransition transition, WirePhase phase, string outcome, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _store.UpdateRoundAsync((long)round.Id, phase.ToString(), outcome, now, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            round.Advance(phase, now, now);
            round.Terminal = true;
            round.Publish(transition.Messages, phase);
        }

        _metrics.Current(0, 0);
    }

    private void Drop(ActiveRound round, int number, WireDropReason reason)
    {
        round.Drops[number] = reason;
        _metrics.ClientDropped(reason.ToString());
        CoordinatorLog.ClientDropped(_logger, (long)round.Id, round.Ids[number], reason);
    }

    private ActiveRound RoundFor(ulong roundId) =>
        _recent.TryGetValue(roundId, out ActiveRound? round)
            ? round
            : throw new WireException(GrpcStatusCode.NotFound, "Round " + roundId.ToString(CultureInfo.InvariantCulture) + " is not a recent round.");

    /// <summary>The in-memory state of the round in progress.</summary>
    private sealed class ActiveRound
    {
        public ActiveRound(ulong id, long modelVersion, WireThreatMode mode, DpParameters dp, MechanismParameters mechanism, double epsilon,
            List<EnrolmentRecord> cohort, ServerState state, DateTimeOffset now)
        {
            Id = id;
            ModelVersion = modelVersion;
            Mode = mode;
            Dp = dp;
            Mechanism = mechanism;
            Epsilon = epsilon;
            State = state;
            Numbers = cohort.ToDictionary(c => c.ClientId, c => c.Number, StringComparer.Ordinal);
            Ids = cohort.ToDictionary(c => c.Number, c => c.ClientId);
            Phase = WirePhase.AdvertiseKeys;
            PhaseStartedAt = now;
        }

        public ulong Id { get; }

        public long ModelVersion { get; }

        public WireThreatMode Mode { get; }

        public DpParameters Dp { get; }

        public MechanismParameters Mechanism { get; }

        public double Epsilon { get; }

        public ServerState State { get; set; }

        public Dictionary<string, int> Numbers { get; }

        public Dictionary<int, string> Ids { get; }

        public WirePhase Phase { get; private set; }

        public DateTimeOffset PhaseStartedAt { get; private set; }

        public DateTimeOffset Deadline { get; set; }

        public DateTimeOffset AdvertiseDeadline { get; set; }

        public bool Terminal { get; set; }

        public Dictionary<(int Number, WirePhase Phase), ByteString> Outbox { get; } = [];

        public HashSet<int> Expected { get; private set; } = [];

        public Dictionary<int, byte[]> Submitted { get; private set; } = [];

        public Dictionary<int, WireDropReason> Drops { get; } = [];

        public int NumberOf(string clientId) => Numbers.TryGetValue(clientId, out int number)
            ? number
            : throw new WireException(GrpcStatusCode.FailedPrecondition, "This client is not in the round's cohort.");

        public RoundInfo Info(int number) => new()
        {
            RoundId = Id,
            ModelVersion = (ulong)ModelVersion,
            ThreatMode = Mode,
            Dp = Dp,
            ClientNumber = (uint)number,
        };

        public void Advance(WirePhase phase, DateTimeOffset now, DateTimeOffset deadline)
        {
            Phase = phase;
            PhaseStartedAt = now;
            Deadline = deadline;
            Submitted = [];
        }

        public void Publish(IReadOnlyList<OutgoingMessage> messages, WirePhase phase)
        {
            var expected = new HashSet<int>();
            var serialized = new Dictionary<ServerToClient, ByteString>(ReferenceEqualityComparer.Instance);
            foreach (OutgoingMessage m in messages)
            {
                if (!serialized.TryGetValue(m.Message, out ByteString? bytes))
                {
                    bytes = m.Message.ToByteString();
                    serialized[m.Message] = bytes;
                }

                Outbox[(m.ClientId, phase)] = bytes;
                if (!Drops.ContainsKey(m.ClientId))
                {
                    expected.Add(m.ClientId);
                }
            }

            Expected = expected;
        }
    }
}
