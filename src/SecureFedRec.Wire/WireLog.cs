using Microsoft.Extensions.Logging;

namespace SecureFedRec.Wire;

/// <summary>All log events of the wire layer. They carry method paths and status codes, never message bytes.</summary>
internal static partial class WireLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Handler for {Method} threw; the client got UNKNOWN")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);
}
