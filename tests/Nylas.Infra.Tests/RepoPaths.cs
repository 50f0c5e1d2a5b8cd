namespace Nylas.Infra.Tests;

/// <summary>Locates the repository from the test assembly: the nearest ancestor holding infra-bicep/.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string RepoRoot => Root.Value;

    public static string InfraDir => Path.Combine(RepoRoot, "infra-bicep");

    public static string MainBicep => Path.Combine(InfraDir, "main.bicep");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "infra-bicep", "main.bicep")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No ancestor of {AppContext.BaseDirectory} contains infra-bicep/main.bicep; run the tests from the repository checkout.");
    }

    /// <summary>Copies infra-bicep/ to a fresh temp folder (so a test can add files or break things there).</summary>
    public static TempDir CopyInfraToTemp()
    {
        var temp = new TempDir();
        CopyDirectory(InfraDir, temp.Path);
        return temp;
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(dir, Path.Combine(target, Path.GetFileName(dir)));
        }
    }
}

public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nylas-infra-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a leftover temp folder is no test failure
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
