using System.Diagnostics;
using System.Globalization;
using Nylas.SyncBench;
using Nylas.Testing;

// The sync benchmark: see README.md next to this file.
var culture = CultureInfo.InvariantCulture;
CultureInfo.DefaultThreadCurrentCulture = culture;
CultureInfo.CurrentCulture = culture;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

if (options.Peers && Peers.MissingTools() is { Count: > 0 } missing)
{
    Console.Error.WriteLine($"error: {string.Join(", ", missing)} not found: install the Debian packages isync, notmuch and maildir-utils (bench/peers.sh does).");
    return 2;
}
if (!BenchConsole.HasTestStack("MariaDB, Dovecot, Azurite", "NYLAS_TEST_MYSQL", "NYLAS_TEST_STORAGE", "NYLAS_TEST_IMAP_PORT")) return 2;

// Ctrl+C and `kill` (SIGTERM) cancel, so the host under test is stopped and what the run created is cleaned up.
using var cancellation = new BenchConsole.Cancellation();

var total = Stopwatch.StartNew();
try
{
    var bench = new SyncBenchmark(options, args);
    int exitCode = await bench.RunAsync(cancellation.Token);
    Console.WriteLine($"benchmark finished in {total.Elapsed.TotalSeconds:F0} s");
    return exitCode;
}
catch (OperationCanceledException) when (cancellation.Token.IsCancellationRequested)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
catch (StackUnavailableException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("       start the stack: ./dev test --services-only, then export its variables, and run again.");
    return 2;
}
