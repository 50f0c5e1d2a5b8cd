using System.Runtime.InteropServices;

namespace Nylas.Testing;

/// <summary>What the benchmark programs share on the command line: the test stack check and clean cancellation.</summary>
public static class BenchConsole
{
    /// <summary>False (after saying how to start the stack) when a variable of the test stack is not exported.</summary>
    public static bool HasTestStack(string services, params string[] variables)
    {
        var missing = variables.Where(v => string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(v))).ToList();
        if (missing.Count == 0) return true;
        Console.Error.WriteLine($"error: {string.Join(", ", missing)} not set. The benchmark needs the test stack ({services}):");
        Console.Error.WriteLine("       start the stack: ./dev test --services-only, then export its variables (the NYLAS_TEST_* lines it prints), and run again.");
        return false;
    }

    /// <summary>
    /// Cancelled by Ctrl+C and by `kill` (SIGTERM), so a benchmark stops what it started (hosts, databases)
    /// instead of dying with them running. Dispose it when the run ends.
    /// </summary>
    public sealed class Cancellation : IDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly PosixSignalRegistration _sigterm;

        public Cancellation()
        {
            Console.CancelKeyPress += OnCancelKey;
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                Console.Error.WriteLine("SIGTERM: cancelling ...");
                _cts.Cancel();
            });
        }

        public CancellationToken Token => _cts.Token;

        private void OnCancelKey(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true;
            Console.Error.WriteLine("cancelling ...");
            _cts.Cancel();
        }

        public void Dispose()
        {
            Console.CancelKeyPress -= OnCancelKey;
            _sigterm.Dispose();
            _cts.Dispose();
        }
    }
}
