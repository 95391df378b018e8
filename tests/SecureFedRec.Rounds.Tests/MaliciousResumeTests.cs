using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Roster;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Tests;

/// <summary>
/// Round resume in malicious mode (the default): the journal carries the identity key each member's signatures were
/// verified under, the replay verifies them again under those keys, and a round that continues needs every member still
/// in it to be a current roster member under the name and key it opened with — otherwise the resume is refused with a
/// typed <see cref="RoundResumeRefusal"/> (the coordinator aborts the round: nothing charged, nothing released). A round
/// whose journal ends in a terminal close is finished whatever the roster says (its charge may already be recorded).
/// </summary>
public sealed class MaliciousResumeTests
{
    private const int N = 5;

    /// <summary>Harary rounds need a larger cohort for the finder's threshold to meet the clients' floor (t ≥ 3).</summary>
    private const int HararyN = 10;

    private static int CohortOf(GraphSelection graph) => graph == GraphSelection.Harary ? HararyN : N;

    /// <summary>
    /// The coordinator's roster lookup, editable between "crash" and "restart": the consortium's answer unless a caller is
    /// revoked (no identity) or re-identified (another name or key).
    /// </summary>
    private sealed class EditableRoster(Consortium consortium)
    {
        private readonly Dictionary<string, CohortIdentity?> _changed = new(StringComparer.Ordinal);

        public int Lookups { get; private set; }

        public void Revoke(int index) => _changed[Harness.Caller(index)] = null;

        public void Replace(int index, CohortIdentity identity) => _changed[Harness.Caller(index)] = identity;

        public async Task<CohortIdentity?> IdentityOf(string caller, CancellationToken cancellationToken)
        {
            Lookups++;
            return _changed.TryGetValue(caller, out CohortIdentity? changed) ? changed : await consortium.IdentityOf(caller, cancellationToken);
        }
    }

    private sealed record Run(ClientRoundResult[] Results, MemoryPrivacyLedger[] ClientLedgers);

    private static RoundSettings Settings(GraphSelection graph) =>
        MaliciousHarness.Settings() with { Graph = graph, HararyFromClients = 2 };

    private static RoundHost NewHost(EditableRoster roster, GraphSelection graph, IPrivacyLedger ledger, RoundJournal journal, RoundHostEvents? events = null,
        TimeSpan? phase = null) =>
        new(new RoundHostOptions
        {
            Settings = Settings(graph),
            CohortSize = CohortOf(graph),
            MinClients = 3,
            Random = new DeterministicRandomSource(Harness.Seed("cohort", 1)),
            IdentityOf = roster.IdentityOf,
            Journal = journal,
            PhaseTimeout = phase ?? TimeSpan.FromSeconds(20),
        }, new ModelRelease(1, 0, new double[Harness.Dimension], 0, 0), ledger, new FedAvgRule(), events ?? new RecordingEvents());

    /// <summary>One malicious round over <paramref name="service"/>, ticking whichever host it forwards to.</summary>
    private static async Task<Run> RunAsync(Consortium consortium, RestartableService service, Func<RoundHost, Task>? onTick = null, int? silentClient = null)
    {
        int clients = service.Host.Options.CohortSize;
        var ledgers = Enumerable.Range(0, clients).Select(_ => new MemoryPrivacyLedger(new PrivacyBudget(1e6, 1e-3))).ToArray();
        var rounds = Enumerable.Range(0, clients)
            .Select(i => MaliciousHarness.Client(consortium, i, ledgers[i], silentAfter: i == silentClient ? Phase.AdvertiseKeys : null)).ToList();
        var tasks = rounds.Select((c, i) => Task.Run(() => c.RunAsync(new RetryingTransport(new InProcessRoundTransport(service, Harness.Caller(i)))))).ToList();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        while (!tasks.All(t => t.IsCompleted))
        {
            RoundHost host = service.Host;
            try
            {
                await host.TickAsync(cancellationToken: timeout.Token);
            }
            catch (IOException)
            {
                // A journal outage: the tick retries the same write next time.
            }

            if (onTick is not null)
            {
                await onTick(host);
            }

            await Task.Delay(5, timeout.Token);
        }

        return new Run(await Task.WhenAll(tasks), ledgers);
    }

    /// <summary>The uninterrupted round of each graph (computed once: its model depends on the seeds only).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<GraphSelection, Lazy<Task<ModelRelease>>> Baselines = new();

    /// <summary>One finished round's journal, shared by the tampering rows (each tampers with a copy).</summary>
    private static readonly Lazy<Task<(Consortium Consortium, MemoryJournal Journal)>> Finished = new(async () =>
    {
        var consortium = new Consortium(N);
        var journal = new MemoryJournal();
        await RunAsync(consortium, new RestartableService(NewHost(new EditableRoster(consortium), GraphSelection.Full, new CountingLedger(), journal)));
        return (consortium, journal);
    });

