using System.Text.Json.Nodes;
using static Nylas.Infra.Tests.ArmJson;

namespace Nylas.Infra.Tests;

/// <summary>Compiles main.bicep once (bicep build --stdout) and checks the ARM JSON it produces.</summary>
public sealed class CompiledTemplate
{
    public CompiledTemplate()
    {
        Result = BicepCli.Run(RepoPaths.InfraDir, "build", RepoPaths.MainBicep, "--stdout");
        if (Result.ExitCode == 0)
        {
            Template = Parse(Result.StdOut, "bicep build output");
            Resources = AllTemplateResources(Template);
        }
    }

    public BicepResult Result { get; }

    public JsonObject Template { get; } = [];

    public List<JsonObject> Resources { get; } = [];
}

public sealed class BicepBuildTests(CompiledTemplate compiled) : IClassFixture<CompiledTemplate>
{
    private JsonObject Template => compiled.Template;

    private List<JsonObject> Resources => compiled.Resources;

    /// <summary>A property set to a literal, either as JSON or inside an expression (createObject('name', 'value', ...)).</summary>
    private static void AssertSets(string templateText, string property, string value) =>
        Assert.True(
            templateText.Contains($"\"{property}\":\"{value}\"", StringComparison.Ordinal) ||
            templateText.Contains($"'{property}', '{value}'", StringComparison.Ordinal),
            $"The template does not set {property} to {value}.");

    private JsonObject Module(string name) =>
        Assert.Single(OfType(Resources, "Microsoft.Resources/deployments"), d => Str(d, "name") == name);

    [Fact]
    public void Build_exits_zero_without_diagnostics()
    {
        Assert.True(compiled.Result.ExitCode == 0, compiled.Result.Describe("build main.bicep"));
        Assert.True(compiled.Result.StdErr.Trim().Length == 0, compiled.Result.Describe("build main.bicep (expected no diagnostics)"));
        Assert.NotEmpty(Resources);
    }

    [Theory]
    [InlineData("Microsoft.Storage/storageAccounts")]
    [InlineData("Microsoft.Storage/storageAccounts/blobServices")]
    [InlineData("Microsoft.Storage/storageAccounts/blobServices/containers")]
    [InlineData("Microsoft.Storage/storageAccounts/queueServices")]
    [InlineData("Microsoft.Storage/storageAccounts/queueServices/queues")]
    [InlineData("Microsoft.ServiceBus/namespaces")]
    [InlineData("Microsoft.ServiceBus/namespaces/queues")]
    [InlineData("Microsoft.DBforMySQL/flexibleServers")]
    [InlineData("Microsoft.DBforMySQL/flexibleServers/databases")]
    [InlineData("Microsoft.DBforMySQL/flexibleServers/firewallRules")]
    [InlineData("Microsoft.DBforMySQL/flexibleServers/configurations")]
    [InlineData("Microsoft.KeyVault/vaults")]
    [InlineData("Microsoft.KeyVault/vaults/secrets")]
    [InlineData("Microsoft.OperationalInsights/workspaces")]
    [InlineData("Microsoft.Insights/components")]
    [InlineData("Microsoft.Web/serverfarms")]
    [InlineData("Microsoft.Web/sites")]
    [InlineData("Microsoft.Web/sites/config")]
    [InlineData("Microsoft.Authorization/roleAssignments")]
    public void Template_declares_resource_type(string type)
    {
        Assert.True(OfType(Resources, type).Count > 0,
            $"No {type} in the compiled template. Types found:{Environment.NewLine}" +
            string.Join(Environment.NewLine, Resources.Select(r => Str(r, "type")).Distinct()));
    }

    [Fact]
    public void Storage_account_is_locked_down()
    {
        var account = Assert.Single(OfType(Resources, "Microsoft.Storage/storageAccounts"));
        Assert.Equal("StorageV2", Str(account, "kind"));
        var props = account["properties"]!;
        Assert.Equal("TLS1_2", Str(props, "minimumTlsVersion"));
        Assert.False(props["allowBlobPublicAccess"]!.GetValue<bool>());
        Assert.True(props["supportsHttpsTrafficOnly"]!.GetValue<bool>());
        Assert.False(props["allowSharedKeyAccess"]!.GetValue<bool>());
    }

