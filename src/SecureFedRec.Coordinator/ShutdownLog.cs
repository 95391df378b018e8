using Microsoft.Extensions.Logging;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Coordinator;

/// <summary>
/// What a stopping coordinator (SIGTERM, Ctrl+C, systemd stop) leaves behind, logged once when the host starts to
/// stop: the round it interrupts (nothing of it is released or charged now; the next start resumes it from its journal) or
/// that none was open, and the model version and completed rounds kept in the store.
/// </summary>
public static partial class ShutdownLog
{
    /// <summary>Logs what stopping now abandons; call from <c>IHostApplicationLifetime.ApplicationStopping</c>.</summary>
    public static void Stopping(ILogger logger, RoundEngine engine)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(engine);
        (ulong round, Phase phase) = engine.Current;
        if (round == 0 || phase is Phase.Unspecified)
        {
            Idle(logger, engine.ModelVersion);
        }
        else
        {
            Abandoned(logger, round, phase, engine.ModelVersion);
            engine.TraceAbandoned();
        }
    }

    [LoggerMessage(EventId = 2050, Level = LogLevel.Information, Message = "Stopping: no round in progress; model version {ModelVersion} and the ledger are in the store")]
    private static partial void Idle(ILogger logger, long modelVersion);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Warning, Message = "Stopping: round {RoundId} interrupted in phase {Phase}; nothing of it is released or charged now (the next start resumes it from its journal); model version {ModelVersion} and the ledger are in the store")]
    private static partial void Abandoned(ILogger logger, ulong roundId, Phase phase, long modelVersion);
}
