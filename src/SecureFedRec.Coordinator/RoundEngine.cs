using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using Google.Protobuf;
using RoundInfo = SecureFedRec.Wire.V1.RoundInfo;
using ProtocolPhase = SecureFedRec.Protocol.Wire.Phase;
using ProtocolThreatMode = SecureFedRec.Protocol.Wire.ThreatMode;
using ProtocolDropReason = SecureFedRec.Protocol.Wire.DropReason;

namespace SecureFedRec.Coordinator;

/// <summary>
/// The coordinator's thin host around the one server round (<see cref="RoundHost"/> of SecureFedRec.Rounds): ticks it,
/// writes rounds and model versions to the store, records metrics and logs. The round itself — cohort selection with
/// the CSPRNG, plan, secure-aggregation session, deadlines, decode, ledger charge before release, model update — is the
/// same code the simulation runs. <see cref="Service"/> is the <see cref="IRoundService"/> the gRPC service
/// (<c>RoundsService</c>) calls.
/// </summary>
/// <remarks>
/// Thread-safe (the host is); only <see cref="TickAsync"/> (one driver) opens and closes phases and writes to the store.
/// The open round is journaled in the store (<see cref="RoundJournal"/>: its plan before it opens, each accepted message
/// before it is acknowledged, each phase close before it is published), so a round open at a crash is resumed at
/// start-up (<see cref="RecoverAsync"/>) under the same id; one that cannot be resumed is aborted, nothing charged and
/// nothing released.
/// </remarks>
public sealed class RoundEngine
{
    private readonly CoordinatorOptions _options;
    private readonly ICoordinatorStore _store;
    private readonly IPrivacyLedger _ledger;
    private readonly CoordinatorMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IModelUpdateRule _rule;
    private readonly Func<double[]> _initialModel;
    private readonly bool _checkModel;
    private readonly RoundTracing _tracing = new();
    private RoundHost? _host;

    /// <summary>Creates the engine; call <see cref="RecoverAsync"/> once before the first tick.</summary>
    /// <param name="options">Coordinator options (Rounds section).</param>
    /// <param name="store">The store.</param>
    /// <param name="ledger">The coordinator's durable ledger.</param>
    /// <param name="metrics">Metrics.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="time">Clock.</param>
    /// <param name="rule">The model-update rule (null: the rule of Rounds:InitialModel and Rounds:ModelRule, <see cref="RoundOptions.CreateModelRule"/>).</param>
    /// <param name="initialModel">Creates the initial model when the store has none (null: Rounds:InitialModel).</param>
    public RoundEngine(CoordinatorOptions options, ICoordinatorStore store, IPrivacyLedger ledger, CoordinatorMetrics metrics, ILogger logger,
        TimeProvider time, IModelUpdateRule? rule = null, Func<double[]>? initialModel = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _store = store;
        _ledger = ledger;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _rule = rule ?? options.Rounds.CreateModelRule();
        _initialModel = initialModel ?? options.Rounds.CreateInitialModel;
        _checkModel = initialModel is null;
    }

    /// <summary>The one round service (what the gRPC service and in-process transports call).</summary>
    public IRoundService Service => Host;

    /// <summary>The round host.</summary>
    public RoundHost Host => _host ?? throw new InvalidOperationException("Call RecoverAsync first.");

    /// <summary>The round in progress (0 when none) and its phase.</summary>
    public (ulong Round, ProtocolPhase Phase) Current => _host?.Current ?? (0, ProtocolPhase.Unspecified);

    /// <summary>What this process observed of its rounds (phases, survivors, drops), for the operator API and dashboard.</summary>
    internal Operations.PhaseHistory PhaseHistory { get; } = new();

    /// <summary>Latest released model version.</summary>
    public long ModelVersion => (long)(_host?.Latest.Version ?? 0);

    /// <summary>Whether the engine opens no more rounds: <see cref="RoundOptions.MaxRounds"/> rounds have completed, or the budget cannot release another (<see cref="BudgetExhausted"/>).</summary>
    public bool Finished => _host?.Finished ?? false;

    /// <summary>Why no further round opens when the coordinator's ledger cannot release one (null while rounds fit).</summary>
    public BudgetExhaustion? BudgetExhausted => _host?.BudgetExhausted;

