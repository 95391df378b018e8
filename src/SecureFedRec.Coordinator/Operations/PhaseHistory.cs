using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Server;

namespace SecureFedRec.Coordinator.Operations;

/// <summary>
/// What this coordinator process observed of its rounds, beyond what the store records (phase and outcome): cohort,
/// threshold, each closed phase with its survivors (answered of expected) and duration, drops by reason, contributors
/// and the diagnostic of a withheld or aborted round. Fed by the coordinator's round-host event handler (RoundEngine.StoreEvents), beside metrics and traces;
/// read by the operator API and the dashboard.
/// </summary>
/// <remarks>
/// In memory: a round opened before a restart has only its stored phase and outcome (operations.proto
/// <c>observed = false</c>). Holds the latest <see cref="Capacity"/> rounds. Thread-safe (one lock); snapshots are
/// immutable copies.
/// </remarks>
internal sealed class PhaseHistory
{
    /// <summary>Rounds kept (oldest forgotten first).</summary>
    public const int Capacity = 1000;

    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Entry> _rounds = [];
    private readonly Queue<ulong> _order = new();

    public void Opened(RoundOpened opened)
    {
        RoundContract c = opened.Plan.Contract;
        lock (_gate)
        {
            if (!_rounds.ContainsKey(c.RoundId))
            {
                _order.Enqueue(c.RoundId);
                while (_order.Count > Capacity)
                {
                    _rounds.Remove(_order.Dequeue());
                }
            }

            _rounds[c.RoundId] = new Entry { Cohort = opened.Cohort.Count, Threshold = opened.Plan.Threshold, OpenedAt = opened.OpenedAt };
        }
    }

    public void PhaseClosed(PhaseClosed closed)
    {
        lock (_gate)
        {
            if (_rounds.TryGetValue(closed.RoundId, out Entry? e))
            {
                e.Phases.Add(new JournalPhase(closed.Closed, closed.Expected, closed.Answered, closed.Duration));
            }
        }
    }

    public void Dropped(ulong roundId, DropReason reason)
    {
        lock (_gate)
        {
            if (_rounds.TryGetValue(roundId, out Entry? e))
            {
                e.Drops[reason] = e.Drops.GetValueOrDefault(reason) + 1;
            }
        }
    }

    public void Finished(RoundFinished finished)
    {
        lock (_gate)
        {
            if (_rounds.TryGetValue(finished.Contract.RoundId, out Entry? e))
            {
                e.Outcome = finished.Outcome;
                e.Contributors = finished.Contributors;
                e.ReleasedVersion = finished.Release?.Version ?? 0;
                e.Detail = finished.Detail;

                // The host's final list is authoritative (a drop it decided at a phase close may not have been told one by one).
                if (finished.Dropped.Count > 0)
                {
                    e.Drops.Clear();
                    foreach (DropReason reason in finished.Dropped.Values)
                    {
                        e.Drops[reason] = e.Drops.GetValueOrDefault(reason) + 1;
                    }
                }
            }
        }
    }

    /// <summary>An immutable copy of what was observed of <paramref name="roundId"/>, or null.</summary>
    public JournalRound? Find(ulong roundId)
    {
        lock (_gate)
        {
            return _rounds.TryGetValue(roundId, out Entry? e)
                ? new JournalRound(e.Cohort, e.Threshold, e.OpenedAt, [.. e.Phases],
                    e.Drops.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)).ToList(), e.Outcome, e.Contributors, e.ReleasedVersion, e.Detail)
                : null;
        }
    }

    private sealed class Entry
    {
        public int Cohort { get; init; }

        public int Threshold { get; init; }

        public DateTimeOffset OpenedAt { get; init; }

        public List<JournalPhase> Phases { get; } = [];

        public Dictionary<DropReason, int> Drops { get; } = [];

        public ServerRoundOutcome Outcome { get; set; }

        public int Contributors { get; set; }

        public ulong ReleasedVersion { get; set; }

        public string? Detail { get; set; }
    }
}

/// <summary>One closed phase: clients expected to answer, those that did (the survivors), and how long it was open.</summary>
internal sealed record JournalPhase(Phase Phase, int Expected, int Answered, TimeSpan Duration);

/// <summary>A snapshot of one observed round.</summary>
internal sealed record JournalRound(int Cohort, int Threshold, DateTimeOffset OpenedAt, IReadOnlyList<JournalPhase> Phases,
    IReadOnlyList<(DropReason Reason, int Count)> Drops, ServerRoundOutcome Outcome, int Contributors, ulong ReleasedVersion, string? Detail)
{
    public int Dropped => Drops.Sum(d => d.Count);
}