    private static Task<ModelRelease> UninterruptedAsync(GraphSelection graph) =>
        Baselines.GetOrAdd(graph, g => new Lazy<Task<ModelRelease>>(async () =>
        {
            using var consortium = new Consortium(CohortOf(g));
            return await UninterruptedCoreAsync(consortium, g);
        })).Value;

    private static async Task<ModelRelease> UninterruptedCoreAsync(Consortium consortium, GraphSelection graph)
    {
        var journal = new MemoryJournal();
        RoundHost host = NewHost(new EditableRoster(consortium), graph, new CountingLedger(), journal);
        Run run = await RunAsync(consortium, new RestartableService(host));
        Assert.All(run.Results, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.Equal(CohortOf(graph), journal.Opened!.Identities!.Count);
        return host.Latest;
    }

    /// <summary>Crashes the host the first time <paramref name="crashIn"/> is open; <paramref name="beforeRestart"/> edits the roster.</summary>
    private static Func<RoundHost, Task> CrashIn(Phase crashIn, RestartableService service, Func<RoundHost> restart, MemoryJournal journal,
        Action<Phase?> crashed, Action? beforeRestart = null, Action<RoundJournalException>? refused = null, Func<bool>? when = null)
    {
        bool done = false;
        return async host =>
        {
            if (!done && host.Current.Phase == crashIn && (when is null || when()))
            {
                done = true;

                // Let the phase collect some of its messages, then lose everything that is not in the journal.
                await Task.Delay(20);
                beforeRestart?.Invoke();
                try
                {
                    await service.CrashAndResumeAsync(restart, journal.Resume());
                    crashed(service.Host.Current.Phase);
                }
                catch (RoundJournalException ex)
                {
                    crashed(null);
                    refused?.Invoke(ex);
                }
            }
        };
    }

    [Theory]
    [InlineData(GraphSelection.Full, Phase.AdvertiseKeys)]
    [InlineData(GraphSelection.Full, Phase.ShareKeys)]
    [InlineData(GraphSelection.Full, Phase.MaskedInput)]
    [InlineData(GraphSelection.Full, Phase.ConsistencyCheck)]
    [InlineData(GraphSelection.Full, Phase.Unmasking)]
    [InlineData(GraphSelection.Harary, Phase.AdvertiseKeys)]
    [InlineData(GraphSelection.Harary, Phase.RelabelReveal)]
    [InlineData(GraphSelection.Harary, Phase.ShareKeys)]
    [InlineData(GraphSelection.Harary, Phase.ConsistencyCheck)]
    [InlineData(GraphSelection.Harary, Phase.Unmasking)]
    public async Task A_malicious_round_lost_in_a_phase_resumes_under_the_journaled_keys_and_releases_the_same_model_once(GraphSelection graph, Phase crashIn)
    {
        using var consortium = new Consortium(CohortOf(graph));
        ModelRelease expected = await UninterruptedAsync(graph);
        var roster = new EditableRoster(consortium);
        var ledger = new CountingLedger();
        var journal = new MemoryJournal();
        var service = new RestartableService(NewHost(roster, graph, ledger, journal));
        Phase? resumedIn = Phase.Unspecified;
        Run run = await RunAsync(consortium, service, CrashIn(crashIn, service, () => NewHost(roster, graph, ledger, journal), journal, p => resumedIn = p));

        Assert.True(resumedIn >= crashIn || (crashIn == Phase.RelabelReveal && resumedIn is Phase.ShareKeys or Phase.MaskedInput),
            $"resumed in {resumedIn}");
        Assert.Equal(graph == GraphSelection.Harary ? Protocol.Graph.GraphKind.Harary : Protocol.Graph.GraphKind.Full, service.Host.LastPlan!.Graph);
        Assert.All(run.Results, r => Assert.Equal((ClientRoundOutcome.Completed, 1UL), (r.Outcome, r.RoundId)));
        ModelRelease released = service.Host.Latest;
        Assert.Equal((2UL, 1UL), (released.Version, released.RoundId));
        Assert.Equal(expected.Values, released.Values);
        Assert.Equal(expected.Epsilon, released.Epsilon);
        Assert.Single(ledger.Entries);
        Assert.Single(ledger.Charges);
        Assert.All(run.ClientLedgers, l => Assert.Equal(ReservationState.Disclosed, Assert.Single(l.Reservations).State));
    }

    [Fact]
    public async Task A_journal_without_identity_keys_resumes_under_the_members_current_keys()
    {
        // A journal written before the keys were journaled: the replay re-resolves each member from the roster.
        using var consortium = new Consortium(N);
        ModelRelease expected = await UninterruptedAsync(GraphSelection.Full);
        var roster = new EditableRoster(consortium);
        var ledger = new CountingLedger();
        var journal = new MemoryJournal();
        var service = new RestartableService(NewHost(roster, GraphSelection.Full, ledger, journal));
        bool crashed = false;
        Run run = await RunAsync(consortium, service, async host =>
        {
            if (!crashed && host.Current.Phase == Phase.ConsistencyCheck)
            {
                crashed = true;
                await Task.Delay(20);
                await service.CrashAndResumeAsync(() => NewHost(roster, GraphSelection.Full, ledger, journal), journal.Resume() with { Identities = null });
            }
        });

        Assert.True(crashed);
        Assert.All(run.Results, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.Equal(expected.Values, service.Host.Latest.Values);
        Assert.Single(ledger.Charges);
    }

    public static TheoryData<string, Phase, RoundResumeRefusal> RosterChanges => new()
    {
        { "revoked", Phase.ShareKeys, RoundResumeRefusal.IdentityRevoked },
        { "revoked", Phase.MaskedInput, RoundResumeRefusal.IdentityRevoked },
        { "revoked", Phase.ConsistencyCheck, RoundResumeRefusal.IdentityRevoked },
        { "revoked", Phase.Unmasking, RoundResumeRefusal.IdentityRevoked },
        { "re-keyed", Phase.ShareKeys, RoundResumeRefusal.IdentityChanged },
        { "re-keyed", Phase.ConsistencyCheck, RoundResumeRefusal.IdentityChanged },
        { "renamed", Phase.ShareKeys, RoundResumeRefusal.IdentityChanged },
        { "other-organisation", Phase.MaskedInput, RoundResumeRefusal.IdentityChanged },
    };

    [Theory]
    [MemberData(nameof(RosterChanges))]
    public async Task A_member_whose_roster_identity_changed_before_the_restart_aborts_the_round_with_a_typed_reason_and_nothing_charged(
        string change, Phase crashIn, RoundResumeRefusal expected)
    {
        using var consortium = new Consortium(N);
        using var other = IdentitySigningKey.Generate(IdentitySuite.Ed25519, new DeterministicRandomSource(Harness.Seed("re-keyed", 1)));
        var roster = new EditableRoster(consortium);
        var ledger = new CountingLedger();
        var journal = new MemoryJournal();
        var service = new RestartableService(NewHost(roster, GraphSelection.Full, ledger, journal));
        RoundJournalException? refused = null;
        Phase? resumedIn = Phase.Unspecified;
        const int Member = 2;
        MemberName name = consortium.Name(Member);
        Run run = await RunAsync(consortium, service, CrashIn(crashIn, service, () => NewHost(roster, GraphSelection.Full, ledger, journal), journal,
            p => resumedIn = p, beforeRestart: () =>
            {
                switch (change)
                {
                    case "revoked":
                        roster.Revoke(Member);
                        break;
                    case "re-keyed":
                        roster.Replace(Member, new CohortIdentity(name.Organisation, name.ClientId, other.PublicIdentity));
                        break;
                    case "renamed":
                        roster.Replace(Member, new CohortIdentity(name.Organisation, name.ClientId + "-renamed", consortium.Key(Member).PublicIdentity));
                        break;
                    case "other-organisation":
                        roster.Replace(Member, new CohortIdentity("org-z", name.ClientId, consortium.Key(Member).PublicIdentity));
                        break;
                }
            }, refused: ex => refused = ex));

        Assert.Null(resumedIn);
        Assert.NotNull(refused);
        Assert.Equal(expected, refused.Refusal);
        Assert.StartsWith("Round 1: cohort member 3 (client-0002", refused.Message, StringComparison.Ordinal);

        // Nothing resumed: the restarted host has no round, the clients learn theirs is gone, the ledger is untouched.
        Assert.Equal(0UL, service.Host.Current.RoundId);
        Assert.All(run.Results, r => Assert.Equal((ClientRoundOutcome.Aborted, RoundRefusal.UnknownRound), (r.Outcome, r.Refusal)));
        Assert.Empty(ledger.Charges);
        Assert.Empty(ledger.Entries);
        Assert.Equal(1UL, service.Host.Latest.Version);

        // Each client's reservation is resolved (never left pending): refunded when nothing was disclosed yet.
        Assert.All(run.ClientLedgers, l => Assert.NotEqual(ReservationState.Pending, Assert.Single(l.Reservations).State));
        if (crashIn < Phase.MaskedInput)
        {
            Assert.All(run.ClientLedgers, l => Assert.Equal(ReservationState.Released, Assert.Single(l.Reservations).State));
        }
    }

    [Fact]
    public async Task A_member_revoked_after_it_dropped_out_does_not_stop_the_round()
    {
        // Client 4 falls silent after AdvertiseKeys (dropped at the ShareKeys close); its revocation changes nothing.
        using var consortium = new Consortium(N);
        var roster = new EditableRoster(consortium);
        var ledger = new CountingLedger();
        var journal = new MemoryJournal();
        TimeSpan phase = TimeSpan.FromSeconds(3);
        var service = new RestartableService(NewHost(roster, GraphSelection.Full, ledger, journal, phase: phase));
        Phase? resumedIn = Phase.Unspecified;
        Run run = await RunAsync(consortium, service, CrashIn(Phase.MaskedInput, service,
            () => NewHost(roster, GraphSelection.Full, ledger, journal, phase: phase), journal, p => resumedIn = p, beforeRestart: () => roster.Revoke(4)),
            silentClient: 4);

        Assert.True(resumedIn >= Phase.MaskedInput, $"resumed in {resumedIn}");
        Assert.All(run.Results.Take(4), r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.Equal(2UL, service.Host.Latest.Version);
        Assert.Single(ledger.Entries);
    }

    [Fact]
    public async Task A_round_charged_before_the_crash_is_released_on_resume_even_if_a_member_was_revoked_since()
    {
        // The crash fell between the ledger charge and the model's store write; revoking a member now must not lose the ε.
        using var consortium = new Consortium(N);
        ModelRelease expected = await UninterruptedAsync(GraphSelection.Full);
        var roster = new EditableRoster(consortium);
        var ledger = new CountingLedger();
        var journal = new MemoryJournal();
        var dying = new FailingReleaseEvents();
        var service = new RestartableService(NewHost(roster, GraphSelection.Full, ledger, journal, dying));
        bool crashed = false;
        Run run = await RunAsync(consortium, service, async host =>
        {
            if (!crashed && dying.Attempts > 0)
            {
                crashed = true;
                roster.Revoke(1);
                roster.Replace(2, new CohortIdentity("org-z", "someone-else", consortium.Key(3).PublicIdentity));
                await service.CrashAndResumeAsync(() => NewHost(roster, GraphSelection.Full, ledger, journal), journal.Resume());
                Assert.Equal(Phase.Completed, service.Host.Current.Phase);
            }
        });

        Assert.True(crashed);
        Assert.All(run.Results, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.Equal(expected.Values, service.Host.Latest.Values);
        LedgerEntry entry = Assert.Single(ledger.Entries);
        Assert.Equal(entry.RoundEpsilon, service.Host.Latest.Epsilon);
    }

    public static TheoryData<string, RoundResumeRefusal> JournaledKeyTampering => new()
    {
        { "one-key-missing", RoundResumeRefusal.InvalidPlan },
        { "invalid-key", RoundResumeRefusal.InvalidPlan },
        { "same-key-twice", RoundResumeRefusal.InvalidPlan },
        { "swapped-keys", RoundResumeRefusal.Diverged },
    };

    [Theory]
    [MemberData(nameof(JournaledKeyTampering))]
    public async Task Journaled_identity_keys_that_are_not_the_ones_the_round_verified_are_refused(string tampering, RoundResumeRefusal expected)
    {
        (Consortium consortium, MemoryJournal journal) = await Finished.Value;
        var roster = new EditableRoster(consortium);
        var keys = journal.Opened!.Identities!.ToList();
        switch (tampering)
        {
            case "one-key-missing":
                keys.RemoveAt(N - 1);
                break;
            case "invalid-key":
                keys[0] = new IdentityPublicKey(IdentitySuite.Ed25519, new byte[31]);
                break;
            case "same-key-twice":
                keys[1] = keys[0];
                break;
            case "swapped-keys":
                (keys[0], keys[1]) = (keys[1], keys[0]);
                break;
        }

        RoundHost fresh = NewHost(roster, GraphSelection.Full, new CountingLedger(), new MemoryJournal());
        RoundJournalException ex = await Assert.ThrowsAsync<RoundJournalException>(() => fresh.ResumeAsync(journal.Resume() with { Identities = keys }));
        Assert.Equal(expected, ex.Refusal);
        Assert.Equal(0UL, fresh.Current.RoundId);
    }

    /// <summary>The release's store write never succeeds (the host "crashes" after charging).</summary>
    private sealed class FailingReleaseEvents : RoundHostEvents
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public override Task OnModelReleasedAsync(ModelRelease release, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            throw new IOException("store down (injected)");
        }
    }
}
