using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace SecureFedRec.Client;

/// <summary>Log events of the client SDK: round ids, phases, outcomes, ε; never keys, shares, updates or models.</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Enrolled at {Coordinator} as {ClientId}")]
    public static partial void Enrolled(ILogger logger, Uri coordinator, string clientId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Selected for round {RoundId} (model version {ModelVersion}, client number {Number})")]
    public static partial void Selected(ILogger logger, ulong roundId, ulong modelVersion, uint number);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Round {RoundId} declined by the local policy: {Reason} ({Message})")]
    public static partial void Declined(ILogger logger, ulong roundId, string reason, string message);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Round {RoundId} ended: {Outcome}; local total ε {TotalEpsilon:F4}")]
    public static partial void RoundEnded(ILogger logger, ulong roundId, RoundOutcomeKind outcome, double totalEpsilon);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Transient failure {Status} on {Method}; retry {Attempt} in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, StatusCode status, string method, int attempt, long delayMs);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Round {RoundId}: protocol refused a coordinator message in phase {Phase}: {Reason}")]
    public static partial void ProtocolRefused(ILogger logger, ulong roundId, string phase, string reason);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Roster refused ({Refusal}): {Detail}; nothing generated, nothing charged")]
    public static partial void RosterRefused(ILogger logger, string refusal, string detail);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void RoundWarning(ILogger logger, string message);
}
