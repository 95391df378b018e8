using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SecureFedRec.Integration.Tests;

/// <summary>Collects every log event (id, level, category, text) of the loggers it creates.</summary>
internal sealed class EventCapture : ILoggerProvider
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Category, string Message)> Events { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>The events with <paramref name="eventId"/>, oldest first.</summary>
    public List<string> Of(int eventId) => Events.Where(e => e.EventId == eventId).Select(e => e.Message).ToList();

    public void Dispose()
    {
    }

    private sealed class Logger(EventCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Events.Enqueue((eventId.Id, logLevel, category, formatter(state, exception)));
    }
}
