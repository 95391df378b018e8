using System.Text;
using Prometheus;

namespace SecureFedRec.Coordinator;

/// <summary>
/// Counters, gauges and the phase-duration histogram of a coordinator, kept by prometheus-net in a registry of this
/// instance's own (no process-wide default registry, so two coordinators in one process never share figures) and served
/// in the Prometheus text exposition format 0.0.4 at <c>/metrics</c> (<see cref="Render"/>). <see cref="Snapshot"/>
/// reads the same figures back for the operator API and the dashboard.
/// </summary>
/// <remarks>Thread-safe (prometheus-net's instruments are). Metric names are a documented interface (docs/operators.md):
/// never rename one.</remarks>
public sealed class CoordinatorMetrics
{
    private static readonly double[] PhaseBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private readonly Counter _rounds;
    private readonly Counter _drops;
    private readonly Counter _rpcs;
    private readonly Histogram _phases;
    private readonly Gauge _survivors;
    private readonly Gauge _epsilon;
    private readonly Gauge _modelVersion;
    private readonly Gauge _currentRound;
    private readonly Gauge _currentPhase;
    private readonly Lock _current = new();

    /// <summary>Creates the instruments in a new registry.</summary>
    public CoordinatorMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        MetricFactory factory = Metrics.WithCustomRegistry(Registry);
        _rounds = factory.CreateCounter("securefedrec_rounds_total", "Rounds finished, by outcome.", ["outcome"]);
        _drops = factory.CreateCounter("securefedrec_client_drops_total", "Clients dropped from a round, by reason.", ["reason"]);
        _rpcs = factory.CreateCounter("securefedrec_rpcs_total", "RPCs served, by method and gRPC status.", ["method", "status"]);
        _phases = factory.CreateHistogram("securefedrec_phase_duration_seconds", "How long each protocol phase stayed open.",
            new HistogramConfiguration { LabelNames = ["phase"], Buckets = PhaseBuckets });
        _survivors = factory.CreateGauge("securefedrec_round_survivors", "Clients whose input is in the last completed round's sum.");
        _epsilon = factory.CreateGauge("securefedrec_epsilon_spent", "Total epsilon recorded in the coordinator's privacy ledger.");
        _modelVersion = factory.CreateGauge("securefedrec_model_version", "Latest released model version.");
        _currentRound = factory.CreateGauge("securefedrec_current_round", "Id of the round in progress (0: none).");
        _currentPhase = factory.CreateGauge("securefedrec_current_phase", "Phase of the round in progress (coordinator.proto Phase number).");
    }

    /// <summary>The prometheus-net registry holding this coordinator's metrics (what <c>/metrics</c> serves).</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Counts a finished round by outcome (completed, aborted, withheld, aborted_by_restart).</summary>
    public void RoundFinished(string outcome) => _rounds.WithLabels(outcome).Inc();

    /// <summary>Counts a dropped client by reason.</summary>
    public void ClientDropped(string reason) => _drops.WithLabels(reason).Inc();

    /// <summary>Counts an RPC by method and status.</summary>
    public void Rpc(string method, string status) => _rpcs.WithLabels(method, status).Inc();

    /// <summary>Records how long a phase stayed open.</summary>
    public void PhaseDuration(string phase, double seconds) => _phases.WithLabels(phase).Observe(seconds);

    /// <summary>Sets the survivors of the last completed round.</summary>
    public void Survivors(int count) => _survivors.Set(count);

    /// <summary>Sets the total ε recorded in the ledger.</summary>
    public void EpsilonSpent(double total) => _epsilon.Set(total);

    /// <summary>Sets the latest model version.</summary>
    public void ModelVersion(long version) => _modelVersion.Set(version);

    /// <summary>Sets the round in progress and its phase (0 when none).</summary>
    public void Current(long round, int phase)
    {
        // One lock so that a snapshot never pairs one round's id with another's phase.
        lock (_current)
        {
            _currentRound.Set(round);
            _currentPhase.Set(phase);
        }
    }

    /// <summary>The Prometheus text exposition (format 0.0.4) of every metric, as <c>/metrics</c> serves it.</summary>
    public string Render()
    {
        using var stream = new MemoryStream();
        Registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    /// <summary>The current figures, read from the same instruments <c>/metrics</c> serves (operator API, dashboard).</summary>
    public CoordinatorMetricsSnapshot Snapshot()
    {
        long round, phase;
        lock (_current)
        {
            round = (long)_currentRound.Value;
            phase = (long)_currentPhase.Value;
        }

        return new CoordinatorMetricsSnapshot(
            Counts(_rounds),
            Counts(_drops),
            _rpcs.GetAllLabelValues().ToDictionary(l => (l[0], l[1]), l => (long)_rpcs.WithLabels(l).Value),
            _phases.GetAllLabelValues().ToDictionary(l => l[0], l =>
            {
                Histogram.Child child = _phases.WithLabels(l);
                return new PhaseDurationSummary(child.Count, child.Sum);
            }, StringComparer.Ordinal),
            (int)_survivors.Value,
            _epsilon.Value,
            (long)_modelVersion.Value,
            round,
            (int)phase);
    }

    private static Dictionary<string, long> Counts(Counter counter) =>
        counter.GetAllLabelValues().ToDictionary(l => l[0], l => (long)counter.WithLabels(l).Value, StringComparer.Ordinal);
}

/// <summary>The figures of a coordinator's <c>/metrics</c> at one moment (<see cref="CoordinatorMetrics.Snapshot"/>).</summary>
/// <param name="Rounds">Finished rounds by outcome (<c>securefedrec_rounds_total</c>).</param>
/// <param name="Drops">Dropped clients by reason (<c>securefedrec_client_drops_total</c>).</param>
/// <param name="Rpcs">RPCs by (method, status) (<c>securefedrec_rpcs_total</c>).</param>
/// <param name="Phases">Closed phases by phase name: how many and their total seconds (<c>securefedrec_phase_duration_seconds</c>).</param>
/// <param name="LastSurvivors">Contributors of the last completed round.</param>
/// <param name="EpsilonSpent">Total ε in the coordinator's ledger.</param>
/// <param name="ModelVersion">Latest released model version.</param>
/// <param name="CurrentRound">Round in progress (0: none).</param>
/// <param name="CurrentPhase">Its coordinator.proto phase number (0: none).</param>
public sealed record CoordinatorMetricsSnapshot(
    IReadOnlyDictionary<string, long> Rounds,
    IReadOnlyDictionary<string, long> Drops,
    IReadOnlyDictionary<(string Method, string Status), long> Rpcs,
    IReadOnlyDictionary<string, PhaseDurationSummary> Phases,
    int LastSurvivors,
    double EpsilonSpent,
    long ModelVersion,
    long CurrentRound,
    int CurrentPhase);

/// <summary>Closed phases of one kind: how many, and the seconds they stayed open in total.</summary>
/// <param name="Count">Phases closed.</param>
/// <param name="TotalSeconds">Sum of their durations.</param>
public sealed record PhaseDurationSummary(long Count, double TotalSeconds);
