using Microsoft.Extensions.Logging;

namespace SecureFedRec.Coordinator.Operations;

/// <summary>Log events of the operator API and the dashboard (event ids 2100–2119). Never a token, cookie or key.</summary>
internal static partial class OperationsLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Operator API: {Count} operator key(s); dashboard {Dashboard}")]
    public static partial void Configured(ILogger logger, int count, string dashboard);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Dashboard login link issued to operator {OperatorId}")]
    public static partial void DashboardLoginIssued(ILogger logger, string operatorId);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Dashboard session opened for operator {OperatorId}")]
    public static partial void DashboardSessionOpened(ILogger logger, string operatorId);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Dashboard login refused from {Remote}: unknown, used or expired link")]
    public static partial void DashboardLoginRefused(ILogger logger, string remote);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Dashboard session closed for operator {OperatorId}")]
    public static partial void DashboardSessionClosed(ILogger logger, string operatorId);
}
