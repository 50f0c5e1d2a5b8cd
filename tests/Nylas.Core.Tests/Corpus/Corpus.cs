using Nylas.Testing;

namespace Nylas.Core.Tests.Corpus;

/// <summary>
/// The shared test corpus (read-only real-world MIME): <c>$NYLAS_TEST_CORPUS</c>, else
/// <c>&lt;repo&gt;/../shared/corpus</c> where the repository root is found by walking up from the test assembly.
/// </summary>
public static class Corpus
{
    public const string EnvironmentVariable = "NYLAS_TEST_CORPUS";

    private static readonly Lazy<string?> Root = new(Locate);

    /// <summary>The corpus folder, or null when it is not there.</summary>
    public static string? Directory => Root.Value;

    /// <summary>Why the corpus tests did not run, for the skip message.</summary>
    public static string SkipReason =>
        $"CORPUS TESTS DID NOT RUN: the shared corpus was not found (set {EnvironmentVariable}, or put it at <repo>/../shared/corpus; looked at: {Looked})";

    private static string Looked = "";

    private static string? Locate()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            Looked = fromEnvironment;
            return System.IO.Directory.Exists(fromEnvironment) ? Path.GetFullPath(fromEnvironment) : null;
        }
        if (RepositoryRoot() is not { } repo)
        {
            Looked = $"no repository root above {AppContext.BaseDirectory} or {SourceDirectory()}";
            return null;
        }
        var candidate = Path.GetFullPath(Path.Combine(repo, "..", "shared", "corpus"));
        Looked = candidate;
        return System.IO.Directory.Exists(candidate) ? candidate : null;
    }

    /// <summary>
    /// The repository root: above the test assembly, or (when built with --artifacts-path outside the tree)
    /// above this source file as the compiler saw it.
    /// </summary>
    public static string? RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, SourceDirectory(), Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Nylas.Functions.sln"))) return dir.FullName;
            }
        }
        return null;
    }

    /// <summary>A test-data file kept next to these tests (tests/Nylas.Core.Tests/Corpus/).</summary>
    public static string TestDataFile(string name)
    {
        var here = Path.Combine(SourceDirectory(), name);
        if (File.Exists(here)) return here;
        return Path.Combine(RepositoryRoot() ?? ".", "tests", "Nylas.Core.Tests", "Corpus", name);
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "")
        => Path.GetDirectoryName(path) ?? ".";

    public static string PathOf(string relative) => Path.Combine(Directory!, relative);

    /// <summary>Every message of the corpus (see <see cref="CorpusMessages.Load"/>).</summary>
    public static IReadOnlyList<CorpusMessage> Messages() => CorpusMessages.Load(Directory!);
}
