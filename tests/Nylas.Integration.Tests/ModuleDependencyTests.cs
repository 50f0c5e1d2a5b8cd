using System.Text.RegularExpressions;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// The engine's modules (one folder and namespace each) depend one way, bottom to top. A file that names a module
/// above its own (a using, or a qualified name) fails here with the file and the line: move the shared type down.
/// </summary>
public partial class ModuleDependencyTests
{
    /// <summary>Bottom to top; modules on one level may use each other.</summary>
    private static readonly string[][] Levels =
    [
        ["Storage", "Security", "Telemetry"],
        ["Accounts"],
        ["MailSessions"],
        ["Queues"],
        ["Webhooks"],
        ["Ingest"],
        ["Sync", "Syncback"],
        ["Connect", "Sending", "Calendar"],
        ["Outbox", "Drafts"],
        ["Api", "Hosting"],
    ];

    private static int LevelOf(string module)
    {
        for (int i = 0; i < Levels.Length; i++)
            if (Levels[i].Contains(module)) return i;
        return -1;
    }

    [GeneratedRegex(@"\bNylas\.Engine\.([A-Z][A-Za-z]+)\b")]
    private static partial Regex ModuleReference();

    [Fact]
    public void Every_engine_folder_is_a_module_of_the_table()
    {
        string engine = Path.Combine(RepoRoot.Path, "shared", "Nylas.Engine");
        var folders = Directory.GetDirectories(engine).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToList();
        var unknown = folders.Where(f => LevelOf(f!) < 0).ToList();
        Assert.True(unknown.Count == 0, $"folders of shared/Nylas.Engine with no level in ModuleDependencyTests.Levels: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void No_module_uses_one_above_it()
    {
        string engine = Path.Combine(RepoRoot.Path, "shared", "Nylas.Engine");
        var violations = new List<string>();
        foreach (string file in Directory.GetFiles(engine, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(engine, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal)) continue;
            string[] parts = relative.Split(Path.DirectorySeparatorChar);
            if (parts.Length < 2) continue; // the composition root (EngineServiceCollectionExtensions, NylasOptions) sees every module
            string module = parts[0];
            int level = LevelOf(module);
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].TrimStart().StartsWith("//", StringComparison.Ordinal)) continue;
                foreach (Match m in ModuleReference().Matches(lines[i]))
                {
                    string used = m.Groups[1].Value;
                    int usedLevel = LevelOf(used);
                    if (usedLevel > level) violations.Add($"{relative}:{i + 1}: {module} uses {used}");
                }
            }
        }
        Assert.True(violations.Count == 0, "modules used from below:\n  " + string.Join("\n  ", violations));
    }
}
