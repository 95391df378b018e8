using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Tests;

/// <summary>A journal in memory: what a store would hold (only what was durable when a "crash" happens).</summary>
internal sealed class MemoryJournal : RoundJournal
{
    private readonly Lock _gate = new();
    private readonly List<RoundJournalEntry> _entries = [];

    public RoundOpened? Opened { get; private set; }

    /// <summary>While set, every write throws (a store outage).</summary>
    public bool Failing { get; set; }

    public int Writes { get; private set; }

    public IReadOnlyList<RoundJournalEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    public RoundResume Resume() => new(Opened!.Plan, Opened.Cohort, Entries) { Identities = Opened.Identities };

    public override Task OpenAsync(RoundOpened opened, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            throw new IOException("journal down (injected)");
        }

        lock (_gate)
        {
            Opened = opened;
            _entries.Clear();
        }

        return Task.CompletedTask;
    }

    public override Task AppendAsync(ulong roundId, IReadOnlyList<RoundJournalEntry> entries, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            throw new IOException("journal down (injected)");
        }

        lock (_gate)
        {
            // The host's contract: contiguous batches following the last durable entry.
            long next = _entries.Count == 0 ? 1 : _entries[^1].Sequence + 1;
            Assert.Equal(next, entries[0].Sequence);
            Assert.Equal(Enumerable.Range(0, entries.Count).Select(i => next + i), entries.Select(e => e.Sequence));
            _entries.AddRange(entries);
            Writes++;
        }

        return Task.CompletedTask;
    }
}

/// <summary>Retries what failed with an I/O error (the SDK retries UNAVAILABLE the same way).</summary>
internal sealed class RetryingTransport(IRoundTransport inner) : IRoundTransport
{
    public Task<JoinReply> JoinAsync(CancellationToken cancellationToken) => RetryAsync(() => inner.JoinAsync(cancellationToken));

    public Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken) =>
        RetryAsync(() => inner.SubmitAsync(roundId, phase, message, cancellationToken));

    public Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken) => RetryAsync(() => inner.FetchAsync(roundId, phase, cancellationToken));

    public Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken) => RetryAsync(() => inner.GetModelAsync(version, cancellationToken));

    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (IOException) when (attempt < 500)
            {
                await Task.Delay(10);
            }
        }
    }
}

/// <summary>
/// The clients' view of "the coordinator": forwards to the current host; <see cref="CrashAndResumeAsync"/> waits for
/// in-flight calls, throws the host away and rebuilds it from the journal only (as a restarted coordinator would).
/// </summary>
internal sealed class RestartableService(RoundHost first) : IRoundService
{
    private readonly Lock _gate = new();
    private RoundHost _host = first;
    private TaskCompletionSource _up = Completed();
    private int _inFlight;

    public RoundHost Host
    {
        get
        {
            lock (_gate)
            {
                return _host;
            }
        }
    }

