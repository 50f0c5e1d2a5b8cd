using System.Text.Json.Nodes;

namespace Nylas.Infra.Tests;

public sealed class BicepLintTests
{
    [Fact]
    public void Lint_is_clean()
    {
        var result = BicepCli.Run(RepoPaths.InfraDir, "lint", RepoPaths.MainBicep);

        Assert.True(result.ExitCode == 0, result.Describe("lint main.bicep"));
        Assert.True(result.StdErr.Trim().Length == 0 && result.StdOut.Trim().Length == 0,
            result.Describe("lint main.bicep (expected no diagnostics at all)"));
    }

    /// <summary>
    /// The lint test above could never fail if the rules only warned (bicep exits 0 on warnings):
    /// add an unused parameter to a copy of the template and lint must now fail.
    /// </summary>
    [Fact]
    public void Lint_fails_on_an_unused_param()
    {
        using var copy = RepoPaths.CopyInfraToTemp();
        File.AppendAllText(Path.Combine(copy.Path, "main.bicep"), "\nparam unusedProbe string = 'probe'\n");

        var result = BicepCli.Run(copy.Path, "lint", Path.Combine(copy.Path, "main.bicep"));

        Assert.True(result.ExitCode != 0, result.Describe("lint with an unused param (expected a non-zero exit)"));
        Assert.Contains("Error no-unused-params", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("unusedProbe", result.StdErr, StringComparison.Ordinal);
    }

    /// <summary>
    /// One violation per gated rule, all in one copy (one bicep run): each must be reported as an
    /// error, not a warning. (file, text to find or "" to append, replacement)
    /// </summary>
    private static readonly (string Rule, string File, string Find, string Replacement)[] Violations =
    [
        ("no-unused-vars", "main.bicep", "", "\nvar unusedProbe = 'probe'\n"),
        ("secure-parameter-default", "main.bicep", "",
            "\n@secure()\nparam probeSecret string = 'not-a-secret'\noutput probeLength int = length(probeSecret)\n"),
        ("no-hardcoded-env-urls", "main.bicep", "", "\noutput probeUrl string = 'https://management.azure.com/'\n"),
        ("outputs-should-not-contain-secrets", "main.bicep", "", "\noutput probeKey string = credentialEncryptionKey\n"),
        ("use-recent-api-versions", "modules/monitoring.bicep", "",
            "\nresource probeOld 'Microsoft.OperationalInsights/workspaces@2020-08-01' existing = {\n  name: workspaceName\n}\noutput probeId string = probeOld.id\n"),
        ("use-secure-value-for-secure-inputs", "modules/mysql.bicep",
            "administratorLoginPassword: administratorPassword", "administratorLoginPassword: 'Literal-Passw0rd'"),
    ];

    [Fact]
    public void Lint_reports_each_gated_rule_as_an_error()
    {
        using var copy = RepoPaths.CopyInfraToTemp();
        foreach (var (_, file, find, replacement) in Violations)
        {
            var path = Path.Combine(copy.Path, file);
            var source = File.ReadAllText(path);
            if (find.Length == 0)
            {
                source += replacement;
            }
            else
            {
                Assert.Contains(find, source, StringComparison.Ordinal);
                source = source.Replace(find, replacement, StringComparison.Ordinal);
            }

            File.WriteAllText(path, source);
        }

        var result = BicepCli.Run(copy.Path, "lint", Path.Combine(copy.Path, "main.bicep"));

        Assert.True(result.ExitCode != 0, result.Describe("lint with one violation per gated rule (expected a non-zero exit)"));
        var missing = Violations.Select(v => v.Rule)
            .Where(rule => !result.StdErr.Contains($"Error {rule}:", StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0,
            $"Not reported as errors: {string.Join(", ", missing)}{Environment.NewLine}{result.Describe("lint")}");
    }

    [Theory]
    [InlineData("no-unused-params")]
    [InlineData("no-unused-vars")]
    [InlineData("use-recent-api-versions")]
    [InlineData("secure-parameter-default")]
    [InlineData("outputs-should-not-contain-secrets")]
    [InlineData("no-hardcoded-env-urls")]
    [InlineData("use-secure-value-for-secure-inputs")]
    public void Bicepconfig_raises_rule_to_error(string rule)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.InfraDir, "bicepconfig.json")))!;
        var core = config["analyzers"]!["core"]!;
        Assert.True(core["enabled"]!.GetValue<bool>());
        Assert.Equal("error", ArmJson.Str(core["rules"]![rule], "level"));
    }
}