    /// <summary>The round settings the coordinator's options ask for (the same defaults as the simulation otherwise).</summary>
    public static RoundSettings SettingsOf(RoundOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new RoundSettings
        {
            Dimension = o.Dimension,
            Bits = o.Bits,
            Clip = o.Clip,
            Privacy = PrivacyUnit.Institution,
            TargetEpsilon = o.TargetEpsilon,
            Delta = o.Delta,
            PlannedRounds = o.PlannedRounds,
            Mode = o.ThreatMode == "Malicious" ? ProtocolThreatMode.Malicious : ProtocolThreatMode.HonestButCurious,
            ThresholdFraction = o.ThresholdFraction,
            Graph = Enum.Parse<GraphSelection>(o.Graph),
            HararyFromClients = o.HararyFromClients,
            CollusionFraction = o.CollusionFraction,
            DropoutFraction = o.DropoutFraction,
        };
    }

    /// <summary>
    /// The round host's options the coordinator's options ask for: settings (<see cref="SettingsOf"/>), cohort, recruiting
    /// the phase-deadline rule (a per-phase setting when set, else PhaseSeconds + n × PhaseSecondsPerClient) and the early close.
    /// </summary>
    public static RoundHostOptions HostOptionsOf(RoundOptions o, TimeProvider time, ulong firstRoundId = 1, Func<string, CancellationToken, Task<CohortIdentity?>>? identityOf = null,
        RoundJournal? journal = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new RoundHostOptions
        {
            Settings = SettingsOf(o),
            CohortSize = o.CohortSize,
            MinClients = Math.Min(o.MinClients, o.CohortSize),
            RecruitTime = TimeSpan.FromSeconds(o.RecruitSeconds),
            PhaseTimeout = TimeSpan.FromSeconds(o.PhaseSeconds),
            PhaseTimeoutPerClient = TimeSpan.FromSeconds(o.PhaseSecondsPerClient),
            PhaseTimeouts = o.PhaseOverrides().ToDictionary(kv => Enum.Parse<ProtocolPhase>(kv.Key), kv => TimeSpan.FromSeconds(kv.Value)),
            WaitingExpiry = TimeSpan.FromSeconds(o.WaitingExpirySeconds),
            EarlyCloseIdle = TimeSpan.FromSeconds(o.EarlyCloseIdleSeconds),
            MaxRounds = o.MaxRounds,
            FirstRoundId = firstRoundId,
            Threads = 1,
            IdentityOf = identityOf,
            Journal = journal,
            Time = time,
        };
    }

