using static Nylas.Infra.Tests.ArmJson;

namespace Nylas.Infra.Tests;

/// <summary>Non-default parameters: three shards, Flex Consumption, the Service Bus transport.</summary>
public sealed class FlexSnapshot
{
    public FlexSnapshot()
    {
        Snapshot = DeploymentSnapshot.Take("flex.bicepparam", """
            using './main.bicep'

            param baseName = 'mail1'
            param planSku = 'FC1'
            param transport = 'ServiceBus'
            param shardCount = 3
            param mysqlAdminPassword = 'Flex-snapshot-passw0rd'
            param credentialEncryptionKey = 'flex-snapshot-encryption-key-0123456789'
            param allowedPrivateNetworks = '10.20.0.0/16'
            param previousCredentialEncryptionKeyVersions = ['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210']
            """);
    }

    public DeploymentSnapshot Snapshot { get; }
}

public sealed class SnapshotVariantsTests(FlexSnapshot fixture) : IClassFixture<FlexSnapshot>
{
    private readonly DeploymentSnapshot flex = fixture.Snapshot;

    [Fact]
    public void Allowed_private_networks_reach_the_app_settings_and_private_networks_stay_refused()
    {
        Assert.Equal("10.20.0.0/16", Str(flex.AppSettings, "Nylas__Connect__AllowedPrivateNetworks"));
        Assert.Equal("true", Str(flex.AppSettings, "Nylas__Connect__RefusePrivateNetworks"));
    }

    [Fact]
    public void Shard_count_drives_databases_secrets_and_settings()
    {
        Assert.Equal(["nylas_global", "nylas_shard0", "nylas_shard1", "nylas_shard2"],
            flex.Names("Microsoft.DBforMySQL/flexibleServers/databases"));
        Assert.Equal(["credential-encryption-key", "mysql-global", "mysql-shard-0", "mysql-shard-1", "mysql-shard-2"],
            flex.Names("Microsoft.KeyVault/vaults/secrets"));

        var shardSettings = flex.AppSettings.Select(s => s.Key)
            .Where(k => k.StartsWith("Nylas__Database__Shards__", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        Assert.Equal(["Nylas__Database__Shards__0", "Nylas__Database__Shards__1", "Nylas__Database__Shards__2"], shardSettings);
    }

    [Fact]
    public void Previous_encryption_keys_are_versioned_key_vault_references_of_the_same_secret()
    {
        var previous = flex.AppSettings.Where(s => s.Key.StartsWith("Nylas__Security__PreviousKeys__", StringComparison.Ordinal))
            .OrderBy(s => s.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(["Nylas__Security__PreviousKeys__0", "Nylas__Security__PreviousKeys__1"], previous.Select(s => s.Key));
        // The snapshot keeps the vault's secretUri as an expression: "{0}/{1}" is that URI, a slash, the version.
        foreach (var (name, version) in new[] { ("Nylas__Security__PreviousKeys__0", "0123456789abcdef0123456789abcdef"), ("Nylas__Security__PreviousKeys__1", "fedcba9876543210fedcba9876543210") })
        {
            string value = Str(flex.AppSettings, name)!;
            Assert.Contains("'@Microsoft.KeyVault(SecretUri={0}/{1})'", value, StringComparison.Ordinal);
            Assert.Contains("/secrets/credential-encryption-key'", value, StringComparison.Ordinal);
            Assert.Contains($".secretUri, '{version}')", value, StringComparison.Ordinal);
        }
        // The current key's reference stays versionless.
        Assert.Contains("'@Microsoft.KeyVault(SecretUri={0})'", Str(flex.AppSettings, "Nylas__Security__EncryptionKey"), StringComparison.Ordinal);
    }

    [Fact]
    public void Transport_parameter_reaches_the_app()
    {
        Assert.Equal("ServiceBus", Str(flex.AppSettings, "Nylas__Transport"));
    }

    [Fact]
    public void Names_derive_from_baseName()
    {
        Assert.StartsWith("mail1-func-", Str(flex.Single("Microsoft.Web/sites"), "name"), StringComparison.Ordinal);
        Assert.StartsWith("mail1", Str(flex.Single("Microsoft.Storage/storageAccounts"), "name"), StringComparison.Ordinal);
        Assert.StartsWith("mail1-mysql-", Str(flex.Single("Microsoft.DBforMySQL/flexibleServers"), "name"), StringComparison.Ordinal);
    }

    [Fact]
    public void Flex_consumption_plan_pulls_the_package_with_the_app_identity()
    {
        var plan = flex.Single("Microsoft.Web/serverfarms");
        Assert.Equal("FC1", Str(plan["sku"], "name"));
        Assert.Equal("FlexConsumption", Str(plan["sku"], "tier"));

        var site = flex.Single("Microsoft.Web/sites");
        var config = site["properties"]!["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", Str(config["runtime"], "name"));
        Assert.Equal("10.0", Str(config["runtime"], "version"));
        var storage = config["deployment"]!["storage"]!;
        Assert.Equal("blobContainer", Str(storage, "type"));
        Assert.Equal("SystemAssignedIdentity", Str(storage["authentication"], "type"));
        Assert.Contains("app-package", Str(storage, "value"), StringComparison.Ordinal);
        Assert.Contains("app-package", flex.Names("Microsoft.Storage/storageAccounts/blobServices/containers"));

        // Flex Consumption rejects these settings; the runtime is functionAppConfig.runtime.
        Assert.Null(site["properties"]!["siteConfig"]!["linuxFxVersion"]);
        foreach (var name in new[] { "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE" })
        {
            Assert.False(flex.AppSettings.ContainsKey(name), $"{name} must not be set on Flex Consumption.");
        }
    }
}

public sealed class ExampleParametersTests
{
    [Fact]
    public void Example_parameters_file_evaluates_and_keeps_secrets_out_of_the_output()
    {
        const string password = "Example-env-Passw0rd;x";
        const string key = "example-env-encryption-key-0123456789abcdef";
        var snapshot = DeploymentSnapshot.Take("main.example.bicepparam", environment: new Dictionary<string, string>
        {
            ["NYLAS_MYSQL_ADMIN_PASSWORD"] = password,
            ["NYLAS_CREDENTIAL_ENCRYPTION_KEY"] = key,
        });

        Assert.Empty(snapshot.Json["diagnostics"]?.AsArray() ?? []);
        Assert.DoesNotContain(password, snapshot.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(key, snapshot.Text, StringComparison.Ordinal);
        Assert.Equal(["nylas_global", "nylas_shard0", "nylas_shard1"], snapshot.Names("Microsoft.DBforMySQL/flexibleServers/databases"));
        Assert.Equal("EP1", Str(snapshot.Single("Microsoft.Web/serverfarms")["sku"], "name"));
    }
}
