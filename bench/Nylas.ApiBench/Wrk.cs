using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Nylas.ApiBench;

/// <summary>Runs wrk (the Debian package) against the host with a Lua script that sets the Basic auth header and prints a machine-readable summary.</summary>
public sealed class Wrk : IDisposable
{
    private const string Marker = "APIBENCH";
    private readonly string _script;

    public Wrk(string accessToken)
    {
        // The script holds the (throwaway) access token: private to this user, deleted at the end.
        _script = Path.Combine(Path.GetTempPath(), $"apibench-{Guid.NewGuid():N}.lua");
        string basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(accessToken + ":"));
        File.WriteAllText(_script, $$"""
            -- GET with the access token as HTTP Basic username (what the Nylas v2 SDK sends).
            wrk.method = "GET"
            wrk.headers["Authorization"] = "Basic {{basic}}"
            wrk.headers["Accept"] = "application/json"

            function done(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("{{Marker}} %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.1f\n",
                summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
                latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
            end
            """);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_script, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public static string? Version()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("wrk", "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            string? line = text.Split('\n').FirstOrDefault(l => l.StartsWith("wrk", StringComparison.Ordinal))?.Trim();
            return line is null ? null : line.Split(" Copyright")[0];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    public string CommandLine(Uri url, int connections, int threads, TimeSpan duration)
        => $"wrk -c{connections} -t{threads} -d{(int)duration.TotalSeconds}s --latency -s <script> '{url}'";

    public async Task<(LoadResult Result, string Output)> RunAsync(string label, Uri url, int connections, int threads, TimeSpan duration, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { $"-c{connections}", $"-t{threads}", $"-d{(int)Math.Ceiling(duration.TotalSeconds)}s", "--latency", "--timeout", "60s", "-s", _script, url.ToString() })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        string output = await stdout;
        string line = output.Split('\n').FirstOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk printed no summary (exit {process.ExitCode}): {output}{await stderr}");
        var v = line[(Marker.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        long errors = (long)(v[3] + v[4] + v[5] + v[6] + v[7]);
        var result = new LoadResult(label, connections, TimeSpan.FromMicroseconds(v[1]), (long)v[0], errors,
            v[8] / 1000, v[9] / 1000, v[10] / 1000, v[11] / 1000, v[12] / 1000, (long)v[2]);
        var readable = string.Join('\n', output.Split('\n').Where(l => !l.StartsWith(Marker, StringComparison.Ordinal)));
        return (result, readable.TrimEnd());
    }

    public void Dispose()
    {
        try { File.Delete(_script); } catch (IOException) { }
    }
}
