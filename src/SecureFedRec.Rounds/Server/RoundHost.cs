using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Mechanism;
using SecureFedRec.Protocol;
using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Session;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Internal;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Server;

/// <summary>Options of a <see cref="RoundHost"/>.</summary>
public sealed class RoundHostOptions
{
    /// <summary>What every round asks for (DP target, clip, threshold, graph, threat mode).</summary>
    public required RoundSettings Settings { get; init; }

    /// <summary>Clients per round: a round opens as soon as this many wait.</summary>
    public required int CohortSize { get; init; }

    /// <summary>Fewest clients a round opens with once <see cref="RecruitTime"/> has passed (default 2).</summary>
    public int MinClients { get; init; } = 2;

    /// <summary>How long to wait for a full cohort before opening with at least <see cref="MinClients"/>.</summary>
    public TimeSpan RecruitTime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Base deadline of every phase (see <see cref="TimeoutOf"/>).</summary>
    public TimeSpan PhaseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Added to <see cref="PhaseTimeout"/> per cohort member (default zero: the same deadline at every size).</summary>
    public TimeSpan PhaseTimeoutPerClient { get; init; } = TimeSpan.Zero;

    /// <summary>Per-phase deadlines that replace the scaled rule for their phase (null or absent: the rule).</summary>
    public IReadOnlyDictionary<Phase, TimeSpan>? PhaseTimeouts { get; init; }

    /// <summary>
    /// The deadline of <paramref name="phase"/> in a round of <paramref name="cohort"/> clients: the configured
    /// per-phase value when there is one, else <see cref="PhaseTimeout"/> + <paramref name="cohort"/> ×
    /// <see cref="PhaseTimeoutPerClient"/>.
    /// </summary>
    public TimeSpan TimeoutOf(Phase phase, int cohort) =>
        PhaseTimeouts is not null && PhaseTimeouts.TryGetValue(phase, out TimeSpan fixedTimeout)
            ? fixedTimeout
            : PhaseTimeout + (PhaseTimeoutPerClient * Math.Max(0, cohort));

