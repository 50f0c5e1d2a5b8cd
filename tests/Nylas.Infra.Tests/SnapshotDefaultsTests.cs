using System.Text.Json.Nodes;
using static Nylas.Infra.Tests.ArmJson;

namespace Nylas.Infra.Tests;

/// <summary>main.bicep with every parameter at its default except the two secrets.</summary>
public sealed class DefaultsSnapshot
{
    public const string MysqlPassword = "Snapshot;Pass\"w0rd-1f3a";
    public const string EncryptionKey = "snapshot-encryption-key-7c1d0e9b5a2f4c68";

    public DefaultsSnapshot()
    {
        Snapshot = DeploymentSnapshot.Take("defaults.bicepparam", $$"""
            using './main.bicep'

            param mysqlAdminPassword = '{{MysqlPassword.Replace("'", "\\'", StringComparison.Ordinal)}}'
            param credentialEncryptionKey = '{{EncryptionKey}}'
            """);
    }

    public DeploymentSnapshot Snapshot { get; }
}

public sealed class SnapshotDefaultsTests(DefaultsSnapshot fixture) : IClassFixture<DefaultsSnapshot>
{
    private const string KeyVaultReference = "@Microsoft.KeyVault(SecretUri=";
    private readonly DeploymentSnapshot snapshot = fixture.Snapshot;

    [Fact]
    public void Snapshot_has_no_diagnostics()
    {
        Assert.Empty(snapshot.Json["diagnostics"]?.AsArray() ?? []);
        Assert.True(snapshot.Result.StdErr.Trim().Length == 0, snapshot.Result.Describe("snapshot"));
    }

