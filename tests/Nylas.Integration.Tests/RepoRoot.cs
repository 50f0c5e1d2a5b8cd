namespace Nylas.Integration.Tests;

/// <summary>The repository's root (where Nylas.Functions.sln is), for tests that read its files: README, Bicep, host.json, sources.</summary>
internal static class RepoRoot
{
    public static readonly string Path = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Nylas.Functions.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root (Nylas.Functions.sln) not found above " + AppContext.BaseDirectory);
    }
}
