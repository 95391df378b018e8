using System.Globalization;
using System.Reflection;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Operations.V1;

namespace SecureFedRec.Coordinator.Operations;

/// <summary>
/// The one place where the operator API and the dashboard read a coordinator's state: the store (rounds, models, the
/// ledger and its head), the round engine (current round, waiting clients), the ledger's budget, and the
/// <see cref="PhaseHistory"/>. Answers are operations.proto messages, so both front ends show the same numbers.
/// </summary>
/// <remarks>Singleton; thread-safe (every source is).</remarks>
internal sealed class OperationsQueries(ICoordinatorStore store, RoundEngine engine, IPrivacyLedger ledger, CoordinatorOptions options,
    DashboardAddress dashboard, TimeProvider time)
{
    private static readonly string Version = typeof(OperationsQueries).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    /// <summary>Clients waiting to be selected for the next round.</summary>
    public int Waiting => engine.Host.WaitingCount;

    public async Task<GetStatusResponse> StatusAsync(CancellationToken cancellationToken)
    {
        (ulong round, Protocol.Wire.Phase phase) = engine.Current;
        IReadOnlyList<RoundRecord> rounds = await store.ListRoundsAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<EnrolmentRecord> enrolled = await store.ListEnrolmentsAsync(cancellationToken).ConfigureAwait(false);
        LedgerHead head = await store.GetLedgerHeadAsync(cancellationToken).ConfigureAwait(false);
        return new GetStatusResponse
        {
            ApiVersion = CoordinatorProtocol.ApiVersion,
            CoordinatorVersion = Version,
            ServerTimeUnixMs = (ulong)time.GetUtcNow().ToUnixTimeMilliseconds(),
            StartedAtUnixMs = (ulong)_startedAt.ToUnixTimeMilliseconds(),
            CurrentRound = round,
            CurrentPhase = phase,
            ModelVersion = (ulong)engine.ModelVersion,
            EpsilonSpent = ledger.TotalEpsilon,
            EpsilonBudget = ledger.Budget.Epsilon,
            BudgetDelta = ledger.Budget.Delta,
            EnrolledClients = (uint)enrolled.Count,
            RoundsTotal = (uint)rounds.Count,
            RoundsCompleted = (uint)rounds.Count(r => r.Outcome == "Completed"),
            RoundsWithheld = (uint)rounds.Count(r => r.Outcome == "Withheld"),
            RoundsAborted = (uint)rounds.Count(r => r.Outcome is { } o && o != "Completed" && o != "Withheld"),
            MaxRounds = (uint)options.Rounds.MaxRounds,
            LedgerCount = (ulong)head.Count,
            LedgerHead = head.Hash,
            DashboardEnabled = dashboard.Uri is not null,
            DashboardAddress = dashboard.Uri?.ToString() ?? string.Empty,
        };
    }

    /// <summary>Rounds newest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<RoundSummary>> RoundsAsync(int limit, CancellationToken cancellationToken)
    {
        IReadOnlyList<RoundRecord> rounds = await store.ListRoundsAsync(cancellationToken).ConfigureAwait(false);
        Dictionary<string, LedgerRecord> charges = await ChargesAsync(cancellationToken).ConfigureAwait(false);
        Dictionary<long, long> releases = await ReleasesAsync(cancellationToken).ConfigureAwait(false);
        return [.. rounds.OrderByDescending(r => r.RoundId).Take(limit).Select(r => Summary(r, charges, releases, engine.PhaseHistory.Find((ulong)r.RoundId)))];
    }

    /// <summary>One round with its phases and drops, or null.</summary>
    public async Task<GetRoundResponse?> RoundAsync(ulong roundId, CancellationToken cancellationToken)
    {
        if (roundId > long.MaxValue)
        {
            return null;
        }

        RoundRecord? record = await store.GetRoundAsync((long)roundId, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return null;
        }

        JournalRound? seen = engine.PhaseHistory.Find(roundId);
        var response = new GetRoundResponse
        {
            Round = Summary(record, await ChargesAsync(cancellationToken).ConfigureAwait(false), await ReleasesAsync(cancellationToken).ConfigureAwait(false), seen),
            Observed = seen is not null,
            Detail = seen?.Detail ?? string.Empty,
        };
        if (seen is not null)
        {
            response.Phases.AddRange(seen.Phases.Select(p => new PhaseRecord
            {
                Phase = p.Phase,
                Expected = (uint)p.Expected,
                Answered = (uint)p.Answered,
                DurationSeconds = p.Duration.TotalSeconds,
            }));
            response.Drops.AddRange(seen.Drops.Select(d => new DropCount { Reason = d.Reason, Count = (uint)d.Count }));
        }

        return response;
    }

    public async Task<IReadOnlyList<ModelVersion>> ModelsAsync(CancellationToken cancellationToken) =>
        [.. (await store.ListModelsAsync(cancellationToken).ConfigureAwait(false)).Select(ToWire)];

    public async Task<ExportLedgerResponse> LedgerAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<LedgerRecord> rows = await store.ListLedgerAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ModelVersionRecord> models = await store.ListModelsAsync(cancellationToken).ConfigureAwait(false);
        LedgerHead head = await store.GetLedgerHeadAsync(cancellationToken).ConfigureAwait(false);
        var response = new ExportLedgerResponse
        {
            LedgerCount = (ulong)head.Count,
            LedgerHead = head.Hash,
            EpsilonBudget = ledger.Budget.Epsilon,
            BudgetDelta = ledger.Budget.Delta,
        };
        response.Ledger.AddRange(rows.Select(r => new LedgerRow
        {
            Sequence = (ulong)r.Sequence,
            RoundId = r.RoundId,
            RecordedAtUnixMs = r.RecordedAt.ToUnixTimeMilliseconds(),
            ParametersJson = r.ParametersJson,
            ContributingClients = (uint)r.ContributingClients,
            RoundEpsilon = r.RoundEpsilon,
            TotalEpsilon = r.TotalEpsilon,
            PreviousHash = r.PreviousHash,
            Hash = r.Hash,
        }));
        response.Models.AddRange(models.Select(ToWire));
        return response;
    }

    internal static ModelVersion ToWire(ModelVersionRecord m) => new()
    {
        Version = (ulong)m.Version,
        RoundId = (ulong)m.RoundId,
        Epsilon = m.Epsilon,
        ReleasedAtUnixMs = (ulong)m.ReleasedAt.ToUnixTimeMilliseconds(),
        ModelDigest = m.ModelDigest,
        LedgerCount = (ulong)m.LedgerCount,
        LedgerHead = m.LedgerHead,
        PreviousHash = m.PreviousHash,
        Hash = m.Hash,
    };

    private static RoundSummary Summary(RoundRecord r, Dictionary<string, LedgerRecord> charges, Dictionary<long, long> releases, JournalRound? seen)
    {
        var summary = new RoundSummary
        {
            RoundId = (ulong)r.RoundId,
            ModelVersion = (ulong)r.ModelVersion,
            Phase = r.Phase,
            Outcome = r.Outcome ?? string.Empty,
            CreatedAtUnixMs = (ulong)r.CreatedAt.ToUnixTimeMilliseconds(),
            UpdatedAtUnixMs = (ulong)r.UpdatedAt.ToUnixTimeMilliseconds(),
            Cohort = (uint)(seen?.Cohort ?? 0),
            Threshold = (uint)(seen?.Threshold ?? 0),
            Contributors = (uint)(seen?.Contributors ?? 0),
            Dropped = (uint)(seen?.Dropped ?? 0),
        };
        if (charges.TryGetValue("round-" + r.RoundId.ToString(CultureInfo.InvariantCulture), out LedgerRecord? charge))
        {
            summary.RoundEpsilon = charge.RoundEpsilon;
            summary.TotalEpsilon = charge.TotalEpsilon;
            if (summary.Contributors == 0)
            {
                summary.Contributors = (uint)charge.ContributingClients;
            }
        }

        if (releases.TryGetValue(r.RoundId, out long version))
        {
            summary.ReleasedVersion = (ulong)version;
        }

        return summary;
    }

    private async Task<Dictionary<string, LedgerRecord>> ChargesAsync(CancellationToken cancellationToken)
    {
        var byRound = new Dictionary<string, LedgerRecord>(StringComparer.Ordinal);
        foreach (LedgerRecord row in await store.ListLedgerAsync(cancellationToken).ConfigureAwait(false))
        {
            byRound.TryAdd(row.RoundId, row);
        }

        return byRound;
    }

    private async Task<Dictionary<long, long>> ReleasesAsync(CancellationToken cancellationToken)
    {
        var byRound = new Dictionary<long, long>();
        foreach (ModelVersionRecord m in await store.ListModelsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (m.RoundId > 0)
            {
                byRound.TryAdd(m.RoundId, m.Version);
            }
        }

        return byRound;
    }
}

/// <summary>Where the dashboard listens (null when it is off); set once the listener is bound.</summary>
internal sealed class DashboardAddress
{
    public Uri? Uri { get; set; }
}