    [Fact]
    public void Secret_values_do_not_appear_in_the_evaluated_deployment()
    {
        Assert.DoesNotContain(DefaultsSnapshot.MysqlPassword, snapshot.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(DefaultsSnapshot.EncryptionKey, snapshot.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Storage_account_containers_and_queues()
    {
        var account = snapshot.Single("Microsoft.Storage/storageAccounts");
        Assert.Equal("StorageV2", Str(account, "kind"));
        Assert.Equal(DeploymentSnapshot.Location, Str(account, "location"));
        var props = account["properties"]!;
        Assert.Equal("TLS1_2", Str(props, "minimumTlsVersion"));
        Assert.False(props["allowBlobPublicAccess"]!.GetValue<bool>());
        Assert.True(props["supportsHttpsTrafficOnly"]!.GetValue<bool>());
        Assert.False(props["allowSharedKeyAccess"]!.GetValue<bool>());
        var name = Str(account, "name")!;
        Assert.InRange(name.Length, 3, 24);
        Assert.Matches("^[a-z0-9]+$", name);

        Assert.Equal(["files", "raw-mail"], snapshot.Names("Microsoft.Storage/storageAccounts/blobServices/containers"));
        Assert.All(snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"),
            c => Assert.Equal("None", Str(c["properties"], "publicAccess")));
        Assert.Equal(["ingest", "ingest-poison", "webhooks", "webhooks-poison"],
            snapshot.Names("Microsoft.Storage/storageAccounts/queueServices/queues"));
    }

    [Fact]
    public void Service_bus_standard_with_dead_lettering_queues()
    {
        var ns = snapshot.Single("Microsoft.ServiceBus/namespaces");
        Assert.Equal("Standard", Str(ns["sku"], "name"));
        Assert.True(ns["properties"]!["disableLocalAuth"]!.GetValue<bool>());

        Assert.Equal(["ingest", "webhooks"], snapshot.Names("Microsoft.ServiceBus/namespaces/queues"));
        Assert.All(snapshot.OfType("Microsoft.ServiceBus/namespaces/queues"), q =>
        {
            Assert.Equal(10, q["properties"]!["maxDeliveryCount"]!.GetValue<int>());
            Assert.True(q["properties"]!["deadLetteringOnMessageExpiration"]!.GetValue<bool>());
        });
    }

    [Fact]
    public void Mysql_server_holds_the_global_and_two_shard_databases_over_tls()
    {
        var server = snapshot.Single("Microsoft.DBforMySQL/flexibleServers");
        Assert.StartsWith("8.0", Str(server["properties"], "version"), StringComparison.Ordinal);
        Assert.Equal("nylasadmin", Str(server["properties"], "administratorLogin"));

        Assert.Equal(["nylas_global", "nylas_shard0", "nylas_shard1"], snapshot.Names("Microsoft.DBforMySQL/flexibleServers/databases"));

        var tls = Assert.Single(snapshot.OfType("Microsoft.DBforMySQL/flexibleServers/configurations"),
            c => LeafName(c) == "require_secure_transport");
        Assert.Equal("ON", Str(tls["properties"], "value"));

        var firewall = Assert.Single(snapshot.OfType("Microsoft.DBforMySQL/flexibleServers/firewallRules"));
        Assert.Equal("0.0.0.0", Str(firewall["properties"], "startIpAddress"));
        Assert.Equal("0.0.0.0", Str(firewall["properties"], "endIpAddress"));
    }

    [Fact]
    public void Key_vault_in_rbac_mode_holds_connection_strings_and_the_encryption_key()
    {
        var vault = snapshot.Single("Microsoft.KeyVault/vaults");
        Assert.True(vault["properties"]!["enableRbacAuthorization"]!.GetValue<bool>());
        Assert.Null(vault["properties"]!["accessPolicies"]);
        Assert.InRange(Str(vault, "name")!.Length, 3, 24);

        Assert.Equal(["credential-encryption-key", "mysql-global", "mysql-shard-0", "mysql-shard-1"],
            snapshot.Names("Microsoft.KeyVault/vaults/secrets"));

        // The value is built from the secure parameter, which the snapshot leaves unevaluated.
        var shard1 = Assert.Single(snapshot.OfType("Microsoft.KeyVault/vaults/secrets"), s => LeafName(s) == "mysql-shard-1");
        var value = Str(shard1["properties"], "value")!;
        Assert.Contains("SslMode=Required", value, StringComparison.Ordinal);
        Assert.Contains("'nylas_shard1'", value, StringComparison.Ordinal);
        Assert.Contains("parameters('mysqlAdminPassword')", value, StringComparison.Ordinal);
    }

    [Fact]
    public void Monitoring_is_workspace_based_application_insights()
    {
        snapshot.Single("Microsoft.OperationalInsights/workspaces");
        var ai = snapshot.Single("Microsoft.Insights/components");
        Assert.Contains("Microsoft.OperationalInsights/workspaces/", Str(ai["properties"], "WorkspaceResourceId"), StringComparison.Ordinal);
    }

    [Fact]
    public void Function_app_is_linux_dotnet_isolated_10_on_elastic_premium()
    {
        var plan = snapshot.Single("Microsoft.Web/serverfarms");
        Assert.Equal("EP1", Str(plan["sku"], "name"));
        Assert.Equal("ElasticPremium", Str(plan["sku"], "tier"));
        Assert.True(plan["properties"]!["reserved"]!.GetValue<bool>());

        var site = snapshot.Single("Microsoft.Web/sites");
        Assert.Equal("functionapp,linux", Str(site, "kind"));
        Assert.Equal("SystemAssigned", Str(site["identity"], "type"));
        var props = site["properties"]!;
        Assert.True(props["httpsOnly"]!.GetValue<bool>());
        var config = props["siteConfig"]!;
        Assert.Equal("DOTNET-ISOLATED|10.0", Str(config, "linuxFxVersion"));
        Assert.Equal("1.2", Str(config, "minTlsVersion"));
        Assert.Equal("Disabled", Str(config, "ftpsState"));
    }

    [Fact]
    public void App_settings_are_identity_based_and_reference_key_vault()
    {
        var settings = snapshot.AppSettings;
        var storageName = Str(snapshot.Single("Microsoft.Storage/storageAccounts"), "name");

        Assert.Equal("~4", Str(settings, "FUNCTIONS_EXTENSION_VERSION"));
        Assert.Equal("dotnet-isolated", Str(settings, "FUNCTIONS_WORKER_RUNTIME"));
        Assert.Equal(storageName, Str(settings, "AzureWebJobsStorage__accountName"));
        Assert.Equal(storageName, Str(settings, "Nylas__Storage__AccountName"));
        Assert.Equal("StorageQueues", Str(settings, "Nylas__Transport"));
        Assert.Equal("ingest", Str(settings, "Nylas__Storage__IngestQueue"));
        Assert.Equal("true", Str(settings, "Nylas__Connect__RefusePrivateNetworks"));
        // Webhook callbacks: https only, public addresses only.
        Assert.Equal("webhooks", Str(settings, "Nylas__Storage__WebhookQueue"));
        Assert.Equal("false", Str(settings, "Nylas__Webhooks__AllowHttpLoopback"));
        Assert.Equal("", Str(settings, "Nylas__Webhooks__AllowedPrivateNetworks"));
        Assert.Equal("", Str(settings, "Nylas__Connect__AllowedPrivateNetworks"));
        Assert.Contains("serviceBusEndpoint", Str(settings, "ServiceBusConnection__fullyQualifiedNamespace"), StringComparison.Ordinal);
        Assert.Contains("ConnectionString", Str(settings, "APPLICATIONINSIGHTS_CONNECTION_STRING"), StringComparison.Ordinal);

        // No key or connection string of a storage account anywhere.
        Assert.DoesNotContain(settings, s => s.Key == "AzureWebJobsStorage");
        Assert.DoesNotContain(settings, s => s.Key.StartsWith("WEBSITE_CONTENT", StringComparison.Ordinal));

        AssertKeyVaultReference(settings, "Nylas__Database__Global", "mysql-global");
        AssertKeyVaultReference(settings, "Nylas__Security__EncryptionKey", "credential-encryption-key");
        AssertKeyVaultReference(settings, "Nylas__Database__Shards__0", "mysql-shard-0");
        AssertKeyVaultReference(settings, "Nylas__Database__Shards__1", "mysql-shard-1");
        Assert.False(settings.ContainsKey("Nylas__Database__Shards__2"), "shardCount defaults to 2: shards 0 and 1 only.");
        Assert.DoesNotContain(settings, s => s.Key.StartsWith("Nylas__Security__PreviousKeys", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Microsoft.Storage/storageAccounts", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b")] // Storage Blob Data Owner
    [InlineData("Microsoft.Storage/storageAccounts", "974c5e8b-45b9-4653-ba55-5f855dd0fb88")] // Storage Queue Data Contributor
    [InlineData("Microsoft.Storage/storageAccounts", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3")] // Storage Table Data Contributor
    [InlineData("Microsoft.ServiceBus/namespaces", "090c5cfd-751d-490a-894a-3ce6f1109419")] // Azure Service Bus Data Owner
    [InlineData("Microsoft.KeyVault/vaults", "4633458b-17de-408a-b874-0445c86b69e6")] // Key Vault Secrets User
    [InlineData("Microsoft.Insights/components", "3913510d-42f4-4e42-8a64-420c390055eb")] // Monitoring Metrics Publisher
    public void Function_app_identity_holds_role_on_resource(string scopeType, string roleDefinitionGuid)
    {
        var scopeId = Str(snapshot.Single(scopeType), "id")!;
        var site = snapshot.Single("Microsoft.Web/sites");

        var assignment = Assert.Single(snapshot.OfType("Microsoft.Authorization/roleAssignments"), a =>
            Str(a, "id")!.StartsWith(scopeId + "/providers/Microsoft.Authorization/roleAssignments/", StringComparison.OrdinalIgnoreCase) &&
            Str(a["properties"], "roleDefinitionId")!.EndsWith("/" + roleDefinitionGuid, StringComparison.OrdinalIgnoreCase));

        Assert.Equal("ServicePrincipal", Str(assignment["properties"], "principalType"));
        var principal = Str(assignment["properties"], "principalId")!;
        Assert.Contains(Str(site, "id")!, principal, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("identity.principalId", principal, StringComparison.Ordinal);
    }

    [Fact]
    public void Outputs_resolve_to_the_deployed_names()
    {
        var outputs = snapshot.Json["outputs"]!.AsObject();
        Assert.Equal(Str(snapshot.Single("Microsoft.Web/sites"), "name"), Str(outputs, "functionAppName"));
        Assert.Equal(Str(snapshot.Single("Microsoft.Storage/storageAccounts"), "name"), Str(outputs, "storageAccountName"));
        Assert.Equal(Str(snapshot.Single("Microsoft.KeyVault/vaults"), "name"), Str(outputs, "keyVaultName"));
        Assert.Contains("fullyQualifiedDomainName", Str(outputs, "mysqlServerFqdn"), StringComparison.Ordinal);
        Assert.Contains("defaultHostName", Str(outputs, "functionAppHostName"), StringComparison.Ordinal);
    }

    private static void AssertKeyVaultReference(JsonObject settings, string name, string secretName)
    {
        var value = Str(settings, name);
        Assert.True(value is not null, $"App setting {name} is missing.");
        Assert.Contains(KeyVaultReference, value, StringComparison.Ordinal);
        Assert.Contains($"/secrets/{secretName}'", value, StringComparison.Ordinal);
    }
}