    /// <summary>
    /// Start-up: makes sure the initial model exists (version 1), creates the round host around the latest version, and
    /// settles rounds left open by a crash: the newest is resumed from its journal (<see cref="RoundHost.ResumeAsync"/>,
    /// same id, deadline re-armed from now), one that had already released its model is recorded as completed, and any
    /// other (or one whose journal is missing or does not replay) is aborted, nothing charged and nothing released. Each is
    /// logged once its store write succeeded; a store that cannot take the writes fails start-up.
    /// </summary>
    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        ModelVersionRecord? latest = await _store.GetModelAsync(0, cancellationToken).ConfigureAwait(false);
        latest ??= await _store.AppendModelAsync(0, RoundCodec.EncodeModel(_initialModel()), "0", _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (_checkModel && _options.Rounds.ModelProblem(ToRelease(latest).Values) is { } problem)
        {
            // A store trained for another model: its rounds' updates would not fit the configured rule.
            throw new ArgumentException("Coordinator:Rounds:InitialModel: " + problem);
        }

        IReadOnlyList<RoundRecord> rounds = await _store.ListRoundsAsync(cancellationToken).ConfigureAwait(false);
        int released = rounds.Count(r => r.Outcome == "Completed");
        RoundOptions o = _options.Rounds;
        _host = new RoundHost(HostOptionsOf(o, _time, (ulong)(rounds.Count == 0 ? 1 : rounds.Max(r => r.RoundId) + 1), IdentityOf, new StoreJournal(this)),
            ToRelease(latest), _ledger, _rule, new StoreEvents(this), released);

        IReadOnlyList<RoundRecord> open = await _store.ListOpenRoundsAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ModelVersionRecord> models = open.Count == 0 ? [] : await _store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < open.Count; i++)
        {
            RoundRecord record = open[i];
            if (models.FirstOrDefault(m => m.RoundId == record.RoundId) is { } model)
            {
                // Released (charged, model stored) just before the crash; only the outcome was not written.
                await _store.UpdateRoundAsync(record.RoundId, nameof(ProtocolPhase.Completed), "Completed", _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                CoordinatorLog.RecoveredReleasedRound(_logger, record.RoundId, model.Version);
                continue;
            }

            (RoundResumeRefusal Refusal, string Reason)? refused = i == open.Count - 1
                ? await TryResumeAsync(record, cancellationToken).ConfigureAwait(false)
                : (RoundResumeRefusal.Superseded, "a newer round was opened after it");
            if (refused is not { } why)
            {
                continue;
            }

            // Logged once the abort is written (a store that cannot take the write fails start-up, aborting nothing).
            await _store.UpdateRoundAsync(record.RoundId, nameof(ProtocolPhase.Aborted), "AbortedByRestart", _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            CoordinatorLog.ResumeRefused(_logger, record.RoundId, why.Refusal, why.Reason);
            _metrics.RoundFinished("aborted_by_restart");
        }

        _metrics.ModelVersion(latest.Version);
        _metrics.EpsilonSpent(_ledger.TotalEpsilon);
    }

    /// <summary>Ends the open round's trace spans as abandoned (the host is stopping).</summary>
    internal void TraceAbandoned() => _tracing.Abandoned();

    /// <summary>Resumes an open round from its journal; null when resumed, else why not (the caller aborts it).</summary>
    private async Task<(RoundResumeRefusal Refusal, string Reason)?> TryResumeAsync(RoundRecord record, CancellationToken cancellationToken)
    {
        IReadOnlyList<JournalRecord> journal = await _store.ListJournalAsync(record.RoundId, cancellationToken).ConfigureAwait(false);
        if (journal.Count == 0 || journal[0].Kind != StoreJournal.OpenKind || journal[0].Sequence != 0)
        {
            return (RoundResumeRefusal.NoJournal, "no journal (it was opened by a coordinator that did not journal rounds, or its plan was never written)");
        }

        RoundResume resume;
        try
        {
            resume = StoreJournal.Decode(record.RoundId, journal);
        }
        catch (FormatException ex)
        {
            return (RoundResumeRefusal.Undecodable, "its journal does not decode: " + ex.Message);
        }

        ProtocolPhase phase;
        try
        {
            phase = await Host.ResumeAsync(resume, cancellationToken).ConfigureAwait(false);
        }
        catch (RoundJournalException ex)
        {
            return (ex.Refusal, ex.Message);
        }

        DateTimeOffset deadline = _time.GetUtcNow() + Host.Options.TimeoutOf(phase, resume.Cohort.Count);
        if (phase is not (ProtocolPhase.Completed or ProtocolPhase.Aborted))
        {
            await _store.UpdateRoundAsync(record.RoundId, phase.ToString(), null, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            _metrics.Current(record.RoundId, (int)phase);
        }

        CoordinatorLog.RoundResumed(_logger, record.RoundId, journal.Count - 1, phase, deadline);
        return null;
    }

    /// <summary>One step of the driver: open a round when enough clients wait, close a phase when due, release.</summary>
    public Task TickAsync(CancellationToken cancellationToken) => Host.TickAsync(closeNow: false, cancellationToken);

    /// <summary>
    /// A cohort member's identity (malicious mode verifies advertised keys against its key), from the store and the roster:
    /// with a roster, the caller's current member entry (organisation, client id, suite and key) provided the caller enrolled
    /// with that key (a revoked or expired member has none and stays out of a malicious cohort); without one, the enrolled
    /// key named by the caller id.
    /// </summary>
    private async Task<CohortIdentity?> IdentityOf(string caller, CancellationToken cancellationToken)
    {
        EnrolmentRecord? enrolled = await _store.GetEnrolmentAsync(caller, cancellationToken).ConfigureAwait(false);
        if (enrolled is null)
        {
            return null;
        }

        if (Roster is { } roster)
        {
            // The roster decides: the caller's current member entry (name, suite, key), and only if it is the enrolled key.
            Roster.RosterMember? member = roster.Admit(caller, _time.GetUtcNow());
            return member is not null && member.PublicKey.Span.SequenceEqual(enrolled.PublicKey)
                ? new CohortIdentity(member.Organisation, member.ClientId, new Crypto.IdentityPublicKey(member.Suite, member.PublicKey))
                : null;
        }

        // Allow-list deployment (honest-but-curious only): the enrolled key, its suite by its length, named by the caller id.
        return Wire.Auth.RequestSignature.TrySuiteOf(enrolled.PublicKey, out Crypto.IdentitySuite suite)
            ? new CohortIdentity(caller, caller, new Crypto.IdentityPublicKey(suite, enrolled.PublicKey))
            : null;
    }

    /// <summary>The signed roster the coordinator admits clients from (null: an allow-list deployment). Set by the host
    /// before <see cref="RecoverAsync"/>; cohort identities (<see cref="RoundHostOptions.IdentityOf"/>) come from it.</summary>
    public CoordinatorRoster? Roster { get; init; }

    private static ModelRelease ToRelease(ModelVersionRecord record) =>
        new((ulong)record.Version, (ulong)record.RoundId, RoundCodec.DecodeModel(record.Model),
            double.TryParse(record.Epsilon, NumberStyles.Float, CultureInfo.InvariantCulture, out double e) ? e : 0, 0);

    /// <summary>
    /// The round journal in the store (<see cref="ICoordinatorStore.AppendJournalAsync"/>): entry 0 (<c>open</c>) is the
    /// round's plan as JSON — the contract as its RoundInfo encoding (base64), the contract's binding (hex, checked on
    /// decode), threshold, graph, degree, planned total ε and the cohort in protocol-number order; entries from 1 are the
    /// round host's (<see cref="RoundJournalEntry"/>, kinds <c>message</c> and <c>close</c>).
    /// </summary>
    private sealed class StoreJournal(RoundEngine engine) : RoundJournal
    {
        public const string OpenKind = "open";
        private const string MessageKind = "message";
        private const string CloseKind = "close";

        public override Task OpenAsync(RoundOpened opened, CancellationToken cancellationToken)
        {
            RoundPlan plan = opened.Plan;
            var body = new OpenEntry(1, Convert.ToBase64String(RoundCodec.ToWire(plan.Contract, 0).ToByteArray()),
                Convert.ToHexStringLower(plan.Contract.Binding()), plan.Threshold, plan.Graph.ToString(), plan.Degree, plan.TotalEpsilon, [.. opened.Cohort])
            {
                Identities = opened.Identities?.Select(k => new IdentityEntry(Crypto.IdentitySignature.NameOf(k.Suite), Convert.ToHexStringLower(k.Key.Span))).ToArray(),
            };
            return engine._store.AppendJournalAsync((long)plan.Contract.RoundId,
                [new JournalRecord(0, OpenKind, JsonSerializer.SerializeToUtf8Bytes(body), engine._time.GetUtcNow())], cancellationToken);
        }

        public override Task AppendAsync(ulong roundId, IReadOnlyList<RoundJournalEntry> entries, CancellationToken cancellationToken)
        {
            DateTimeOffset now = engine._time.GetUtcNow();
            var records = entries.Select(e => new JournalRecord(e.Sequence, e.Kind == RoundJournalEntryKind.Message ? MessageKind : CloseKind,
                System.Runtime.InteropServices.MemoryMarshal.TryGetArray(e.Body, out ArraySegment<byte> whole) && whole.Offset == 0 && whole.Count == whole.Array!.Length
                    ? whole.Array : e.Body.ToArray(), now)).ToList();
            return engine._store.AppendJournalAsync((long)roundId, records, cancellationToken);
        }

        /// <summary>The round a stored journal describes; <see cref="FormatException"/> when it does not decode.</summary>
        public static RoundResume Decode(long roundId, IReadOnlyList<JournalRecord> journal)
        {
            OpenEntry? open;
            try
            {
                open = JsonSerializer.Deserialize<OpenEntry>(journal[0].Body);
            }
            catch (JsonException ex)
            {
                throw new FormatException("the plan entry is not JSON: " + ex.Message, ex);
            }

            if (open is null || open.Version != 1 || open.Cohort is null || open.Contract is null || open.Binding is null || open.Graph is null)
            {
                throw new FormatException("the plan entry is incomplete or of an unknown version.");
            }

            RoundContract contract;
            try
            {
                contract = RoundCodec.FromWire(RoundInfo.Parser.ParseFrom(Convert.FromBase64String(open.Contract)));
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new FormatException("the contract is not a RoundInfo: " + ex.Message, ex);
            }

            if ((long)contract.RoundId != roundId || Convert.ToHexStringLower(contract.Binding()) != open.Binding)
            {
                throw new FormatException("the journaled contract is not the one round " + roundId + " opened with (id or binding differs).");
            }

            if (!Enum.TryParse(open.Graph, out Protocol.Graph.GraphKind graph) || !Enum.IsDefined(graph))
            {
                throw new FormatException("unknown graph " + open.Graph + ".");
            }

            var entries = new List<RoundJournalEntry>(journal.Count - 1);
            foreach (JournalRecord r in journal.Skip(1))
            {
                RoundJournalEntryKind kind = r.Kind switch
                {
                    MessageKind => RoundJournalEntryKind.Message,
                    CloseKind => RoundJournalEntryKind.PhaseClosed,
                    _ => throw new FormatException("entry " + r.Sequence + " has unknown kind " + r.Kind + "."),
                };
                entries.Add(new RoundJournalEntry(r.Sequence, kind, r.Body));
            }

            return new RoundResume(new RoundPlan(contract, open.Threshold, graph, open.Degree, open.TotalEpsilon), open.Cohort, entries)
            {
                Identities = open.Identities?.Select(DecodeIdentity).ToArray(),
            };
        }

        private static Crypto.IdentityPublicKey DecodeIdentity(IdentityEntry? entry)
        {
            if (entry?.Suite is null || entry.Key is null || !Crypto.IdentitySignature.TryParse(entry.Suite, out Crypto.IdentitySuite suite))
            {
                throw new FormatException("an identity key entry is incomplete or names an unknown suite.");
            }

            try
            {
                return new Crypto.IdentityPublicKey(suite, Convert.FromHexString(entry.Key));
            }
            catch (FormatException ex)
            {
                throw new FormatException("an identity key is not hex: " + ex.Message, ex);
            }
        }

        /// <summary>The plan entry (version 1; <see cref="Identities"/> added later, absent in journals written before).</summary>
        private sealed record OpenEntry(int Version, string Contract, string Binding, int Threshold, string Graph, int Degree, double TotalEpsilon, string[] Cohort)
        {
            /// <summary>Malicious mode: each member's identity key the session verifies, in protocol-number order.</summary>
            public IdentityEntry[]? Identities { get; init; }
        }

        /// <summary>An identity key: its suite's name and the key as lower-case hex.</summary>
        private sealed record IdentityEntry(string Suite, string Key);
    }

    /// <summary>Store writes, metrics and logs for the host's events.</summary>
    private sealed class StoreEvents(RoundEngine engine) : RoundHostEvents
    {
        public override async Task<ulong> AllocateRoundIdAsync(ulong proposed, RoundContract draft, IReadOnlyList<string> cohort, CancellationToken cancellationToken)
        {
            string json = JsonSerializer.Serialize(new { cohort, dp = draft.Dp, modelVersion = draft.ModelVersion, mode = draft.Mode.ToString() });
            RoundRecord record = await engine._store.CreateRoundAsync((long)draft.ModelVersion, json, nameof(ProtocolPhase.AdvertiseKeys), engine._time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            return (ulong)record.RoundId;
        }

        public override Task OnRoundOpenedAsync(RoundOpened opened, CancellationToken cancellationToken)
        {
            RoundContract c = opened.Plan.Contract;
            engine._metrics.Current((long)c.RoundId, (int)ProtocolPhase.AdvertiseKeys);
            engine._tracing.Opened(opened);
            engine.PhaseHistory.Opened(opened);
            CoordinatorLog.RoundOpened(engine._logger, (long)c.RoundId, opened.Cohort.Count, opened.Plan.Threshold, opened.Plan.Graph, opened.Plan.Degree, (long)c.ModelVersion, c.ClaimedEpsilon);
            return Task.CompletedTask;
        }

        public override async Task OnPhaseClosedAsync(PhaseClosed closed, CancellationToken cancellationToken)
        {
            engine._metrics.PhaseDuration(closed.Closed.ToString(), closed.Duration.TotalSeconds);
            engine._tracing.PhaseClosed(closed);
            CoordinatorLog.PhaseClosed(engine._logger, (long)closed.RoundId, closed.Closed, closed.Duration.TotalSeconds, closed.Answered, closed.Expected, closed.Next);
            if (closed.Next is not (ProtocolPhase.Completed or ProtocolPhase.Aborted))
            {
                await engine._store.UpdateRoundAsync((long)closed.RoundId, closed.Next.ToString(), null, engine._time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                engine._metrics.Current((long)closed.RoundId, (int)closed.Next);
            }

            engine.PhaseHistory.PhaseClosed(closed); // once the store took the transition
        }

        public override async Task OnModelReleasedAsync(ModelRelease release, CancellationToken cancellationToken)
        {
            ModelVersionRecord stored = await engine._store.AppendModelAsync((long)release.RoundId, RoundCodec.EncodeModel(release.Values),
                release.Epsilon.ToString("R", CultureInfo.InvariantCulture), engine._time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            if ((ulong)stored.Version != release.Version)
            {
                throw new InvalidOperationException($"The store assigned model version {stored.Version}; the round host expected {release.Version}.");
            }
        }

        public override async Task OnRoundFinishedAsync(RoundFinished finished, CancellationToken cancellationToken)
        {
            RoundContract c = finished.Contract;
            long id = (long)c.RoundId;
            (string phase, string outcome, string metric) = finished.Outcome switch
            {
                ServerRoundOutcome.Released => (nameof(ProtocolPhase.Completed), "Completed", "completed"),
                ServerRoundOutcome.WithheldDecodeFailed or ServerRoundOutcome.WithheldLedgerRefused => (nameof(ProtocolPhase.Completed), "Withheld", "withheld"),
                _ => (nameof(ProtocolPhase.Aborted), finished.Detail ?? finished.Outcome.ToString(), "aborted"),
            };
            await engine._store.UpdateRoundAsync(id, phase, outcome, engine._time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            engine._metrics.RoundFinished(metric);
            engine._tracing.Finished(finished, metric);
            engine._metrics.Current(0, 0);
            switch (finished.Outcome)
            {
                case ServerRoundOutcome.Released:
                    ModelRelease release = finished.Release!;
                    engine._metrics.Survivors(finished.Contributors);
                    engine._metrics.EpsilonSpent(release.TotalEpsilon);
                    engine._metrics.ModelVersion((long)release.Version);
                    CoordinatorLog.Released(engine._logger, id, (long)release.Version, finished.Contributors, release.Epsilon, release.TotalEpsilon);
                    if (engine.Finished)
                    {
                        CoordinatorLog.MaxRoundsReached(engine._logger, engine._options.Rounds.MaxRounds);
                    }

                    break;
                case ServerRoundOutcome.WithheldDecodeFailed:
                case ServerRoundOutcome.WithheldLedgerRefused:
                    CoordinatorLog.Withheld(engine._logger, id, finished.Detail ?? finished.Outcome.ToString());
                    break;
                default:
                    CoordinatorLog.RoundAborted(engine._logger, id, outcome);
                    break;
            }

            engine.PhaseHistory.Finished(finished);
        }

        public override async Task<ModelRelease?> LoadModelAsync(ulong version, CancellationToken cancellationToken)
        {
            ModelVersionRecord? record = await engine._store.GetModelAsync((long)version, cancellationToken).ConfigureAwait(false);
            return record is null ? null : ToRelease(record);
        }

        public override void OnBudgetExhausted(BudgetExhaustion exhaustion) =>
            CoordinatorLog.BudgetExhausted(engine._logger, exhaustion.RoundId, exhaustion.Cohort, exhaustion.RoundEpsilon, exhaustion.Contributors,
                exhaustion.TotalEpsilon, exhaustion.Budget, exhaustion.Reason);

        public override void OnPlanRefused(int clients, RoundPlanRefusal refusal, string? detail) =>
            CoordinatorLog.PlanRefused(engine._logger, clients, refusal + ": " + detail);

        public override void OnClientDropped(ulong roundId, string caller, ProtocolDropReason reason)
        {
            engine._metrics.ClientDropped(reason.ToString());
            engine._tracing.Dropped(roundId, reason);
            CoordinatorLog.ClientDropped(engine._logger, (long)roundId, caller, reason);
            engine.PhaseHistory.Dropped(roundId, reason);
        }

        public override void OnProtocolRefused(ulong roundId, string caller, ProtocolPhase phase, string detail)
        {
            CoordinatorLog.MessageRefused(engine._logger, (long)roundId, caller, phase, detail);
        }

        public override void OnHonestButCuriousRound(RoundPlan plan) =>
            CoordinatorLog.HonestButCuriousRound(engine._logger, plan.Contract.RoundId);

        public override void OnCohortCandidateRefused(string caller, string reason) =>
            CoordinatorLog.CohortCandidateRefused(engine._logger, caller, reason);
    }
}
