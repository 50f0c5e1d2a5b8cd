using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Nylas.Infra.Tests;

public sealed record BicepResult(int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed)
{
    public string Describe(string what) =>
        $"bicep {what} exited {ExitCode} after {Elapsed.TotalSeconds:F1} s{Environment.NewLine}" +
        $"--- stderr ---{Environment.NewLine}{StdErr}{Environment.NewLine}" +
        $"--- stdout (first 4000 chars) ---{Environment.NewLine}{(StdOut.Length > 4000 ? StdOut[..4000] : StdOut)}";
}

/// <summary>
/// Runs the Bicep CLI that restoring this project downloads (PackageDownload of
/// Azure.Bicep.CommandLine.linux-x64). Nothing is fetched at test time and nothing needs a network.
/// </summary>
public static class BicepCli
{
    private const string PackageId = "azure.bicep.commandline.linux-x64";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private static readonly Lazy<string> Binary = new(Locate);

    public static string Path => Binary.Value;

    public static string Version => Metadata("BicepCliVersion")
        ?? throw new InvalidOperationException("The test assembly has no BicepCliVersion metadata (see the csproj).");

    public static BicepResult Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        if (environment is not null)
        {
            foreach (var (name, value) in environment)
            {
                psi.Environment[name] = value;
            }
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(psi)
            ?? throw new InvalidOperationException($"Could not start {Path}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"bicep {string.Join(' ', args)} did not finish within {Timeout.TotalSeconds} s.");
        }

        process.WaitForExit(); // flushes the redirected streams
        return new BicepResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult(), watch.Elapsed);
    }

    public static BicepResult Run(string workingDirectory, params string[] args) => Run(workingDirectory, null, args);

    private static string Locate()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException(
                $"The infra tests run the linux-x64 Bicep CLI (NuGet {PackageId}); this machine is {RuntimeInformation.RuntimeIdentifier}.");
        }

        var candidates = PackageRoots()
            .Select(root => System.IO.Path.Combine(root, PackageId, Version, "tools", "bicep"))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var found = candidates.FirstOrDefault(File.Exists);
        if (found is null)
        {
            throw new FileNotFoundException(
                $"The Bicep CLI {Version} is not in the NuGet packages folder. It arrives with `dotnet restore tests/Nylas.Infra.Tests` " +
                $"(PackageDownload of Azure.Bicep.CommandLine.linux-x64). Looked for:{Environment.NewLine}  " +
                string.Join(Environment.NewLine + "  ", candidates));
        }

        EnsureExecutable(found);
        return found;
    }

    /// <summary>NUGET_PACKAGES if set, then the folder restore used, then the default ~/.nuget/packages.</summary>
    private static IEnumerable<string> PackageRoots()
    {
        var fromEnv = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            yield return fromEnv;
        }

        var fromRestore = Metadata("NuGetPackageRoot");
        if (!string.IsNullOrWhiteSpace(fromRestore))
        {
            yield return fromRestore;
        }

        yield return System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    }

    /// <summary>The package ships the binary as rwxr--r--: executable by its owner only.</summary>
    private static void EnsureExecutable(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var mode = File.GetUnixFileMode(file);
        if ((mode & execute) == execute)
        {
            return;
        }

        try
        {
            File.SetUnixFileMode(file, mode | execute);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidOperationException($"{file} is not executable for everyone and its mode cannot be changed: chmod +x it.", e);
        }
    }

    private static string? Metadata(string key) =>
        typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == key)?.Value;
}
