using System.Text.Json.Nodes;

namespace Nylas.Infra.Tests;

/// <summary>
/// `bicep snapshot` evaluates a .bicepparam against main.bicep offline, modules and loops included,
/// and prints the resources a deployment would create with their names and properties resolved
/// (values that exist only after deployment, such as reference(...), stay expressions).
/// </summary>
public sealed class DeploymentSnapshot
{
    public const string SubscriptionId = "00000000-0000-0000-0000-0000000000a1";
    public const string TenantId = "00000000-0000-0000-0000-0000000000b2";
    public const string ResourceGroup = "rg-nylas-snapshot";
    public const string Location = "westeurope";

    private DeploymentSnapshot(BicepResult result, string text)
    {
        Result = result;
        Text = text;
        Json = ArmJson.Parse(text, "bicep snapshot output");
        Resources = (Json["predictedResources"]?.AsArray() ?? []).OfType<JsonObject>().ToList();
    }

    public BicepResult Result { get; }

    public string Text { get; }

    public JsonObject Json { get; }

    public List<JsonObject> Resources { get; }

    public List<JsonObject> OfType(string type) => ArmJson.OfType(Resources, type);

    public JsonObject Single(string type) => Assert.Single(OfType(type));

    /// <summary>The leaf names of the resources of a type, sorted.</summary>
    public List<string> Names(string type) => OfType(type).Select(ArmJson.LeafName).Order(StringComparer.Ordinal).ToList();

    /// <summary>The app settings the deployment ends with (the sites/config 'appsettings' resource).</summary>
    public JsonObject AppSettings =>
        Assert.Single(OfType("Microsoft.Web/sites/config"), r => ArmJson.LeafName(r) == "appsettings")["properties"]!.AsObject();

    /// <summary>
    /// Snapshots a copy of infra-bicep/. With <paramref name="paramFileContent"/>, writes it as
    /// <paramref name="paramFileName"/> first; otherwise uses the file of that name from the repository.
    /// </summary>
    public static DeploymentSnapshot Take(string paramFileName, string? paramFileContent = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var copy = RepoPaths.CopyInfraToTemp();
        var paramFile = Path.Combine(copy.Path, paramFileName);
        if (paramFileContent is not null)
        {
            File.WriteAllText(paramFile, paramFileContent);
        }

        var result = BicepCli.Run(copy.Path, environment,
            "snapshot", paramFile, "--mode", "overwrite",
            "--subscription-id", SubscriptionId, "--tenant-id", TenantId,
            "--resource-group", ResourceGroup, "--location", Location,
            "--deployment-name", "main");
        Assert.True(result.ExitCode == 0, result.Describe($"snapshot {paramFileName}"));

        var snapshotFile = Path.ChangeExtension(paramFile, ".snapshot.json");
        Assert.True(File.Exists(snapshotFile), $"bicep snapshot wrote no {Path.GetFileName(snapshotFile)}.{Environment.NewLine}{result.Describe("snapshot")}");
        return new DeploymentSnapshot(result, File.ReadAllText(snapshotFile));
    }
}
