using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Nylas.ApiBench;

/// <summary>
/// The local host (functions/Nylas.LocalHost, a Release build) as its own process, configured through environment
/// variables like an install: the benchmark's databases, a task hub and ingest queue of its own, the API rate
/// limiter off, and without DOTNET_PROCESSOR_COUNT (the test stack's exports set it; the product does not run so).
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private HostProcess(Process process, StreamWriter log, Uri baseAddress, string logPath)
        => (_process, _log, BaseAddress, LogPath) = (process, log, baseAddress, logPath);

    public Uri BaseAddress { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;

    public static async Task<HostProcess> StartAsync(string hostDll, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        int port = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(hostDll)!,
        };
        psi.ArgumentList.Add(hostDll);
        psi.Environment.Remove("DOTNET_PROCESSOR_COUNT");
        foreach (var (key, value) in settings) psi.Environment[key.Replace(":", "__")] = value;
        psi.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        string logPath = Path.Combine(Path.GetTempPath(), $"apibench-host-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var host = new HostProcess(process, log, new Uri($"http://127.0.0.1:{port}/"), logPath);

        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"the local host exited with {process.ExitCode} while starting; log: {logPath}");
            try
            {
                using var response = await http.GetAsync("health", cancellationToken);
                if (response.IsSuccessStatusCode) return host;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { }
            if (deadline.Elapsed > TimeSpan.FromSeconds(120))
            {
                await host.DisposeAsync();
                throw new InvalidOperationException($"the local host did not answer /health within 120 s; log: {logPath}");
            }
            await Task.Delay(250, cancellationToken);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the host shuts down gracefully (durable worker, sidecar); killed if it takes too long.
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
        lock (_log) _log.Dispose();
    }
}

/// <summary>CPU time of a process from /proc (utime + stime), for CPU per request.</summary>
public static class ProcessCpu
{
    public static TimeSpan? Of(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which is in parentheses and may hold spaces): state is field 3.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
            return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The MariaDB server of the test stack (the NYLAS_TEST_MYSQL port), by its pid file or listening socket.</summary>
    public static int? MariaDbPid(int port)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if ((cmdline.Contains("mariadbd", StringComparison.Ordinal) || cmdline.Contains("mysqld", StringComparison.Ordinal))
                    && cmdline.Contains($"--port={port}", StringComparison.Ordinal))
                    return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }
}
