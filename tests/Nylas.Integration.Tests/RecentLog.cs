using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Nylas.Integration.Tests;

/// <summary>
/// The in-process host's last warnings and errors, one line each with its time, for a failing test to print: the host
/// logs to the test run's console, which shows only with detailed verbosity, and a CI log shows none of it.
/// </summary>
public sealed class RecentLog : ILoggerProvider
{
    private const int Keep = 400;
    private readonly ConcurrentQueue<string> _lines = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    /// <summary>The last <paramref name="count"/> lines, oldest first.</summary>
    public IReadOnlyList<string> Tail(int count)
    {
        var all = _lines.ToArray();
        return all[Math.Max(0, all.Length - count)..];
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > Keep) _lines.TryDequeue(out _);
    }

    private sealed class Logger(RecentLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string error = exception is null ? "" : $" [{exception.GetType().Name}: {FirstLine(exception.Message)}]";
            log.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {FirstLine(formatter(state, exception))}{error}");
        }

        private static string FirstLine(string text) => text.Split('\n', 2)[0].TrimEnd();
    }
}
