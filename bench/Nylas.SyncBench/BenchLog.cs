using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Nylas.SyncBench;

public sealed record LogEvent(TimeSpan At, LogLevel Level, string Category, int EventId, string Message);

/// <summary>
/// The host's log while it is under test: every line to a file (with the time since the benchmark's clock
/// was last reset), warnings and errors also to the console (the first few) and kept for the report.
/// </summary>
public sealed class BenchLog : ILoggerProvider
{
    private readonly StreamWriter _file;
    private readonly object _gate = new();
    private int _printed;

    public BenchLog(string path)
    {
        Path = path;
        _file = new StreamWriter(path, append: false) { AutoFlush = true };
    }

    public string Path { get; }
    public Stopwatch Clock { get; private set; } = Stopwatch.StartNew();
    public ConcurrentQueue<LogEvent> Events { get; } = new();

    public void ResetClock(string label)
    {
        Clock = Stopwatch.StartNew();
        Write($"==== {label} (clock reset) ====");
    }

    public void Write(string line)
    {
        lock (_gate) _file.WriteLine(line);
    }

    public IEnumerable<LogEvent> Problems => Events.Where(e => e.Level >= LogLevel.Warning);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
        lock (_gate) _file.Dispose();
    }

    private sealed class Logger(BenchLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var at = owner.Clock.Elapsed;
            string message = formatter(state, exception);
            var e = new LogEvent(at, logLevel, category, eventId.Id, message);
            owner.Events.Enqueue(e);
            string line = $"[{at.TotalSeconds,9:F3}s] {logLevel,-11} {category}[{eventId.Id}] {message}";
            if (exception is not null) line += Environment.NewLine + exception;
            owner.Write(line);
            if (logLevel >= LogLevel.Warning && Interlocked.Increment(ref owner._printed) <= 20)
                Console.WriteLine($"  host {logLevel}: {category}: {message}{(exception is null ? "" : " (" + exception.GetType().Name + ": " + exception.Message.Split('\n')[0] + ")")}");
        }
    }
}