    public async Task CrashAndResumeAsync(Func<RoundHost> restart, RoundResume journal)
    {
        lock (_gate)
        {
            _up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        while (Volatile.Read(ref _inFlight) > 0)
        {
            await Task.Delay(1);
        }

        // A refused resume still brings the fresh host up (as a restarted coordinator that aborted the round would be).
        RoundHost fresh = restart();
        try
        {
            await fresh.ResumeAsync(journal);
        }
        finally
        {
            TaskCompletionSource up;
            lock (_gate)
            {
                _host = fresh;
                up = _up;
            }

            up.SetResult();
        }
    }

    public JoinReply Join(string caller) => Call(h => h.Join(caller));

    public SubmitReply Submit(string caller, ulong roundId, Phase phase, ClientToServer message) => Call(h => h.Submit(caller, roundId, phase, message));

    public async Task<SubmitReply> SubmitAsync(string caller, ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        RoundHost host = await EnterAsync();
        try
        {
            return await host.SubmitAsync(caller, roundId, phase, message, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public FetchReply Fetch(string caller, ulong roundId, Phase phase) => Call(h => h.Fetch(caller, roundId, phase));

    public async Task<ModelRelease?> GetModelAsync(ulong version, CancellationToken cancellationToken)
    {
        RoundHost host = await EnterAsync();
        try
        {
            return await host.GetModelAsync(version, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    private T Call<T>(Func<RoundHost, T> call)
    {
        RoundHost host = EnterAsync().GetAwaiter().GetResult();
        try
        {
            return call(host);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task<RoundHost> EnterAsync()
    {
        while (true)
        {
            Task up;
            lock (_gate)
            {
                up = _up.Task;
                if (up.IsCompleted)
                {
                    Interlocked.Increment(ref _inFlight);
                    return _host;
                }
            }

            await up;
        }
    }
}

/// <summary>
/// Round resume from the journal (RoundHost.Resume.cs): a host thrown away at any phase and rebuilt from what its journal
/// made durable continues the same round with the same clients, releases the same model a round without a crash
/// releases, and charges the ledger once; a journal that does not replay is refused.
/// </summary>
public sealed class ResumeTests
{
    private const int Clients = 4;

    private static double[] Update(int index, UpdateRequest request) =>
        Enumerable.Range(0, request.Model.Values.Length).Select(j => (0.05 * (index + 1)) + (0.01 * j)).ToArray();

    private static RoundHost NewHost(IPrivacyLedger ledger, RoundJournal? journal, RoundHostEvents? events = null) =>
        new(new RoundHostOptions
        {
            Settings = Harness.Settings(),
            CohortSize = Clients,
            Random = new DeterministicRandomSource(Harness.Seed("cohort", 1)),
            Journal = journal,
            PhaseTimeout = TimeSpan.FromSeconds(20),
        }, new ModelRelease(1, 0, new double[Harness.Dimension], 0, 0), ledger, new FedAvgRule(), events ?? new RecordingEvents());

    /// <summary>Runs one round over <paramref name="service"/>, ticking whichever host it currently forwards to.</summary>
    private static async Task<ClientRoundResult[]> RunAsync(RestartableService service, Func<RoundHost, Task>? onTick = null)
    {
        var clients = Enumerable.Range(0, Clients).Select(i => Harness.Client(i, r => Update(i, r))).ToList();
        var tasks = clients.Select((c, i) => Task.Run(() => c.RunAsync(new RetryingTransport(new InProcessRoundTransport(service, Harness.Caller(i)))))).ToList();
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

        return await Task.WhenAll(tasks);
    }

    private static async Task<ModelRelease> UninterruptedAsync()
    {
        RoundHost host = NewHost(new CountingLedger(), new MemoryJournal());
        ClientRoundResult[] results = await RunAsync(new RestartableService(host));
        Assert.All(results, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        return host.Latest;
    }

    [Theory]
    [InlineData(Phase.AdvertiseKeys)]
    [InlineData(Phase.ShareKeys)]
    [InlineData(Phase.MaskedInput)]
    [InlineData(Phase.Unmasking)]
    public async Task A_host_lost_in_a_phase_resumes_from_its_journal_and_releases_what_an_uninterrupted_round_releases(Phase crashIn)
    {
        ModelRelease expected = await UninterruptedAsync();
        var ledger = new CountingLedger();
        var journal = new MemoryJournal();
        var service = new RestartableService(NewHost(ledger, journal));
        bool crashed = false;
        Phase resumedIn = Phase.Unspecified;
        ClientRoundResult[] results = await RunAsync(service, async host =>
        {
            if (!crashed && host.Current.Phase == crashIn)
            {
                crashed = true;

                // Let the phase collect some of its messages, then lose everything that is not in the journal.
                await Task.Delay(20);
                await service.CrashAndResumeAsync(() => NewHost(ledger, journal), journal.Resume());
                resumedIn = service.Host.Current.Phase;
            }
        });

        Assert.True(crashed, "the round never reached " + crashIn);
        Assert.True(resumedIn >= crashIn, $"resumed in {resumedIn}");
        Assert.All(results, r => Assert.Equal((ClientRoundOutcome.Completed, 1UL), (r.Outcome, r.RoundId)));
        ModelRelease released = service.Host.Latest;
        Assert.Equal((2UL, 1UL), (released.Version, released.RoundId));
        Assert.Equal(expected.Values, released.Values);
        Assert.Equal(expected.Epsilon, released.Epsilon);
        Assert.Single(ledger.Entries);
        Assert.Single(ledger.Charges);
    }

    [Fact]
    public async Task A_round_charged_but_not_released_at_the_crash_is_released_on_resume_without_a_second_charge()
    {
        ModelRelease expected = await UninterruptedAsync();
        var ledger = new CountingLedger();
        var journal = new MemoryJournal();
        var dying = new FailingReleaseEvents();
        var service = new RestartableService(NewHost(ledger, journal, dying));
        bool crashed = false;
        ClientRoundResult[] results = await RunAsync(service, async host =>
        {
            if (!crashed && dying.Attempts > 0)
            {
                crashed = true;
                await service.CrashAndResumeAsync(() => NewHost(ledger, journal), journal.Resume());
                Assert.Equal(Phase.Completed, service.Host.Current.Phase);
            }
        });

        Assert.True(crashed);
        Assert.All(results, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.Equal(expected.Values, service.Host.Latest.Values);

        // Charged by the lost host; the resumed host found the charge recorded (AlreadyCharged) and released under it.
        Assert.Equal(2, ledger.Charges.Count);
        LedgerEntry entry = Assert.Single(ledger.Entries);
        Assert.Equal(entry.RoundEpsilon, service.Host.Latest.Epsilon);
        Assert.Equal(entry.TotalEpsilon, service.Host.Latest.TotalEpsilon);
    }

    [Fact]
    public async Task A_journal_outage_delays_acknowledgements_and_phase_closes_and_the_round_completes_once_it_ends()
    {
        var ledger = new CountingLedger();
        var journal = new MemoryJournal();
        var service = new RestartableService(NewHost(ledger, journal));
        bool outage = false;
        int pendingWhileDown = 0;
        ClientRoundResult[] results = await RunAsync(service, async host =>
        {
            if (!outage && host.Current.Phase == Phase.ShareKeys)
            {
                outage = true;
                journal.Failing = true;
                int before = journal.Entries.Count;
                await Task.Delay(300);

                // Nothing became durable; the clients' messages were not acknowledged, no further phase was published.
                Assert.Equal(before, journal.Entries.Count);
                pendingWhileDown = Enumerable.Range(0, Clients)
                    .Count(i => host.Fetch(Harness.Caller(i), 1, Phase.MaskedInput).Outcome == FetchOutcome.Pending);
                journal.Failing = false;
            }
        });

        Assert.True(outage);
        Assert.Equal(Clients, pendingWhileDown);
        Assert.All(results, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.Single(ledger.Charges);
    }

    [Fact]
    public async Task The_journal_holds_the_plan_every_accepted_message_once_and_every_close_in_order()
    {
        var journal = new MemoryJournal();
        RoundHost host = NewHost(new CountingLedger(), journal);
        await RunAsync(new RestartableService(host));
        IReadOnlyList<RoundJournalEntry> entries = journal.Entries;
        Assert.Equal(Enumerable.Range(1, entries.Count).Select(i => (long)i), entries.Select(e => e.Sequence));
        var closes = entries.Where(e => e.Kind == RoundJournalEntryKind.PhaseClosed).Select(e =>
        {
            Assert.True(e.TryReadClose(out Phase closed, out Phase next, out IReadOnlyDictionary<int, DropReason>? dropped));
            Assert.Empty(dropped);
            return (closed, next);
        }).ToList();
        Assert.Equal([(Phase.AdvertiseKeys, Phase.ShareKeys), (Phase.ShareKeys, Phase.MaskedInput), (Phase.MaskedInput, Phase.Unmasking), (Phase.Unmasking, Phase.Completed)], closes);
        var messages = entries.Where(e => e.Kind == RoundJournalEntryKind.Message).Select(e =>
        {
            Assert.True(e.TryReadMessage(out int client, out Phase phase, out ClientToServer? _));
            return (client, phase);
        }).ToList();
        Assert.Equal(Clients * 4, messages.Count);
        Assert.Equal(messages.Count, messages.Distinct().Count());
        Assert.Equal(Clients, journal.Opened!.Cohort.Count);
    }

    public static TheoryData<string> Tampering => new() { "gap", "wrong-phase", "dropped-set", "not-protobuf", "unknown-kind", "other-client" };

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task A_journal_that_does_not_replay_is_refused_and_nothing_is_resumed(string tampering)
    {
        var journal = new MemoryJournal();
        await RunAsync(new RestartableService(NewHost(new CountingLedger(), journal)));
        var entries = journal.Entries.ToList();
        int firstClose = entries.FindIndex(e => e.Kind == RoundJournalEntryKind.PhaseClosed);
        RoundJournalEntry message = entries[0];
        Assert.True(message.TryReadMessage(out int client, out Phase phase, out ClientToServer? body));
        switch (tampering)
        {
            case "gap":
                entries.RemoveAt(1);
                break;
            case "wrong-phase":
                entries[0] = RoundJournalEntry.ForMessage(1, client, Phase.MaskedInput, body);
                break;
            case "dropped-set":
                entries[firstClose] = RoundJournalEntry.ForClose(entries[firstClose].Sequence, Phase.AdvertiseKeys, Phase.ShareKeys,
                    new Dictionary<int, DropReason> { [1] = DropReason.TimedOut });
                break;
            case "not-protobuf":
                byte[] bytes = message.Body.ToArray();
                bytes[8] = 0xFF;
                bytes[9] = 0xFF;
                entries[0] = message with { Body = bytes };
                break;
            case "unknown-kind":
                entries[0] = message with { Kind = (RoundJournalEntryKind)9 };
                break;
            case "other-client":
                // Client 1's keys under client 2's number: the session refuses a second message for (2, AdvertiseKeys) or
                // takes it (then 2's own one is refused) — either way the replay differs.
                entries.Insert(1, RoundJournalEntry.ForMessage(2, client == 1 ? 2 : 1, phase, body));
                entries = entries.Select((e, i) => e with { Sequence = i + 1 }).ToList();
                break;
        }

        RoundHost fresh = NewHost(new CountingLedger(), new MemoryJournal());
        RoundJournalException ex = await Assert.ThrowsAsync<RoundJournalException>(() =>
            fresh.ResumeAsync(new RoundResume(journal.Opened!.Plan, journal.Opened.Cohort, entries)));
        Assert.StartsWith("Round 1: ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0UL, fresh.Current.RoundId);
    }

    [Fact]
    public async Task Resume_is_refused_while_a_round_is_open()
    {
        var journal = new MemoryJournal();
        RoundHost host = NewHost(new CountingLedger(), journal);
        var clients = Enumerable.Range(0, Clients).Select(i => Harness.Caller(i)).ToList();
        clients.ForEach(c => host.Join(c));
        Assert.Equal(RoundHostTick.Opened, await host.TickAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.ResumeAsync(journal.Resume()));
    }

    [Fact]
    public async Task A_round_whose_plan_cannot_be_journaled_does_not_open()
    {
        var journal = new MemoryJournal { Failing = true };
        RoundHost host = NewHost(new CountingLedger(), journal);
        Enumerable.Range(0, Clients).Select(Harness.Caller).ToList().ForEach(c => host.Join(c));
        await Assert.ThrowsAsync<IOException>(() => host.TickAsync());
        Assert.Equal(0UL, host.Current.RoundId);
        Assert.NotEqual(JoinOutcome.Selected, host.Join(Harness.Caller(0)).Outcome);
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
