namespace Nylas.ApiBench;

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
