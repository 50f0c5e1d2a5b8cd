// Key Vault in RBAC mode holding every secret the app needs: the MySQL connection strings (global
// and one per shard) and the key that encrypts mailbox credentials at rest. The function app reads
// them through Key Vault references (@Microsoft.KeyVault(SecretUri=...)) with its managed identity
// (Key Vault Secrets User, see roles.bicep); no access policies, no keys in app settings.

@description('Azure region for the resources.')
param location string

@description('Name of the Key Vault (3-24 letters, digits, hyphens).')
@minLength(3)
@maxLength(24)
param vaultName string

@description('Enable purge protection (cannot be turned off again; blocks reusing the name for the retention period).')
param enablePurgeProtection bool

@description('Fully qualified domain name of the MySQL server.')
param mysqlFqdn string

@description('MySQL login used by the app.')
param mysqlLogin string

@description('MySQL password used by the app.')
@secure()
param mysqlPassword string

@description('Name of the global database.')
param globalDatabaseName string

@description('Names of the shard databases, in shard order.')
param shardDatabaseNames string[]

@description('Key that encrypts mailbox credentials at rest.')
@secure()
param credentialEncryptionKey string

@description('Tags applied to every resource.')
param tags object

// ADO.NET connection string rules (MySqlConnector): a value in double quotes may hold ';' and '=',
// a double quote inside it is doubled.
var quotedPassword = '"${replace(mysqlPassword, '"', '""')}"'
var connectionPrefix = 'Server=${mysqlFqdn};Port=3306;User ID=${mysqlLogin};Password=${quotedPassword};SslMode=Required'

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource globalDbSecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'mysql-global'
  properties: {
    contentType: 'MySQL connection string'
    value: '${connectionPrefix};Database=${globalDatabaseName}'
  }
}

resource shardDbSecrets 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = [
  for (name, i) in shardDatabaseNames: {
    parent: vault
    name: 'mysql-shard-${i}'
    properties: {
      contentType: 'MySQL connection string'
      value: '${connectionPrefix};Database=${name}'
    }
  }
]

resource encryptionKeySecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'credential-encryption-key'
  properties: {
    contentType: 'Credential encryption key'
    value: credentialEncryptionKey
  }
}

@description('Name of the vault.')
output name string = vault.name

// Versionless URIs: a Key Vault reference to one follows rotations of the secret.
@description('URI of the global database connection string (not the value).')
output globalDbUri string = globalDbSecret.properties.secretUri

@description('URIs of the shard connection strings, in shard order (not the values).')
output shardDbUris string[] = [for i in range(0, length(shardDatabaseNames)): shardDbSecrets[i].properties.secretUri]

@description('URI of the credential encryption key (not the value).')
output encryptionKeyUri string = encryptionKeySecret.properties.secretUri
