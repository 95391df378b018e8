using Microsoft.Extensions.Logging;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Server;

namespace SecureFedRec.Coordinator;

/// <summary>Log events of round resume at start-up (event ids 2060–2069; the rest of the table is CoordinatorLog.cs).</summary>
internal static partial class CoordinatorLog
{
    [LoggerMessage(EventId = 2060, Level = LogLevel.Warning, Message = "Round {RoundId} was open at start-up; resumed from its journal ({Entries} entries) in phase {Phase}, deadline re-armed to {Deadline:O}")]
    public static partial void RoundResumed(ILogger logger, long roundId, int entries, Phase phase, DateTimeOffset deadline);

    [LoggerMessage(EventId = 2061, Level = LogLevel.Warning, Message = "Round {RoundId} was open at start-up and cannot be resumed ({Refusal}: {Reason}); aborted, nothing released, nothing charged")]
    public static partial void ResumeRefused(ILogger logger, long roundId, RoundResumeRefusal refusal, string reason);

    [LoggerMessage(EventId = 2062, Level = LogLevel.Warning, Message = "Round {RoundId} was open at start-up but had released model version {Version}; recorded as completed")]
    public static partial void RecoveredReleasedRound(ILogger logger, long roundId, long version);
}
