using System.Diagnostics;

namespace Nylas.SyncBench;

/// <summary>CPU seconds used so far, per part of the system under test and for the whole machine.</summary>
/// <param name="Jit">Seconds this process's JIT spent compiling (wall time summed over the compiling threads, so with
/// their waits for a core on a busy machine: an upper bound of the JIT's part of <paramref name="Bench"/>), and
/// <paramref name="JitMethods"/> the methods it compiled: a fresh host compiles as it syncs (tier 0, then its hot methods again).</param>
/// <param name="Allocated">Bytes this process allocated on the managed heap, every thread (the garbage collector's work grows with it).</param>
/// <param name="GcPause">Seconds the garbage collector paused this process's threads.</param>
/// <param name="Collections">Garbage collections of this process, all generations (<see cref="GC.CollectionCount"/> of generation 0).</param>
/// <param name="Gen2Collections">Of those, full (generation 2) collections.</param>
/// <param name="PeakWorkingSet">This process's peak resident memory so far, bytes (VmHWM).</param>
public sealed record CpuSnapshot(double Bench, double MariaDb, double Azurite, double Dovecot, double MachineBusy, double MachineTotal,
    double Jit = 0, long JitMethods = 0, long Allocated = 0, double GcPause = 0, long Collections = 0, long Gen2Collections = 0, long PeakWorkingSet = 0)
{
    /// <summary>The difference of the counters; the peak working set is this snapshot's (a peak does not subtract).</summary>
    public CpuSnapshot Minus(CpuSnapshot o) => new(Bench - o.Bench, MariaDb - o.MariaDb, Azurite - o.Azurite, Dovecot - o.Dovecot,
        MachineBusy - o.MachineBusy, MachineTotal - o.MachineTotal, Jit - o.Jit, JitMethods - o.JitMethods, Allocated - o.Allocated, GcPause - o.GcPause,
        Collections - o.Collections, Gen2Collections - o.Gen2Collections, PeakWorkingSet);

    /// <summary>Busy CPU of everything else on the machine (other engineers' builds and tests).</summary>
    public double Others => Math.Max(0, MachineBusy - Bench - MariaDb - Azurite - Dovecot);
}

/// <summary>
/// Reads <c>/proc</c> for the test stack's processes (their pid files in the stack's state folder, found
/// from <c>NYLAS_TEST_DOVECOT_CONF</c>): MariaDB, Azurite (node) and Dovecot (the master, its live
/// children and the children it has reaped). This process is the local host: sync, ingest, API, durable.
/// </summary>
public sealed class ProcessCpu
{
    private const double TicksPerSecond = 100.0; // USER_HZ on Linux
    private readonly int? _mariaDb, _azurite, _dovecot;

    private ProcessCpu(int? mariaDb, int? azurite, int? dovecot) => (_mariaDb, _azurite, _dovecot) = (mariaDb, azurite, dovecot);

    public bool Available => OperatingSystem.IsLinux() && _mariaDb is not null && _azurite is not null && _dovecot is not null;

    public static ProcessCpu Discover()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("NYLAS_TEST_DOVECOT_CONF") is not { Length: > 0 } conf)
            return new ProcessCpu(null, null, null);
        string state = Path.GetDirectoryName(Path.GetDirectoryName(conf)!)!;
        return new ProcessCpu(
            Pid(Path.Combine(state, "mysql/run/mysqld.pid")),
            Pid(Path.Combine(state, "azurite/azurite.pid")),
            Pid(Path.Combine(state, "dovecot/run/master.pid")));
    }

    /// <summary>Resident memory of Azurite (it keeps every blob and queue message in memory here).</summary>
    public long? AzuriteRssMb()
    {
        if (_azurite is not { } pid) return null;
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        }
        catch (Exception ex) when (ex is IOException or FormatException) { return null; }
    }

    /// <summary>
    /// CPU seconds of this process's children that have ended and been waited for (<c>cutime + cstime</c> of
    /// <c>/proc/self/stat</c>): read before and after running a tool, the difference is the tool's own CPU, all threads.
    /// </summary>
    public static double ReapedChildrenSeconds()
    {
        string text = File.ReadAllText("/proc/self/stat");
        var f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(f[13]) + long.Parse(f[14])) / TicksPerSecond;
    }

    /// <summary>The 1, 5 and 15 minute load averages, as <c>/proc/loadavg</c> shows them.</summary>
    public static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static int? Pid(string file)
        => File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), out int pid) && Directory.Exists($"/proc/{pid}") ? pid : null;

    public CpuSnapshot Snapshot()
    {
        double bench = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        double jit = System.Runtime.JitInfo.GetCompilationTime().TotalSeconds;
        long jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount();
        long allocated = GC.GetTotalAllocatedBytes();
        double gcPause = GC.GetTotalPauseDuration().TotalSeconds;
        long collections = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        if (!Available) return new CpuSnapshot(bench, 0, 0, 0, 0, 0, jit, jitMethods, allocated, gcPause, collections, gen2, peak);
        var stats = ReadAll();
        double Tree(int root)
        {
            // The process with its reaped children, plus its live descendants.
            double sum = 0;
            var stack = new Stack<int>([root]);
            while (stack.Count > 0)
            {
                int pid = stack.Pop();
                if (stats.TryGetValue(pid, out var s)) sum += s.Self + s.Children;
                foreach (var (child, cs) in stats) if (cs.Parent == pid) stack.Push(child);
            }
            return sum / TicksPerSecond;
        }
        var (busy, total) = Machine();
        return new CpuSnapshot(bench, Tree(_mariaDb!.Value), Tree(_azurite!.Value), Tree(_dovecot!.Value), busy, total, jit, jitMethods, allocated, gcPause, collections, gen2, peak);
    }

    private static Dictionary<int, (int Parent, long Self, long Children)> ReadAll()
    {
        var map = new Dictionary<int, (int, long, long)>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string text = File.ReadAllText(Path.Combine(dir, "stat"));
                var f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                // after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
                map[pid] = (int.Parse(f[1]), long.Parse(f[11]) + long.Parse(f[12]), long.Parse(f[13]) + long.Parse(f[14]));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
        }
        return map;
    }

    private static (double Busy, double Total) Machine()
    {
        var parts = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        long idle = parts[3] + (parts.Length > 4 ? parts[4] : 0);
        long total = parts.Take(8).Sum();
        return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
    }
}
