using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Nylas.Integration.Tests;

/// <summary>
/// The last warnings and errors logged (the last 400), as entries a test can assert on and as lines with their time for
/// a failing test to print: the in-process host logs to the test run's console, which shows only with detailed
/// verbosity, and a CI log shows none of it.
/// </summary>
public sealed class RecentLog : ILoggerProvider
{
    private const int Keep = 400;
    private readonly ConcurrentQueue<Entry> _entries = new();

    /// <summary>One warning or error: its time (UTC), logger category, level, formatted message and exception.</summary>
    public sealed record Entry(DateTime Time, string Category, LogLevel Level, string Message, Exception? Exception);

    /// <summary>The entries kept, oldest first.</summary>
    public IReadOnlyList<Entry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    /// <summary>The last <paramref name="count"/> entries as one line each, oldest first.</summary>
    public IReadOnlyList<string> Tail(int count)
    {
        var all = _entries.ToArray();
        return [.. all[Math.Max(0, all.Length - count)..].Select(Format)];
    }

    private static string Format(Entry e)
    {
        string error = e.Exception is null ? "" : $" [{e.Exception.GetType().Name}: {FirstLine(e.Exception.Message)}]";
        return $"{e.Time:HH:mm:ss.fff} {e.Level} {e.Category}: {FirstLine(e.Message)}{error}";
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].TrimEnd();

    private void Add(Entry entry)
    {
        _entries.Enqueue(entry);
        while (_entries.Count > Keep) _entries.TryDequeue(out _);
    }

    private sealed class Logger(RecentLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            log.Add(new Entry(DateTime.UtcNow, category, logLevel, formatter(state, exception), exception));
        }
    }
}
