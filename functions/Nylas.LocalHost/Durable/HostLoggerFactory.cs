using System.Collections.Concurrent;

namespace Nylas.LocalHost.Durable;

/// <summary>
/// The durable engine's and the sidecar's way to the host's logging. The sidecar is built before the host (the worker and
/// the client need its call invoker), so it cannot be given the host's <see cref="ILoggerFactory"/>; it gets this one, and
/// its loggers write to the host's once <see cref="Attach"/> gives it (before anything starts). Without it the engine's
/// warnings and errors (a work item that failed, a give-back retried, a partition lease not renewed) went to a console of
/// their own, outside the host's log providers: a failing test's host log showed nothing of them.
/// </summary>
internal sealed class HostLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, HostLogger> _loggers = new(StringComparer.Ordinal);
    private volatile ILoggerFactory? _host;

    /// <summary>From now on every logger handed out writes to <paramref name="host"/>.</summary>
    public void Attach(ILoggerFactory host) => _host = host;

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, c => new HostLogger(this, c));

    /// <summary>The host's providers are the host's to add.</summary>
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Add log providers to the host.");

    /// <summary>The host disposes its own factory.</summary>
    public void Dispose() { }

    /// <summary>Resolves the host's logger for its category at its first use after <see cref="Attach"/> (the engine makes its loggers at construction).</summary>
    private sealed class HostLogger(HostLoggerFactory factory, string category) : ILogger
    {
        private ILogger? _target;

        private ILogger? Target
        {
            get
            {
                if (_target is not null) return _target;
                var host = factory._host;
                return host is null ? null : _target = host.CreateLogger(category);
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => Target?.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => Target?.IsEnabled(logLevel) ?? false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Target?.Log(logLevel, eventId, state, exception, formatter);
    }
}
