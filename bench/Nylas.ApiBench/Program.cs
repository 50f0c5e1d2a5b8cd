using System.Globalization;
using Nylas.ApiBench;
using Nylas.Testing;

// The API benchmark: see README.md next to this file.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

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
if (!BenchConsole.HasTestStack("MariaDB, Azurite", "NYLAS_TEST_MYSQL", "NYLAS_TEST_STORAGE")) return 2;

// Ctrl+C and `kill` (SIGTERM) cancel, so the host under test is stopped and what the run created is cleaned up.
using var cancellation = new BenchConsole.Cancellation();

try
{
    return await new ApiBenchmark(options).RunAsync(cancellation.Token);
}
catch (OperationCanceledException) when (cancellation.Token.IsCancellationRequested)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
catch (StackUnavailableException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}
