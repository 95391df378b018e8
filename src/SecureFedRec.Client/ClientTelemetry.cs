using System.Diagnostics;

namespace SecureFedRec.Client;

/// <summary>
/// Traces of the client SDK: an <see cref="ActivitySource"/> named <see cref="SourceName"/> with one span per
/// <see cref="FederationClient.RunRoundAsync"/> (<c>securefedrec.client.round</c>: round id, model version, outcome,
/// reason, the local ledger's total ε) and one per enrolment. Add the source to an OpenTelemetry tracer provider (or
/// any <see cref="ActivityListener"/>) to see them; nothing is recorded otherwise. Never keys, updates or models.
/// </summary>
public static class ClientTelemetry
{
    /// <summary>Name of the client's activity source.</summary>
    public const string SourceName = "SecureFedRec.Client";

    /// <summary>Span name of one round taken part in (or waited for).</summary>
    public const string RoundSpan = "securefedrec.client.round";

    /// <summary>Span name of an enrolment.</summary>
    public const string EnrolSpan = "securefedrec.client.enrol";

    internal static ActivitySource Source { get; } = new(SourceName, typeof(ClientTelemetry).Assembly.GetName().Version?.ToString());
}
