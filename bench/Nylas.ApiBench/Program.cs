using System.Globalization;
using Nylas.ApiBench;

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
var missing = new[] { "NYLAS_TEST_MYSQL", "NYLAS_TEST_STORAGE" }.Where(v => string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(v))).ToList();
if (missing.Count > 0)
{
    Console.Error.WriteLine($"error: {string.Join(", ", missing)} not set. The benchmark needs the test stack (MariaDB, Azurite):");
    Console.Error.WriteLine("       start the stack: ./dev test --services-only, then export its variables (the NYLAS_TEST_* lines it prints), and run again.");
    return 2;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    Console.Error.WriteLine("cancelling ...");
    cts.Cancel();
};
// `kill` (SIGTERM) cancels too, so the host under test is stopped and the databases are dropped.
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    Console.Error.WriteLine("SIGTERM: cancelling ...");
    cts.Cancel();
});

try
{
    return await new ApiBenchmark(options).RunAsync(cts.Token);
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
catch (StackUnavailableException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}
