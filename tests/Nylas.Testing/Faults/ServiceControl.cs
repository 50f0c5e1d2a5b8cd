using System.Diagnostics;

namespace Nylas.Testing.Faults;

/// <summary>A service of the test instance that a fault test may stop, start, hang or resume.</summary>
public enum StackService
{
    MariaDb,
    Azurite,
    Dovecot,
}

/// <summary>
/// Stops, starts, hangs (SIGSTOP) and resumes (SIGCONT) services of the test instance through
/// <c>scripts/dev/service-control.sh</c>, which <c>./dev test</c> exports as NYLAS_TEST_SERVICE_CONTROL. Without that
/// variable (e.g. a shared stack started by an older ./dev) the tests fail rather than touch services they do not own.
/// </summary>
public static class ServiceControl
{
    private static string Script => Environment.GetEnvironmentVariable("NYLAS_TEST_SERVICE_CONTROL") is { Length: > 0 } s
        ? s
        : throw new InvalidOperationException("NYLAS_TEST_SERVICE_CONTROL is not set: fault tests that stop services run only under `./dev test`, on the instance it started.");

    public static Task StopAsync(StackService service, CancellationToken cancellationToken = default) => RunAsync("stop", service, cancellationToken);
    public static Task StartAsync(StackService service, CancellationToken cancellationToken = default) => RunAsync("start", service, cancellationToken);
    public static Task HangAsync(StackService service, CancellationToken cancellationToken = default) => RunAsync("hang", service, cancellationToken);
    public static Task ResumeAsync(StackService service, CancellationToken cancellationToken = default) => RunAsync("resume", service, cancellationToken);

    /// <summary>Stops the service, waits <paramref name="downtime"/>, starts it again (also when the wait is cancelled).</summary>
    public static async Task OutageAsync(StackService service, TimeSpan downtime, CancellationToken cancellationToken = default)
    {
        await StopAsync(service, cancellationToken);
        try { await Task.Delay(downtime, cancellationToken); }
        finally { await StartAsync(service, CancellationToken.None); }
    }

    private static async Task RunAsync(string action, StackService service, CancellationToken cancellationToken)
    {
        string name = service.ToString().ToLowerInvariant();
        var psi = new ProcessStartInfo("bash", [Script, action, name]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"service-control {action} {name} failed ({process.ExitCode}): {await output}{await error}");
    }
}
