using System.Runtime.CompilerServices;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Session;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Server;

/// <summary>The round journal (<see cref="RoundHostOptions.Journal"/>) and resume after a crash.</summary>
public sealed partial class RoundHost
{
    private readonly ConditionalWeakTable<ActiveRound, JournalState> _journals = [];

    /// <summary>
    /// SubmitPhase, acknowledged once durable: <see cref="Submit"/>, then, with a <see cref="RoundHostOptions.Journal"/>,
    /// waits until every message the round's session has taken so far is in the journal. A failed journal write throws
    /// (the caller sees it as unavailable and retries the same message, which the session takes as a safe resubmission
    /// and which is then written again).
    /// </summary>
    public async Task<SubmitReply> SubmitAsync(string caller, ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        SubmitReply reply = Submit(caller, roundId, phase, message);
        ActiveRound? round;
        lock (_gate)
        {
            _recent.TryGetValue(roundId, out round);
        }

        if (round is not null)
        {
            await FlushJournalAsync(round, cancellationToken).ConfigureAwait(false);
        }

        return reply;
    }

    /// <summary>
    /// Rebuilds a journaled round after a crash and makes it the open round, under its own id: a new session from the
    /// round's plan, every journaled message fed to it and every journaled close applied, in journal order. The session is
    /// deterministic (no clock, no randomness), so the rebuilt round has the same survivors and has published the same
    /// messages; each close is checked against the survivor set it recorded. The open phase's deadline is re-armed from
    /// now (the full deadline of that phase: its clients were waiting on a coordinator that was down). A round whose
    /// journal ends in a terminal close is finished by the next <see cref="TickAsync"/> (released or aborted; the ledger
    /// charges it at most once: a charge recorded before the crash stands).
    /// </summary>
    /// <returns>The phase the round resumed in.</returns>
    /// <exception cref="InvalidOperationException">A round is already open in this host.</exception>
    /// <exception cref="RoundJournalException">The round cannot be resumed (<see cref="RoundJournalException.Refusal"/>): the
    /// journal does not replay (a gap, an undecodable entry, a message the session would not take again, a close whose
    /// outcome differs), its plan does not open a session, or — malicious mode, the round not yet finished — a member still
    /// in it has no current roster identity or another name or key than the round opened with. Nothing was resumed.</exception>
    public async Task<Phase> ResumeAsync(RoundResume resume, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(resume);
        ArgumentNullException.ThrowIfNull(resume.Plan);
        ArgumentNullException.ThrowIfNull(resume.Cohort);
        ArgumentNullException.ThrowIfNull(resume.Entries);
        lock (_gate)
        {
            if (_round is { Finished: false })
            {
                throw new InvalidOperationException("A round is already open; resume happens at start-up, before any round opens.");
            }
        }

        RoundContract contract = resume.Plan.Contract;
        int n = resume.Cohort.Count;
        if (n < 2 || resume.Cohort.Distinct(StringComparer.Ordinal).Count() != n)
        {
            throw new RoundJournalException($"Round {contract.RoundId}: the journaled cohort is not a set of at least two callers.", RoundResumeRefusal.InvalidPlan);
        }

        // Malicious mode: the journaled signatures replay under the keys the round opened with; a journal without them
        // (written before keys were journaled) replays under the members' current keys, which must match the contract.
        bool malicious = contract.Mode == ThreatMode.Malicious;
        IReadOnlyDictionary<int, IdentityPublicKey>? identities = null;
        if (malicious)
        {
            identities = resume.Identities is { } journaled
                ? JournaledIdentities(contract, n, journaled)
                : await CurrentIdentitiesAsync(contract, resume.Cohort, null, [], cancellationToken).ConfigureAwait(false);
        }

        SecAggServerSession session;
        try
        {
            session = await StartSessionAsync(resume.Plan, resume.Cohort, identities, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            throw new RoundJournalException($"Round {contract.RoundId}: the journaled plan does not open a session: {ex.Message}", RoundResumeRefusal.InvalidPlan);
        }

        DateTimeOffset now = _time.GetUtcNow();
        var state = new JournalState();
        long last = 0;
        foreach (RoundJournalEntry entry in resume.Entries)
        {
            if (entry.Sequence != last + 1)
            {
                throw Diverged(contract, entry.Sequence, $"expected entry {last + 1}");
            }

            last = entry.Sequence;
            Replay(session, contract, entry, state);
        }

        // A round that continues needs every member still in it to be a current roster member under the key it opened
        // with (a revoked or re-keyed member must not go on signing or unmasking). A round whose journal ends in a
        // terminal close has no member left to act: its outcome (and any ledger charge) is already fixed, so it is finished.
        if (malicious && resume.Identities is not null && !session.IsTerminal)
        {
            await CurrentIdentitiesAsync(contract, resume.Cohort, identities, session.Dropped.Keys.ToHashSet(), cancellationToken).ConfigureAwait(false);
        }

        var round = new ActiveRound(resume.Plan, resume.Cohort.ToList(), session, now, now + _options.TimeoutOf(session.Phase, n));
        foreach ((int number, DropReason reason) in session.Dropped)
        {
            round.NotifiedDrops.TryAdd(number, reason);
        }

        (state.Next, state.Durable) = (last + 1, last);
        foreach (int number in session.Dropped.Keys)
        {
            state.DropJournaled.Add(number);
        }

        _journals.AddOrUpdate(round, state);

        // A journal that ends in a terminal close: the round is decoded, charged and released (or its abort recorded) by
        // the next tick, as if the crash had happened just after that close's write.
        round.Committing = session.IsTerminal;
        lock (_gate)
        {
            _round = round;
            _recent[contract.RoundId] = round;
            _nextRoundId = Math.Max(_nextRoundId, contract.RoundId + 1);
            _opening.Clear();
            foreach (string member in round.Cohort)
            {
                _waiting.Remove(member);
            }
        }

        Signal();
        return session.Phase;
    }

    private static void Replay(SecAggServerSession session, RoundContract contract, RoundJournalEntry entry, JournalState state)
    {
        switch (entry.Kind)
        {
            case RoundJournalEntryKind.Message when entry.TryReadMessage(out int client, out Phase phase, out ClientToServer? message):
                if (session.Phase != phase)
                {
                    throw Diverged(contract, entry.Sequence, $"a {phase} message while {session.Phase} is open");
                }

                ServerSessionStep step = session.Handle(client, message);
                if (step.Outcome is not (ServerSessionOutcome.Accepted or ServerSessionOutcome.Dropped))
                {
                    throw Diverged(contract, entry.Sequence, $"client {client}'s message is now {step.Outcome} ({step.Detail})");
                }

                break;
            case RoundJournalEntryKind.PhaseClosed when entry.TryReadClose(out Phase closed, out Phase next, out IReadOnlyDictionary<int, DropReason>? dropped):
                if (session.Phase != closed)
                {
                    throw Diverged(contract, entry.Sequence, $"a close of {closed} while {session.Phase} is open");
                }

                Phase reached = session.Close();
                IReadOnlyDictionary<int, DropReason> actual = session.Dropped;
                if (reached != next || actual.Count != dropped.Count || actual.Any(kv => !dropped.TryGetValue(kv.Key, out DropReason r) || r != kv.Value))
                {
                    throw Diverged(contract, entry.Sequence, $"closing {closed} now reaches {reached} with {actual.Count} dropped; the journal recorded {next} with {dropped.Count}");
                }

                break;
            default:
                throw Diverged(contract, entry.Sequence, $"an undecodable {entry.Kind} entry");
        }
    }

    private static RoundJournalException Diverged(RoundContract contract, long sequence, string what) =>
        new($"Round {contract.RoundId}: journal entry {sequence} does not replay: {what}.", RoundResumeRefusal.Diverged);

    /// <summary>The journaled identity keys by protocol number: one valid key per member, no key twice.</summary>
    private static Dictionary<int, IdentityPublicKey> JournaledIdentities(RoundContract contract, int n, IReadOnlyList<IdentityPublicKey> journaled)
    {
        if (journaled.Count != n || journaled.Any(k => !k.IsValid) || journaled.Select(k => k.ToString()).Distinct(StringComparer.Ordinal).Count() != n)
        {
            throw new RoundJournalException($"Round {contract.RoundId}: the journaled identity keys are not one valid, distinct key per cohort member.",
                RoundResumeRefusal.InvalidPlan);
        }

        return journaled.Select((key, i) => (key, i)).ToDictionary(x => x.i + 1, x => x.key);
    }

    /// <summary>
    /// Each cohort member's current roster identity (<see cref="RoundHostOptions.IdentityOf"/>), members in
    /// <paramref name="skip"/> (already out of the round) excepted: it must exist
    /// (<see cref="RoundResumeRefusal.IdentityRevoked"/>), carry the name the contract lists for the member and, when
    /// <paramref name="expected"/> is given, the key the round opened with (<see cref="RoundResumeRefusal.IdentityChanged"/>).
    /// </summary>
    private async Task<Dictionary<int, IdentityPublicKey>> CurrentIdentitiesAsync(RoundContract contract, IReadOnlyList<string> cohort,
        IReadOnlyDictionary<int, IdentityPublicKey>? expected, HashSet<int> skip, CancellationToken cancellationToken)
    {
        var current = new Dictionary<int, IdentityPublicKey>(cohort.Count);
        for (int number = 1; number <= cohort.Count; number++)
        {
            if (skip.Contains(number))
            {
                continue;
            }

            string caller = cohort[number - 1];
            CohortEntry? listed = contract.Cohort.FirstOrDefault(e => e.ClientNumber == number);
            if (listed is null)
            {
                throw new RoundJournalException($"Round {contract.RoundId}: the journaled contract lists no cohort entry for member {number}.", RoundResumeRefusal.InvalidPlan);
            }

            CohortIdentity? identity = _options.IdentityOf is null ? null : await _options.IdentityOf(caller, cancellationToken).ConfigureAwait(false);
            if (identity is null)
            {
                throw new RoundJournalException(
                    $"Round {contract.RoundId}: cohort member {number} ({caller}, {listed.Organisation}/{listed.ClientId}) has no current roster identity.",
                    RoundResumeRefusal.IdentityRevoked);
            }

            if (identity.Organisation != listed.Organisation || identity.ClientId != listed.ClientId
                || (expected is not null && !expected[number].SameAs(identity.Key)))
            {
                throw new RoundJournalException(
                    $"Round {contract.RoundId}: cohort member {number} ({caller}) is now {identity.Organisation}/{identity.ClientId} under key {identity.Key}; "
                    + $"the round opened with {listed.Organisation}/{listed.ClientId}" + (expected is null ? "." : $" under key {expected[number]}."),
                    RoundResumeRefusal.IdentityChanged);
            }

            current[number] = identity.Key;
        }

        return current;
    }

    /// <summary>Writes the plan of a round about to open, and starts its journal. No-op without a journal.</summary>
    private async Task JournalOpenedAsync(ActiveRound round, Dictionary<int, IdentityPublicKey>? identities, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (_options.Journal is not { } journal)
        {
            return;
        }

        var opened = new RoundOpened(round.Plan, round.Cohort, now)
        {
            Identities = identities is null ? null : Enumerable.Range(1, round.Cohort.Count).Select(number => identities[number]).ToArray(),
        };
        await journal.OpenAsync(opened, cancellationToken).ConfigureAwait(false);
        _journals.AddOrUpdate(round, new JournalState());
    }

    /// <summary>
    /// Queues a message the session took (called under the round's lock, so the journal has the session's order).
    /// Accepted messages, and the first message that found its sender dropped (by this message or earlier: replaying it
    /// reproduces the drop or changes nothing), are journaled; refusals leave the session untouched and are not.
    /// </summary>
    private void JournalHandled(ActiveRound round, int number, ClientToServer message, ServerSessionStep step)
    {
        if (!_journals.TryGetValue(round, out JournalState? state))
        {
            return;
        }

        lock (state.Gate)
        {
            if (step.Outcome == ServerSessionOutcome.Accepted || (step.Outcome == ServerSessionOutcome.Dropped && state.DropJournaled.Add(number)))
            {
                RoundJournalEntry entry = RoundJournalEntry.ForMessage(state.Next++, number, step.Phase, message);
                state.Pending.Add(entry);
            }
        }
    }

    /// <summary>
    /// Whether the round took exactly this message from <paramref name="number"/> for <paramref name="phase"/> (journaled
    /// rounds only): a client whose acknowledgement was lost — the journal write failed, or the coordinator restarted —
    /// retries it, possibly after the phase closed, and is told it was accepted rather than that the phase is closed.
    /// </summary>
    private bool WasTaken(ActiveRound round, int number, Phase phase, ClientToServer message) =>
        _journals.TryGetValue(round, out _) && round.Session.Took(number, phase, message);

    /// <summary>Queues a phase close (under the round's lock, right after the session closed it).</summary>
    private void JournalClosed(ActiveRound round, Phase closed, Phase next)
    {
        if (!_journals.TryGetValue(round, out JournalState? state))
        {
            return;
        }

        IReadOnlyDictionary<int, DropReason> dropped = round.Session.Dropped;
        lock (state.Gate)
        {
            foreach (int number in dropped.Keys)
            {
                state.DropJournaled.Add(number);
            }

            state.Pending.Add(RoundJournalEntry.ForClose(state.Next++, closed, next, dropped));
        }
    }

    /// <summary>
    /// Makes every entry queued so far durable: one writer at a time per round, each writing all that is pending (so
    /// concurrent submissions share one write). Throws what the journal throws; the entries stay queued for the next flush.
    /// </summary>
    private async Task FlushJournalAsync(ActiveRound round, CancellationToken cancellationToken)
    {
        if (_options.Journal is not { } journal || !_journals.TryGetValue(round, out JournalState? state))
        {
            return;
        }

        long target;
        lock (state.Gate)
        {
            target = state.Next - 1;
            if (state.Durable >= target)
            {
                return;
            }
        }

        await state.Writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<RoundJournalEntry> batch;
            lock (state.Gate)
            {
                if (state.Durable >= target)
                {
                    return;
                }

                batch = [.. state.Pending];
            }

            await journal.AppendAsync(round.Plan.Contract.RoundId, batch, cancellationToken).ConfigureAwait(false);
            lock (state.Gate)
            {
                state.Pending.RemoveRange(0, batch.Count);
                state.Durable = batch[^1].Sequence;
            }
        }
        finally
        {
            state.Writer.Release();
        }
    }

    /// <summary>The journal of one round: entries queued in session order, the last durable sequence, one writer.</summary>
    private sealed class JournalState
    {
        public Lock Gate { get; } = new();

        /// <summary>Held while a batch is being written (never disposed: no wait handle is ever created).</summary>
        public SemaphoreSlim Writer { get; } = new(1, 1);

        public List<RoundJournalEntry> Pending { get; } = [];

        public HashSet<int> DropJournaled { get; } = [];

        public long Next { get; set; } = 1;

        public long Durable { get; set; }
    }
}