    [Fact]
    public void Blob_containers_and_queues_are_the_ones_the_engine_uses()
    {
        var parameters = Module("storage")["properties"]!["parameters"]!;
        var containers = Text(parameters["containerNames"]!["value"]);
        var queues = Text(parameters["queueNames"]!["value"]);
        foreach (var name in new[] { "raw-mail", "files" })
        {
            Assert.True(containers.Contains($"'{name}'", StringComparison.Ordinal) || containers.Contains($"\"{name}\"", StringComparison.Ordinal),
                $"Container {name} is not among {containers}");
        }

        foreach (var name in new[] { "ingest", "ingest-poison", "webhooks", "webhooks-poison" })
        {
            Assert.Contains($"\"{name}\"", queues, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Function_app_runs_dotnet_isolated_10_on_linux_with_a_system_identity()
    {
        var site = Assert.Single(OfType(Resources, "Microsoft.Web/sites"));
        Assert.Equal("functionapp,linux", Str(site, "kind"));
        Assert.Equal("SystemAssigned", Str(site["identity"], "type"));
        var props = site["properties"]!;
        Assert.True(props["httpsOnly"]!.GetValue<bool>());

        // siteConfig is an expression over module variables (Flex Consumption takes no linuxFxVersion):
        // the stack, TLS and FTPS settings are in the function app module's template.
        var module = Text(Module("functionapp")["properties"]!["template"]);
        AssertSets(module, "linuxFxVersion", "DOTNET-ISOLATED|10.0");
        AssertSets(module, "minTlsVersion", "1.2");
        AssertSets(module, "ftpsState", "Disabled");
    }

    [Fact]
    public void Shard_settings_are_generated_from_shardCount_which_defaults_to_two()
    {
        var shardCount = Template["parameters"]!["shardCount"]!;
        Assert.Equal(2, shardCount["defaultValue"]!.GetValue<int>());

        // The names are built by a loop: Nylas__Database__Shards__{i} for i in range(0, shardCount).
        // The snapshot tests evaluate it; here: the compiled expression is the one we mean.
        var appSettingsModule = Module("appsettings");
        var expression = Text(appSettingsModule["properties"]!["parameters"]!["appSettings"]);
        Assert.Contains("Nylas__Database__Shards__{0}", expression, StringComparison.Ordinal);
        Assert.Contains("range(0, parameters('shardCount'))", expression, StringComparison.Ordinal);
        Assert.Contains("@Microsoft.KeyVault(SecretUri=", expression, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner")]
    [InlineData("974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Storage Queue Data Contributor")]
    [InlineData("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Storage Table Data Contributor")]
    [InlineData("090c5cfd-751d-490a-894a-3ce6f1109419", "Azure Service Bus Data Owner")]
    [InlineData("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User")]
    public void Role_definition_is_assigned(string roleDefinitionId, string roleName)
    {
        var text = compiled.Result.StdOut;
        Assert.True(text.Contains(roleDefinitionId, StringComparison.OrdinalIgnoreCase),
            $"{roleName} ({roleDefinitionId}) is not referenced by the template.");
    }

    [Fact]
    public void Outputs_name_what_an_operator_needs()
    {
        var outputs = Template["outputs"]!.AsObject();
        foreach (var name in new[] { "functionAppName", "functionAppHostName", "storageAccountName", "mysqlServerFqdn", "keyVaultName" })
        {
            Assert.True(outputs.ContainsKey(name), $"Output {name} is missing.");
        }
    }

    [Fact]
    public void Secret_parameters_are_secure_and_have_no_default()
    {
        var parameters = Template["parameters"]!.AsObject();
        foreach (var name in new[] { "mysqlAdminPassword", "credentialEncryptionKey" })
        {
            var p = parameters[name]!;
            Assert.Equal("securestring", Str(p, "type"));
            Assert.Null(p["defaultValue"]);
        }
    }
}
