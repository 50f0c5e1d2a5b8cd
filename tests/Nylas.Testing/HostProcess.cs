using System.Diagnostics;

namespace Nylas.Testing;

/// <summary>
/// The built local host (Nylas.LocalHost.dll) as a child process, configured through environment variables the way
/// <c>./dev up</c> starts it: a test SIGKILLs it mid-work and starts it again over the same databases, storage and task
/// hub; a benchmark measures its CPU (<see cref="Pid"/>). Its output goes to a log file (<see cref="Tail"/>).
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly string _dll;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly Lock _log = new();
    private Process? _process;

    /// <param name="dll">Path of functions/Nylas.LocalHost/bin/…/Nylas.LocalHost.dll.</param>
    /// <param name="settings">
    /// Configuration keys as in appsettings ("Nylas:Database:Global"), passed as Nylas__Database__Global; other environment
    /// variables by their name. A null value removes the variable from what the host inherits.
    /// </param>
    public HostProcess(string dll, IReadOnlyDictionary<string, string?> settings, string logPath)
    {
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} not found: build functions/Nylas.LocalHost first.", dll);
        _dll = dll;
        _settings = settings;
        LogPath = logPath;
        Port = FreePorts.Next();
    }

    public int Port { get; }
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");
    public string LogPath { get; }
    public int Starts { get; private set; }
    public bool Running => _process is { HasExited: false };
    /// <summary>The running host's process id (for CPU readings from /proc).</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException("the host is not running");

    private ProcessStartInfo StartInfo(params string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(_dll);
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        foreach (var (key, value) in _settings)
        {
            string name = key.Replace(":", "__", StringComparison.Ordinal);
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        psi.Environment["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/');
        return psi;
    }

    /// <summary>Starts the host and waits until /health answers (it applies migrations first).</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (Running) throw new InvalidOperationException("the host is already running");
        Starts++;
        await File.AppendAllTextAsync(LogPath, $"\n===== start {Starts} at {DateTime.UtcNow:O} =====\n", cancellationToken);
        var process = Process.Start(StartInfo())!;
        _process = process;
        _ = PumpAsync(process.StandardOutput);
        _ = PumpAsync(process.StandardError);

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"the host exited with {process.ExitCode} during startup:\n{Tail()}");
            try
            {
                using var response = await http.GetAsync("/health", cancellationToken);
                return; // any answer: the API is up (health may report a dependency as degraded)
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { }
            if (sw.Elapsed > timeout) throw new TimeoutException($"the host did not answer /health within {timeout}:\n{Tail()}");
            await Task.Delay(200, cancellationToken);
        }
    }

    private async Task PumpAsync(StreamReader reader)
    {
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            lock (_log) File.AppendAllText(LogPath, line + "\n");
        }
    }

    /// <summary>SIGKILL: no shutdown, no flush, no lease given back (what a power cut or the OOM killer does).</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process || process.HasExited) return;
        process.Kill(entireProcessTree: false); // SIGKILL on Unix
        await process.WaitForExitAsync();
        lock (_log) File.AppendAllText(LogPath, $"===== SIGKILL at {DateTime.UtcNow:O} =====\n");
        process.Dispose();
        _process = null;
    }

    /// <summary>SIGTERM: the host shuts down as a service manager stops it (durable worker, sidecar, leases); SIGKILL past <paramref name="wait"/>.</summary>
    public async Task StopAsync(TimeSpan wait)
    {
        if (_process is not { } process || process.HasExited) return;
        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await term.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            process.Dispose();
            _process = null;
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    /// <summary>Runs <c>Nylas.LocalHost admin …</c> with the same configuration; returns its standard output.</summary>
    public async Task<string> AdminAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        using var process = Process.Start(StartInfo(["admin", .. arguments]))!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0) throw new InvalidOperationException($"admin {string.Join(' ', arguments)} exited {process.ExitCode}: {await error}");
        return await output;
    }

    /// <summary>A line of the caller's own in the host's log (under the lock the host's output is written with).</summary>
    public void AppendToLog(string line)
    {
        lock (_log) File.AppendAllText(LogPath, $"===== {line}\n");
    }

    /// <summary>The last lines of the host's log, for a failure message.</summary>
    public string Tail(int lines = 40)
    {
        string[] all;
        lock (_log) all = File.Exists(LogPath) ? File.ReadAllLines(LogPath) : [];
        return string.Join('\n', all.TakeLast(lines));
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