    /// <summary>
    /// Early close after quiet (zero, the default: never): the open phase — from ShareKeys on; AdvertiseKeys and
    /// RelabelReveal always wait for every member or their deadline, since a member missing there aborts a Harary round's
    /// relabelling — closes before its deadline once no client message has been taken for this long and the cohort members that would then be out of the round — those that have
    /// not answered the phase, those dropped in it and those dropped before it — are at most ⌊<see cref="RoundSettings.DropoutFraction"/>
    /// × n⌋, the dropout the round's graph and threshold are planned for (<see cref="EarlyCloseDue"/>).
    /// </summary>
    public TimeSpan EarlyCloseIdle { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Whether a phase of a round of <paramref name="cohort"/> clients may close early (<see cref="EarlyCloseIdle"/>):
    /// <paramref name="out"/> members would be out of the round after it and the last message was taken
    /// <paramref name="quiet"/> ago.
    /// </summary>
    public bool EarlyCloseDue(int cohort, int @out, TimeSpan quiet) =>
        EarlyCloseIdle > TimeSpan.Zero && quiet >= EarlyCloseIdle && @out <= (int)Math.Floor(Settings.DropoutFraction * cohort);

    /// <summary>A waiting client that has not asked again for this long is forgotten.</summary>
    public TimeSpan WaitingExpiry { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Released rounds after which no more rounds open (0: no limit).</summary>
    public int MaxRounds { get; init; }

    /// <summary>Id of the first round (later rounds count up; the events may choose ids instead).</summary>
    public ulong FirstRoundId { get; init; } = 1;

    /// <summary>Worker threads of the unmasking phase (0: all cores).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>
    /// The roster identity of a caller (its organisation, roster client id and identity public key), or null when it has
    /// none. Every cohort member's identity is looked up when a round opens: the contract's cohort
    /// (<see cref="RoundContract.Cohort"/>) is built from the answers and, in malicious mode, the protocol verifies each
    /// member's signatures under its key. In malicious mode a caller without an identity (or whose name or key is
    /// already in the cohort) is left out of the round (<see cref="RoundHostEvents.OnCohortCandidateRefused"/>); with
    /// no <see cref="IdentityOf"/> at all no malicious round opens. Honest-but-curious rounds list the cohort only when
    /// every member has an identity.
    /// </summary>
    public Func<string, CancellationToken, Task<CohortIdentity?>>? IdentityOf { get; init; }

    /// <summary>
    /// Durable journal of the open round (null: none, the round lives in memory only): the round's plan before it opens,
    /// each accepted client message before it is acknowledged (<see cref="RoundHost.SubmitAsync"/>), each phase close
    /// before its messages are published; <see cref="RoundHost.ResumeAsync"/> rebuilds a round from it after a crash.
    /// </summary>
    public RoundJournal? Journal { get; init; }

    /// <summary>Randomness of the cohort selection (null: the OS CSPRNG; a seeded source in simulations and tests).</summary>
    public RandomSource? Random { get; init; }

    /// <summary>Clock (null: the system clock).</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Suggested retry delay while waiting for a round.</summary>
    public TimeSpan JoinRetry { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Suggested retry delay while a phase is collecting.</summary>
    public TimeSpan FetchRetry { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>What one <see cref="RoundHost.TickAsync"/> did.</summary>
public enum RoundHostTick
{
    /// <summary>Nothing was due.</summary>
    Idle = 0,

    /// <summary>A round opened.</summary>
    Opened = 1,

    /// <summary>A phase closed and the next opened.</summary>
    PhaseClosed = 2,

    /// <summary>A round finished (released, withheld or aborted).</summary>
    Finished = 3,

    /// <summary>A cohort was ready but the planner refused it.</summary>
    PlanRefused = 4,

    /// <summary>A cohort was ready but the ledger's budget cannot release its round: no round opened, and none will.</summary>
    BudgetExhausted = 5,
}

/// <summary>
/// The server round, run identically by the coordinator and the simulation: recruits waiting clients, selects a cohort
/// (Fisher–Yates with the injected randomness), plans the round (<see cref="RoundPlanner"/>), opens a
/// <see cref="SecAggServerSession"/>, relays messages (<see cref="IRoundService"/>), closes each phase at its deadline or
/// as soon as every expected client has answered, and on completion decodes the sum, charges the ledger (before
/// anything derived from the sum leaves, exactly once per round) and releases the next model version through the
/// injected <see cref="IModelUpdateRule"/>.
/// </summary>
/// <remarks>
/// Thread-safe: <see cref="IRoundService"/> calls may come from any thread; <see cref="TickAsync"/> is the one driver
/// (call it from one loop). No ASP.NET, SQL or network dependency: persistence and telemetry go through
/// <see cref="RoundHostEvents"/> and, when set, <see cref="RoundHostOptions.Journal"/> (RoundHost.Resume.cs), from which
/// <see cref="ResumeAsync"/> rebuilds an open round after a crash.
/// </remarks>
public sealed partial class RoundHost : IRoundService
{
    private const int RecentRounds = 4;

    private readonly RoundHostOptions _options;
    private readonly IPrivacyLedger _ledger;
    private readonly IModelUpdateRule _rule;
    private readonly RoundHostEvents _events;
    private readonly TimeProvider _time;
    private readonly RandomSource _random;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _waiting = new(StringComparer.Ordinal);
    private readonly HashSet<string> _opening = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, ActiveRound> _recent = [];
    private readonly Dictionary<ulong, ModelRelease> _models = [];
    private readonly HashSet<ulong> _charged = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset? _recruitSince;
    private ActiveRound? _round;
    private ModelRelease _latest;
    private ulong _nextRoundId;
    private int _released;

    /// <summary>Creates the host around the latest model version (the initial model is version 1, round 0).</summary>
    /// <param name="options">Options.</param>
    /// <param name="latest">The latest released model (injected: the initial model, or the store's latest version).</param>
    /// <param name="ledger">The coordinator's ledger (charged before every release).</param>
    /// <param name="rule">The model-update rule.</param>
    /// <param name="events">Persistence and telemetry hooks (null: none).</param>
    /// <param name="releasedRounds">Rounds already released before this host started (counts toward <see cref="RoundHostOptions.MaxRounds"/>).</param>
    public RoundHost(RoundHostOptions options, ModelRelease latest, IPrivacyLedger ledger, IModelUpdateRule rule, RoundHostEvents? events = null,
        int releasedRounds = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Settings);
        ArgumentNullException.ThrowIfNull(latest);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.CohortSize, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MinClients, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MinClients, options.CohortSize);
        _options = options;
        _ledger = ledger;
        _rule = rule;
        _events = events ?? new RoundHostEvents();
        _time = options.Time ?? TimeProvider.System;
        _random = options.Random ?? RandomSource.System;
        _latest = latest;
        _models[latest.Version] = latest;
        _nextRoundId = Math.Max(options.FirstRoundId, latest.RoundId + 1);
        _released = releasedRounds;
    }

    /// <summary>The options this host runs with.</summary>
    public RoundHostOptions Options => _options;

    /// <summary>The latest released model version.</summary>
    public ModelRelease Latest
    {
        get
        {
            lock (_gate)
            {
                return _latest;
            }
        }
    }

    /// <summary>
    /// Whether the host opens no more rounds: <see cref="RoundHostOptions.MaxRounds"/> rounds have been released, or the
    /// ledger's budget cannot release another (<see cref="BudgetExhausted"/>).
    /// </summary>
    public bool Finished => (_options.MaxRounds > 0 && Volatile.Read(ref _released) >= _options.MaxRounds) || BudgetExhausted is not null;

    /// <summary>The round in progress (0 when none) and its phase.</summary>
    public (ulong RoundId, Phase Phase) Current
    {
        get
        {
            lock (_gate)
            {
                return _round is null || _round.Finished ? (0, Phase.Unspecified) : (_round.Plan.Contract.RoundId, _round.Session.Phase);
            }
        }
    }

    /// <summary>The plan of the latest round opened (null before the first): its graph, degree and threshold.</summary>
    public RoundPlan? LastPlan
    {
        get
        {
            lock (_gate)
            {
                return _recent.Count == 0 ? null : _recent[_recent.Keys.Max()].Plan;
            }
        }
    }

    /// <summary>Clients currently waiting to be selected.</summary>
    public int WaitingCount
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Completes at the next change of round or phase (for in-process drivers and long-polling transports).</summary>
    public Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    /// <inheritdoc />
    public JoinReply Join(string caller)
    {
        ArgumentException.ThrowIfNullOrEmpty(caller);
        DateTimeOffset now = _time.GetUtcNow();
        lock (_gate)
        {
            ActiveRound? round = _round;
            if (round is not null && !round.Finished && round.Numbers.TryGetValue(caller, out int number))
            {
                ServerFetch opening = round.Session.Fetch(number, Phase.AdvertiseKeys);
                if (opening.Outcome == ServerFetchOutcome.Ready)
                {
                    return new JoinReply(JoinOutcome.Selected, new RoundInvitation(round.Plan.Contract, number, opening.Message!, round.AdvertiseDeadline), TimeSpan.Zero);
                }
            }

            if (_opening.Contains(caller))
            {
                return new JoinReply(JoinOutcome.Wait, null, TimeSpan.FromMilliseconds(50));
            }

            if (Finished)
            {
                return new JoinReply(JoinOutcome.Finished, null, TimeSpan.Zero);
            }

            _waiting[caller] = now;
            _recruitSince ??= now;
            bool running = round is not null && !round.Finished;
            return running
                ? new JoinReply(JoinOutcome.NotSelected, null, _options.JoinRetry * 2)
                : new JoinReply(JoinOutcome.Wait, null, _options.JoinRetry);
        }
    }

    /// <inheritdoc />
    public SubmitReply Submit(string caller, ulong roundId, Phase phase, ClientToServer message)
    {
        ArgumentException.ThrowIfNullOrEmpty(caller);
        ArgumentNullException.ThrowIfNull(message);
        ActiveRound? round;
        lock (_gate)
        {
            _recent.TryGetValue(roundId, out round);
        }

        if (round is null)
        {
            return Refused(RoundRefusal.UnknownRound, "Round " + roundId + " is not a recent round.", default);
        }

        if (!round.Numbers.TryGetValue(caller, out int number))
        {
            return Refused(RoundRefusal.NotInCohort, "The caller is not in the round's cohort.", round.Deadline);
        }

        ServerSessionStep step;
        lock (round)
        {
            if (round.Session.Phase != phase)
            {
                // A retry of a message the round took (its acknowledgement was lost) after the phase moved on.
                if (WasTaken(round, number, phase, message))
                {
                    return new SubmitReply(SubmitOutcome.Accepted, RoundRefusal.None, null, round.Deadline);
                }

                // A client that missed a deadline learns it was dropped (and why), not merely that the phase closed.
                if (round.Session.Dropped.TryGetValue(number, out DropReason dropped))
                {
                    return Refused(RoundRefusal.Dropped, dropped.ToString(), round.Deadline);
                }

                return Refused(RoundRefusal.PhaseClosed, $"Phase {phase} is not open (the open phase is {round.Session.Phase}).", round.Deadline);
            }

            step = round.Session.Handle(number, message);
            JournalHandled(round, number, message, step);
        }

        switch (step.Outcome)
        {
            case ServerSessionOutcome.Accepted:
            case ServerSessionOutcome.AlreadyAccepted:
                round.LastTaken = _time.GetUtcNow();
                if (message.MessageCase == ClientToServer.MessageOneofCase.Abort)
                {
                    NotifyDropped(round, number, DropReason.ClientAborted);
                }

                SignalIfReady(round);
                return new SubmitReply(SubmitOutcome.Accepted, RoundRefusal.None, null, round.Deadline);
            case ServerSessionOutcome.Conflicting:
                return Refused(RoundRefusal.ConflictingResubmission, step.Detail, round.Deadline);
            case ServerSessionOutcome.Dropped:
                NotifyDropped(round, number, step.DropReason);
                SignalIfReady(round);
                return Refused(RoundRefusal.Dropped, step.DropReason.ToString(), round.Deadline);
            case ServerSessionOutcome.PhaseClosed:
                return Refused(RoundRefusal.PhaseClosed, step.Detail, round.Deadline);
            default:
                string detail = step.Rejection + ": " + step.Detail;
                _events.OnProtocolRefused(roundId, caller, phase, detail);
                return Refused(RoundRefusal.ProtocolRefused, detail, round.Deadline);
        }
    }

    /// <inheritdoc />
    public FetchReply Fetch(string caller, ulong roundId, Phase phase)
    {
        ArgumentException.ThrowIfNullOrEmpty(caller);
        ActiveRound? round;
        lock (_gate)
        {
            _recent.TryGetValue(roundId, out round);
        }

        if (round is null)
        {
            return new FetchReply(FetchOutcome.Refused, null, DropReason.Unspecified, RoundRefusal.UnknownRound, default, TimeSpan.Zero);
        }

        if (!round.Numbers.TryGetValue(caller, out int number))
        {
            return new FetchReply(FetchOutcome.Refused, null, DropReason.Unspecified, RoundRefusal.NotInCohort, default, TimeSpan.Zero);
        }

        bool finished;
        lock (_gate)
        {
            finished = round.Finished;
        }

        // The round's end (result or abort) becomes visible only once it is finished: decoded, charged and released
        // (or withheld), so a client told "completed" can already fetch the new model version.
        // A phase transition whose store write has not succeeded yet is not visible either (the round is committing).
        ServerFetch fetched = (round.Session.IsTerminal && !finished) || round.Committing
            ? new ServerFetch(ServerFetchOutcome.Pending, null, DropReason.Unspecified)
            : round.Session.Fetch(number, phase);
        return fetched.Outcome switch
        {
            ServerFetchOutcome.Ready => new FetchReply(FetchOutcome.Ready, fetched.Message, DropReason.Unspecified, RoundRefusal.None,
                round.Session.Phase == phase ? round.Deadline : default, TimeSpan.Zero),
            ServerFetchOutcome.Dropped => new FetchReply(FetchOutcome.Dropped, null, fetched.DropReason, RoundRefusal.None, default, TimeSpan.Zero),
            ServerFetchOutcome.Aborted => new FetchReply(FetchOutcome.Aborted, fetched.Message, DropReason.Unspecified, RoundRefusal.None, default, TimeSpan.Zero),
            _ => new FetchReply(FetchOutcome.Pending, null, DropReason.Unspecified, RoundRefusal.None, round.Deadline, _options.FetchRetry),
        };
    }

    /// <inheritdoc />
    public async Task<ModelRelease?> GetModelAsync(ulong version, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (version == 0)
            {
                return _latest;
            }

            if (_models.TryGetValue(version, out ModelRelease? held))
            {
                return held;
            }
        }

        return await _events.LoadModelAsync(version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One step of the driver: open a round when enough clients wait, close the open phase when its deadline passed,
    /// every expected client answered, or <paramref name="closeNow"/> (an in-process driver that knows no further
    /// message is coming), and finish a completed or aborted round.
    /// </summary>
    public async Task<RoundHostTick> TickAsync(bool closeNow = false, CancellationToken cancellationToken = default)
    {
        DateTimeOffset now = _time.GetUtcNow();
        List<string>? cohort = null;
        ActiveRound? closing = null;
        lock (_gate)
        {
            if (_round is null || _round.Finished)
            {
                cohort = Finished ? null : SelectCohort(now);
            }
            else if (_round.Committing || closeNow || now >= _round.Deadline || _round.Session.IsReadyToClose || QuietEnough(_round, now))
            {
                closing = _round;
            }
        }

        if (cohort is not null)
        {
            try
            {
                return await OpenAsync(cohort, now, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _opening.Clear();
                }
            }
        }

        return closing is null ? RoundHostTick.Idle : await CloseAsync(closing, now, cancellationToken).ConfigureAwait(false);
    }

    private List<string>? SelectCohort(DateTimeOffset now)
    {
        foreach (string stale in _waiting.Where(w => now - w.Value > _options.WaitingExpiry).Select(w => w.Key).ToList())
        {
            _waiting.Remove(stale);
        }

        if (_waiting.Count == 0)
        {
            _recruitSince = null;
            return null;
        }

        bool full = _waiting.Count >= _options.CohortSize;
        bool waitedEnough = _recruitSince is { } since && now - since >= _options.RecruitTime && _waiting.Count >= _options.MinClients;
        if (!full && !waitedEnough)
        {
            return null;
        }

        // Uniform sample without replacement: Fisher–Yates over the callers in ordinal order.
        List<string> pool = _waiting.Keys.Order(StringComparer.Ordinal).ToList();
        for (int i = pool.Count - 1; i > 0; i--)
        {
            int j = (int)_random.NextBelow((ulong)(i + 1));
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }

        List<string> cohort = pool.Take(_options.CohortSize).Order(StringComparer.Ordinal).ToList();
        foreach (string c in cohort)
        {
            _waiting.Remove(c);
            _opening.Add(c);
        }

        _recruitSince = _waiting.Count > 0 ? now : null;
        return cohort;
    }

    private async Task<RoundHostTick> OpenAsync(List<string> cohort, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ModelRelease model = Latest;
        List<CohortIdentity>? identityList = await ResolveIdentitiesAsync(cohort, cancellationToken).ConfigureAwait(false);
        if (cohort.Count < _options.MinClients)
        {
            // Too few callers with a roster identity: the others wait for the next attempt.
            Requeue(cohort, now);
            _events.OnPlanRefused(cohort.Count, RoundPlanRefusal.InvalidSettings,
                $"only {cohort.Count} selected callers have a roster identity; a malicious-mode round needs at least {_options.MinClients}");
            return RoundHostTick.PlanRefused;
        }

        int n = cohort.Count;
        ulong proposed;
        lock (_gate)
        {
            proposed = _nextRoundId;
        }

        if (!RoundPlanner.TryPlan(_options.Settings, proposed, model.Version, n, out RoundPlan? draft, out RoundPlanRefusal refusal, out string? detail))
        {
            _events.OnPlanRefused(n, refusal, detail);
            Requeue(cohort, now);
            return RoundHostTick.PlanRefused;
        }

        if (RefuseOverBudget(draft, n))
        {
            return RoundHostTick.BudgetExhausted;
        }

        ulong roundId = await _events.AllocateRoundIdAsync(proposed, draft.Contract, cohort, cancellationToken).ConfigureAwait(false);
        RoundPlan plan = roundId == proposed ? draft : draft with { Contract = draft.Contract with { RoundId = roundId } };
        bool malicious = plan.Contract.Mode == ThreatMode.Malicious;
        Dictionary<int, IdentityPublicKey>? identities = null;
        if (identityList is not null)
        {
            plan = plan with
            {
                Contract = plan.Contract with
                {
                    Cohort = identityList.Select((id, i) => new CohortEntry(i + 1, id.Organisation, id.ClientId)).ToArray(),
                },
            };
            if (malicious)
            {
                identities = identityList.Select((id, i) => (id, i)).ToDictionary(x => x.i + 1, x => x.id.Key);
            }
        }

        if (!malicious)
        {
            _events.OnHonestButCuriousRound(plan);
        }

        SecAggServerSession session = await StartSessionAsync(plan, cohort, identities, cancellationToken).ConfigureAwait(false);
        var round = new ActiveRound(plan, cohort, session, now, now + _options.TimeoutOf(Phase.AdvertiseKeys, n));

        // Durable before any cohort member can see the round (a crash from here on resumes it, not loses it).
        await JournalOpenedAsync(round, identities, now, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _round = round;
            _recent[roundId] = round;
            _nextRoundId = roundId + 1;
            foreach (ulong old in _recent.Keys.Where(k => k + RecentRounds <= roundId).ToList())
            {
                _recent.Remove(old);
            }
        }

        await _events.OnRoundOpenedAsync(new RoundOpened(plan, cohort, now), cancellationToken).ConfigureAwait(false);
        Signal();
        return RoundHostTick.Opened;
    }

    /// <summary>
    /// The secure-aggregation session of a planned round: on opening with the identities just resolved; on resume
    /// (<paramref name="identities"/> null in malicious mode) with each cohort member's roster identity looked up again,
    /// which must still exist and carry the name the journaled contract lists for it.
    /// </summary>
    private async Task<SecAggServerSession> StartSessionAsync(RoundPlan plan, IReadOnlyList<string> cohort,
        IReadOnlyDictionary<int, IdentityPublicKey>? identities, CancellationToken cancellationToken)
    {
        RoundContract contract = plan.Contract;
        int n = cohort.Count;
        if (contract.Mode == ThreatMode.Malicious && identities is null)
        {
            var resolved = new Dictionary<int, IdentityPublicKey>(n);
            for (int i = 0; i < n; i++)
            {
                CohortIdentity? identity = _options.IdentityOf is null ? null : await _options.IdentityOf(cohort[i], cancellationToken).ConfigureAwait(false);
                CohortEntry? listed = contract.Cohort.FirstOrDefault(e => e.ClientNumber == i + 1);
                if (identity is null || listed is null || listed.Organisation != identity.Organisation || listed.ClientId != identity.ClientId)
                {
                    throw new ArgumentException($"cohort member {i + 1} has no current roster identity matching the contract's cohort entry.");
                }

                resolved[i + 1] = identity.Key;
            }

            identities = resolved;
        }

        SecAggParameters parameters = SecAggParameters.Create(contract.RoundId, Enumerable.Range(1, n).ToArray(), plan.Threshold,
            contract.SecAggDimension, contract.Dp.Bits, contract.Mode, Crypto.KeyAgreementSuite.X25519, plan.Graph, plan.Degree, contract.Binding());
        return SecAggServerSession.Start(parameters, new ServerOptions { EnrolledIdentities = identities, Threads = _options.Threads });
    }

    /// <summary>
    /// The early close (<see cref="RoundHostOptions.EarlyCloseIdle"/>): out of the round after this phase would be every
    /// member that has not answered it plus every member dropped (before it, or in it, e.g. by a ClientAbort — counted
    /// even if the session also counts it as an answer, so the count errs towards waiting).
    /// </summary>
    private bool QuietEnough(ActiveRound round, DateTimeOffset now)
    {
        // Never before the neighbourhoods are fixed: a member missing from AdvertiseKeys (or RelabelReveal) aborts a
        // Harary round's relabelling, so those phases wait for every member or their deadline.
        if (_options.EarlyCloseIdle <= TimeSpan.Zero || round.Session.IsTerminal || round.Session.Phase is Phase.AdvertiseKeys or Phase.RelabelReveal)
        {
            return false;
        }

        int n = round.Cohort.Count;
        int @out = n - round.Session.AnsweredCount + round.Session.Dropped.Count - (n - round.Session.Expected.Count);
        DateTimeOffset since = round.LastTaken > round.PhaseStartedAt ? round.LastTaken : round.PhaseStartedAt;
        return round.Session.AnsweredCount > 0 && _options.EarlyCloseDue(n, @out, now - since);
    }

    private void Requeue(List<string> cohort, DateTimeOffset now)
    {
        lock (_gate)
        {
            foreach (string c in cohort)
            {
                _waiting[c] = now;
            }

            _recruitSince = now;
        }
    }

    /// <summary>
    /// Looks up every selected caller's roster identity (<see cref="RoundHostOptions.IdentityOf"/>). Malicious mode: a
    /// caller without one, or whose roster name or key is already taken by an earlier caller (ordinal order), is removed
    /// from <paramref name="cohort"/>; the list returned matches the remaining cohort. Honest-but-curious mode: the list,
    /// or null when some caller has no identity (the cohort is then not listed). Null without an <c>IdentityOf</c>.
    /// </summary>
    private async Task<List<CohortIdentity>?> ResolveIdentitiesAsync(List<string> cohort, CancellationToken cancellationToken)
    {
        bool malicious = _options.Settings.Mode == ThreatMode.Malicious;
        if (_options.IdentityOf is null)
        {
            if (malicious)
            {
                foreach (string caller in cohort)
                {
                    _events.OnCohortCandidateRefused(caller, "roster-identity: the host has no roster identities (IdentityOf), so no malicious-mode cohort can be formed");
                }

                cohort.Clear();
            }

            return null;
        }

        var resolved = new List<CohortIdentity>(cohort.Count);
        var kept = new List<string>(cohort.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        bool complete = true;
        foreach (string caller in cohort)
        {
            CohortIdentity? identity = await _options.IdentityOf(caller, cancellationToken).ConfigureAwait(false);
            string? problem = identity is null || identity.Organisation is null || identity.ClientId is null
                ? "roster-identity: the caller has no roster identity"
                : !identity.Key.IsValid
                    ? "roster-identity: the caller's identity key is not a valid key of its suite"
                    : !names.Add(identity.Organisation + "/" + identity.ClientId)
                        ? $"cohort-unique: {identity.Organisation}/{identity.ClientId} is already in the cohort"
                        : !keys.Add(((int)identity.Key.Suite).ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + Convert.ToHexString(identity.Key.Key.Span))
                            ? "cohort-unique: the caller's identity key is already in the cohort"
                            : null;
            if (problem is null)
            {
                resolved.Add(identity!);
                kept.Add(caller);
                continue;
            }

            complete = false;
            if (malicious)
            {
                _events.OnCohortCandidateRefused(caller, problem);
            }
            else
            {
                kept.Add(caller);
            }
        }

        cohort.Clear();
        cohort.AddRange(kept);
        return malicious || complete ? resolved : null;
    }

    /// <summary>
    /// Closes the open phase. The session's transition is made in memory but published (the next phase's messages
    /// fetchable, its deadline running) only once its store write (<see cref="RoundHostEvents.OnPhaseClosedAsync"/>)
    /// succeeded; a failed write leaves the round committing, and the next tick retries that write alone (never
    /// closing another phase). Release and finish are retried the same way, each step at most once: the ledger is
    /// charged once per round and the model computed once.
    /// </summary>
    private async Task<RoundHostTick> CloseAsync(ActiveRound round, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!round.Committing)
        {
            Phase closed;
            Phase next;
            int expected;
            int answered;
            IReadOnlyDictionary<int, DropReason> before;
            lock (round)
            {
                closed = round.Session.Phase;
                expected = round.Session.Expected.Count;
                answered = round.Session.AnsweredCount;
                before = round.Session.Dropped;
                round.Committing = true;
                next = round.Session.Close();
                JournalClosed(round, closed, next);
            }

            foreach ((int number, DropReason reason) in round.Session.Dropped)
            {
                if (!before.ContainsKey(number))
                {
                    NotifyDropped(round, number, reason);
                }
            }

            round.PendingClose = new PhaseClosed(round.Plan.Contract.RoundId, closed, next, answered, expected, now - round.PhaseStartedAtPrevious);
        }

        if (round.PendingClose is { } pending)
        {
            // The close (and every message before it) is durable before anything it produced is published.
            await FlushJournalAsync(round, cancellationToken).ConfigureAwait(false);
            await _events.OnPhaseClosedAsync(pending, cancellationToken).ConfigureAwait(false);
            round.PendingClose = null;
            round.PhaseStartedAt = now;
            round.PhaseStartedAtPrevious = now;
            round.Deadline = now + _options.TimeoutOf(pending.Next, round.Cohort.Count);
            if (!round.Session.IsTerminal)
            {
                round.Committing = false;
                Signal();
                return RoundHostTick.PhaseClosed;
            }
        }

        round.Result ??= round.Session.Completed is { } completed
            ? await ReleaseAsync(round, completed, cancellationToken).ConfigureAwait(false)
            : new RoundFinished(round.Plan.Contract, AbortOutcome(round.Session.Outcome), 0, null, null, DroppedCallers(round), round.Session.Outcome.ToString());
        await _events.OnRoundFinishedAsync(round.Result, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            round.Finished = true;
            round.Committing = false;
        }

        Signal();
        return RoundHostTick.Finished;
    }

    private async Task<RoundFinished> ReleaseAsync(ActiveRound round, ServerCompletedState completed, CancellationToken cancellationToken)
    {
        RoundContract contract = round.Plan.Contract;
        int contributors = completed.Contributors.Count;
        IReadOnlyDictionary<string, DropReason> dropped = DroppedCallers(round);
        if (round.Release is null)
        {
            (double[]? sum, DecodeFailure failure) = new UpdateCodec(contract).Decode(completed.Sum, contributors);
            if (sum is null)
            {
                // Nothing leaves: the sum may have wrapped. Not charged (nothing derived from it is released).
                return new RoundFinished(contract, ServerRoundOutcome.WithheldDecodeFailed, contributors, null, null, dropped, "decode failed: " + failure);
            }

            double roundEpsilon = 0;
            double totalEpsilon = _ledger.TotalEpsilon;
            if (contract.IsPrivate)
            {
                lock (_gate)
                {
                    if (_charged.Contains(contract.RoundId))
                    {
                        throw new InvalidOperationException($"Round {contract.RoundId} was already charged; a round is released at most once.");
                    }
                }

                // ε is recorded durably before anything derived from the sum leaves this process. A charge whose write
                // fails records nothing (the ledger persists before it remembers), so the retry on the next tick charges
                // at most once.
                LedgerDecision decision = _ledger.Charge(new RoundCharge(contract.LedgerRoundId, contract.AccountingParameters, contributors));
                lock (_gate)
                {
                    _charged.Add(contract.RoundId);
                }

                // AlreadyCharged: this very round (same parameters and contributors) was charged before a crash and is
                // being resumed; the recorded charge stands for it, nothing is charged twice.
                if (decision.Outcome is not (LedgerOutcome.Charged or LedgerOutcome.AlreadyCharged))
                {
                    return new RoundFinished(contract, ServerRoundOutcome.WithheldLedgerRefused, contributors, null, null, dropped, "ledger: " + decision.Outcome + ": " + decision.Message);
                }

                roundEpsilon = decision.RoundEpsilon;
                totalEpsilon = decision.TotalAfter;
            }

            ModelRelease basis = await GetModelAsync(contract.ModelVersion, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Model version {contract.ModelVersion} of round {contract.RoundId} is not available.");
            double[] next = _rule.Apply(basis.Values, sum, contributors);
            lock (_gate)
            {
                round.Release = new ModelRelease(_latest.Version + 1, contract.RoundId, next, roundEpsilon, totalEpsilon);
                round.Sum = sum;
            }
        }

        ModelRelease release = round.Release;
        await _events.OnModelReleasedAsync(release, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _models[release.Version] = release;
            _latest = release;
            foreach (ulong old in _models.Keys.Where(v => v + RecentRounds < release.Version && v != 1).ToList())
            {
                _models.Remove(old);
            }
        }

        Interlocked.Increment(ref _released);
        return new RoundFinished(contract, ServerRoundOutcome.Released, contributors, round.Sum, release, dropped, null);
    }

    private static ServerRoundOutcome AbortOutcome(RoundOutcome outcome) => outcome switch
    {
        RoundOutcome.AbortedTooFewClients => ServerRoundOutcome.AbortedTooFewClients,
        RoundOutcome.AbortedReconstructionFailed => ServerRoundOutcome.AbortedReconstructionFailed,
        _ => ServerRoundOutcome.AbortedByOperator,
    };

    private static Dictionary<string, DropReason> DroppedCallers(ActiveRound round) =>
        round.Session.Dropped.ToDictionary(kv => round.Cohort[kv.Key - 1], kv => kv.Value, StringComparer.Ordinal);

    private static SubmitReply Refused(RoundRefusal refusal, string? detail, DateTimeOffset deadline) =>
        new(SubmitOutcome.Refused, refusal, detail, deadline);

    private void NotifyDropped(ActiveRound round, int number, DropReason reason)
    {
        if (round.NotifiedDrops.TryAdd(number, reason))
        {
            _events.OnClientDropped(round.Plan.Contract.RoundId, round.Cohort[number - 1], reason);
        }
    }

    private void SignalIfReady(ActiveRound round)
    {
        if (round.Session.IsReadyToClose)
        {
            Signal();
        }
    }

    private void Signal()
    {
        TaskCompletionSource previous;
        lock (_gate)
        {
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }

    private sealed class ActiveRound
    {
        private long _deadlineTicks;
        private long _lastTakenTicks;
        private bool _committing;

        public ActiveRound(RoundPlan plan, List<string> cohort, SecAggServerSession session, DateTimeOffset now, DateTimeOffset deadline)
        {
            Plan = plan;
            Cohort = cohort;
            Session = session;
            Numbers = cohort.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i + 1, StringComparer.Ordinal);
            PhaseStartedAt = now;
            PhaseStartedAtPrevious = now;
            Deadline = deadline;
            AdvertiseDeadline = deadline;
        }

        public RoundPlan Plan { get; }

        public List<string> Cohort { get; }

        public SecAggServerSession Session { get; }

        public Dictionary<string, int> Numbers { get; }

        public System.Collections.Concurrent.ConcurrentDictionary<int, DropReason> NotifiedDrops { get; } = new();

        public DateTimeOffset PhaseStartedAt { get; set; }

        public DateTimeOffset PhaseStartedAtPrevious { get; set; }

        public DateTimeOffset Deadline
        {
            get => new(Interlocked.Read(ref _deadlineTicks), TimeSpan.Zero);
            set => Interlocked.Exchange(ref _deadlineTicks, value.UtcTicks);
        }

        public DateTimeOffset AdvertiseDeadline { get; }

        /// <summary>When the session last took a client message (the early close's quiet period runs from it).</summary>
        public DateTimeOffset LastTaken
        {
            get => new(Interlocked.Read(ref _lastTakenTicks), TimeSpan.Zero);
            set => Interlocked.Exchange(ref _lastTakenTicks, value.UtcTicks);
        }

        public bool Finished { get; set; }

        /// <summary>The session moved on but the transition's store writes have not all succeeded.</summary>
        public bool Committing
        {
            get => Volatile.Read(ref _committing);
            set => Volatile.Write(ref _committing, value);
        }

        public PhaseClosed? PendingClose { get; set; }

        public ModelRelease? Release { get; set; }

        public double[]? Sum { get; set; }

        public RoundFinished? Result { get; set; }
    }
}
