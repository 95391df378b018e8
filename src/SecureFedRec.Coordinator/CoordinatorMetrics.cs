using System.Globalization;
using System.Text;

namespace SecureFedRec.Coordinator;

/// <summary>
/// Counters and gauges of a coordinator, rendered in the Prometheus text exposition format 0.0.4 by
/// <see cref="Render"/> (served at <c>/metrics</c>). Written by hand: no client library.
/// </summary>
/// <remarks>Thread-safe (one lock; updates are rare compared to a scrape).</remarks>
public sealed class CoordinatorMetrics
{
    private static readonly double[] PhaseBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _rounds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _drops = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long[] Buckets, long Count, double Sum)> _phases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _rpcs = new(StringComparer.Ordinal);
    private long _lastSurvivors;
    private double _epsilonSpent;
    private long _modelVersion;
    private long _currentRound;
    private int _currentPhase;

    /// <summary>Counts a finished round by outcome (completed, aborted, withheld).</summary>
    public void RoundFinished(string outcome) => Add(_rounds, outcome);

    /// <summary>Counts a dropped client by reason.</summary>
    public void ClientDropped(string reason) => Add(_drops, reason);

    /// <summary>Counts an RPC by method and status.</summary>
    public void Rpc(string method, string status) => Add(_rpcs, method + "\u0000" + status);

    /// <summary>Records how long a phase stayed open.</summary>
    public void PhaseDuration(string phase, double seconds)
    {
        lock (_gate)
        {
            if (!_phases.TryGetValue(phase, out var h))
            {
                h = (new long[PhaseBuckets.Length], 0, 0);
            }

            for (int i = 0; i < PhaseBuckets.Length; i++)
            {
                if (seconds <= PhaseBuckets[i])
                {
                    h.Buckets[i]++;
                }
            }

            _phases[phase] = (h.Buckets, h.Count + 1, h.Sum + seconds);
        }
    }

    /// <summary>Sets the survivors of the last completed round.</summary>
    public void Survivors(int count)
    {
        lock (_gate)
        {
            _lastSurvivors = count;
        }
    }

    /// <summary>Sets the total ε recorded in the ledger.</summary>
    public void EpsilonSpent(double total)
    {
        lock (_gate)
        {
            _epsilonSpent = total;
        }
    }

    /// <summary>Sets the latest model version.</summary>
    public void ModelVersion(long version)
    {
        lock (_gate)
        {
            _modelVersion = version;
        }
    }

    /// <summary>Sets the round in progress and its phase (0 when none).</summary>
    public void Current(long round, int phase)
    {
        lock (_gate)
        {
            _currentRound = round;
            _currentPhase = phase;
        }
    }

    /// <summary>The Prometheus text exposition of every metric.</summary>
    public string Render()
    {
        var sb = new StringBuilder();
        lock (_gate)
        {
            Counter(sb, "securefedrec_rounds_total", "Rounds finished, by outcome.", "outcome", _rounds);
            Counter(sb, "securefedrec_client_drops_total", "Clients dropped from a round, by reason.", "reason", _drops);
            sb.Append("# HELP securefedrec_rpcs_total RPCs served, by method and gRPC status.\n# TYPE securefedrec_rpcs_total counter\n");
            foreach (var (key, value) in _rpcs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                string[] parts = key.Split('\u0000');
                sb.Append(CultureInfo.InvariantCulture, $"securefedrec_rpcs_total{{method=\"{Escape(parts[0])}\",status=\"{Escape(parts[1])}\"}} {value}\n");
            }

            sb.Append("# HELP securefedrec_phase_duration_seconds How long each protocol phase stayed open.\n# TYPE securefedrec_phase_duration_seconds histogram\n");
            foreach (var (phase, h) in _phases.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                for (int i = 0; i < PhaseBuckets.Length; i++)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"securefedrec_phase_duration_seconds_bucket{{phase=\"{Escape(phase)}\",le=\"{PhaseBuckets[i]}\"}} {h.Buckets[i]}\n");
                }

                sb.Append(CultureInfo.InvariantCulture, $"securefedrec_phase_duration_seconds_bucket{{phase=\"{Escape(phase)}\",le=\"+Inf\"}} {h.Count}\n");
                sb.Append(CultureInfo.InvariantCulture, $"securefedrec_phase_duration_seconds_sum{{phase=\"{Escape(phase)}\"}} {h.Sum}\n");
                sb.Append(CultureInfo.InvariantCulture, $"securefedrec_phase_duration_seconds_count{{phase=\"{Escape(phase)}\"}} {h.Count}\n");
            }

            Gauge(sb, "securefedrec_round_survivors", "Clients whose input is in the last completed round's sum.", _lastSurvivors);
            Gauge(sb, "securefedrec_epsilon_spent", "Total epsilon recorded in the coordinator's privacy ledger.", _epsilonSpent);
            Gauge(sb, "securefedrec_model_version", "Latest released model version.", _modelVersion);
            Gauge(sb, "securefedrec_current_round", "Id of the round in progress (0: none).", _currentRound);
            Gauge(sb, "securefedrec_current_phase", "Phase of the round in progress (coordinator.proto Phase number).", _currentPhase);
        }

        return sb.ToString();
    }

    private void Add(Dictionary<string, long> counters, string key)
    {
        lock (_gate)
        {
            counters[key] = counters.GetValueOrDefault(key) + 1;
        }
    }

    private static void Counter(StringBuilder sb, string name, string help, string label, Dictionary<string, long> values)
    {
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n");
        foreach (var (key, value) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{name}{{{label}=\"{Escape(key)}\"}} {value}\n");
        }
    }

    private static void Gauge(StringBuilder sb, string name, string help, double value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");

    /// <summary>Label value escaping of the exposition format: backslash, double quote and line feed.</summary>
    internal static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
