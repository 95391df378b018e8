using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using SecureFedRec.Configuration;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Server;

namespace SecureFedRec.Coordinator;

/// <summary>
/// Traces of the coordinator: one <see cref="ActivitySource"/> named <see cref="SourceName"/> with a span per round
/// (<c>securefedrec.round</c>, from opening to release, withholding or abort) and, beneath it, a span per protocol phase
/// (<c>securefedrec.phase</c>). Attributes carry round ids, phases, counts (answers, survivors), outcomes and ε — never
/// keys, shares, vectors or models. Anything that listens to the source sees them (an <see cref="ActivityListener"/>,
/// dotnet-trace); with <see cref="TelemetryOptions.OtlpEndpoint"/> set the coordinator exports them over OTLP.
/// </summary>
public static class CoordinatorTelemetry
{
    /// <summary>Name of the coordinator's activity source.</summary>
    public const string SourceName = "SecureFedRec.Coordinator";

    /// <summary>Span name of a round.</summary>
    public const string RoundSpan = "securefedrec.round";

    /// <summary>Span name of a protocol phase (a child of its round).</summary>
    public const string PhaseSpan = "securefedrec.phase";

    internal static ActivitySource Source { get; } = new(SourceName, typeof(CoordinatorTelemetry).Assembly.GetName().Version?.ToString());
}

/// <summary>Trace export of a coordinator (section <c>Coordinator:Telemetry</c>).</summary>
public sealed class TelemetryOptions : ISettingsRules
{
    /// <summary>OTLP collector endpoint that round and phase spans are exported to (empty, the default: none), e.g. http://127.0.0.1:4318.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>OTLP transport: <c>http/protobuf</c> (default; spans go to {endpoint}/v1/traces) or <c>grpc</c>.</summary>
    [AllowedValues("http/protobuf", "grpc")]
    public string OtlpProtocol { get; set; } = "http/protobuf";

    /// <summary>The <c>service.name</c> resource attribute of exported spans.</summary>
    [Required]
    public string ServiceName { get; set; } = "securefedrec-coordinator";

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (!string.IsNullOrEmpty(OtlpEndpoint))
        {
            bool ok = Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
            problems.Require(ok, path + ":OtlpEndpoint", $"'{OtlpEndpoint}' is not an http:// or https:// address (e.g. http://127.0.0.1:4318).");
        }
    }
}

/// <summary>The open round's span and its open phase's span, driven by the round engine's events (one driver).</summary>
internal sealed class RoundTracing
{
    private readonly Lock _gate = new();
    private Activity? _round;
    private Activity? _phase;
    private Phase _phaseOpen;

    public void Opened(RoundOpened opened)
    {
        RoundContract c = opened.Plan.Contract;
        lock (_gate)
        {
            End(ActivityStatusCode.Error, "superseded");
            _round = Start(CoordinatorTelemetry.RoundSpan, null, opened.OpenedAt);
            _round?.SetTag("securefedrec.round.id", (long)c.RoundId)
                .SetTag("securefedrec.round.cohort", opened.Cohort.Count)
                .SetTag("securefedrec.round.threshold", opened.Plan.Threshold)
                .SetTag("securefedrec.round.mode", c.Mode.ToString())
                .SetTag("securefedrec.model.version", (long)c.ModelVersion)
                .SetTag("securefedrec.round.claimed_epsilon", c.ClaimedEpsilon);
            _phase = StartPhase(c.RoundId, Phase.AdvertiseKeys, opened.Cohort.Count, opened.OpenedAt);
        }
    }

    public void PhaseClosed(PhaseClosed closed)
    {
        lock (_gate)
        {
            if (_round is null || _phaseOpen != closed.Closed)
            {
                return; // not traced, or a retried store write of a transition already traced
            }

            _phaseOpen = Phase.Unspecified;
            _phase?.SetTag("securefedrec.phase.answered", closed.Answered)
                .SetTag("securefedrec.phase.expected", closed.Expected)
                .SetTag("securefedrec.phase.next", closed.Next.ToString())
                .Stop();
            _phase = null;
            _round?.AddEvent(new ActivityEvent("phase closed", tags: new ActivityTagsCollection
            {
                ["securefedrec.phase"] = closed.Closed.ToString(),
                ["securefedrec.phase.answered"] = closed.Answered,
            }));
            if (closed.Next is not (Phase.Completed or Phase.Aborted))
            {
                _phase = StartPhase(closed.RoundId, closed.Next, closed.Answered, null);
            }
        }
    }

    public void Dropped(ulong roundId, DropReason reason)
    {
        lock (_gate)
        {
            if (_round is not null && _round.GetTagItem("securefedrec.round.id") is long id && (ulong)id == roundId)
            {
                _round.AddEvent(new ActivityEvent("client dropped", tags: new ActivityTagsCollection { ["securefedrec.drop.reason"] = reason.ToString() }));
            }
        }
    }

    public void Finished(RoundFinished finished, string outcome)
    {
        lock (_gate)
        {
            _round?.SetTag("securefedrec.round.outcome", outcome)
                .SetTag("securefedrec.round.survivors", finished.Contributors)
                .SetTag("securefedrec.round.dropped", finished.Dropped.Count);
            if (finished.Release is { } release)
            {
                _round?.SetTag("securefedrec.round.epsilon", release.Epsilon)
                    .SetTag("securefedrec.ledger.total_epsilon", release.TotalEpsilon)
                    .SetTag("securefedrec.model.released_version", (long)release.Version);
            }

            End(finished.Outcome == ServerRoundOutcome.Released ? ActivityStatusCode.Ok : ActivityStatusCode.Error,
                finished.Outcome == ServerRoundOutcome.Released ? null : finished.Detail ?? finished.Outcome.ToString());
        }
    }

    /// <summary>The coordinator stops with the round open: its spans end as abandoned.</summary>
    public void Abandoned()
    {
        lock (_gate)
        {
            _round?.SetTag("securefedrec.round.outcome", "abandoned_by_shutdown");
            End(ActivityStatusCode.Error, "coordinator stopped");
        }
    }

    private void End(ActivityStatusCode status, string? description)
    {
        _phase?.SetStatus(status, description).Stop();
        _round?.SetStatus(status, description).Stop();
        _phase = null;
        _round = null;
        _phaseOpen = Phase.Unspecified;
    }

    private Activity? StartPhase(ulong roundId, Phase phase, int expected, DateTimeOffset? at)
    {
        _phaseOpen = phase;
        Activity? span = Start(CoordinatorTelemetry.PhaseSpan, _round, at);
        span?.SetTag("securefedrec.round.id", (long)roundId)
            .SetTag("securefedrec.phase", phase.ToString())
            .SetTag("securefedrec.phase.cohort", expected);
        return span;
    }

    /// <summary>Starts a span without making it the ambient <see cref="Activity.Current"/> of the driver's flow.</summary>
    private static Activity? Start(string name, Activity? parent, DateTimeOffset? at)
    {
        Activity? previous = Activity.Current;
        Activity? span = CoordinatorTelemetry.Source.StartActivity(name, ActivityKind.Internal, parent?.Context ?? default(ActivityContext),
            startTime: at ?? default);
        Activity.Current = previous;
        return span;
    }
}
