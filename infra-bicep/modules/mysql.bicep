// Azure Database for MySQL Flexible Server (MySQL 8.0) holding the global database and the shard
// databases nylas_shard0..N-1 (DESIGN §4). One server holds every database here; to give each shard
// its own server, deploy this module once per shard (a `for` over the shard index, each with
// `databaseNames: ['nylas_shard${i}']`), and point Nylas__Database__Shards__<i> at that server's FQDN.

@description('Azure region for the resources.')
param location string

@description('Name of the MySQL flexible server (3-63 lowercase letters, digits, hyphens).')
@minLength(3)
@maxLength(63)
param serverName string

@description('Administrator login of the server.')
param administratorLogin string

@description('Administrator password of the server.')
@secure()
param administratorPassword string

@description('Compute size, e.g. Standard_B1ms (Burstable), Standard_D2ads_v5 (GeneralPurpose).')
param skuName string

@description('Compute tier matching skuName.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string

@description('Storage size in GiB (grows automatically).')
@minValue(20)
@maxValue(16384)
param storageSizeGB int

@description('Days of point-in-time-restore backups.')
@minValue(1)
@maxValue(35)
param backupRetentionDays int

@description('Databases to create (utf8mb4).')
param databaseNames string[]

@description('Tags applied to every resource.')
param tags object

resource server 'Microsoft.DBforMySQL/flexibleServers@2024-12-30' = {
  name: serverName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: '8.0.21'
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorPassword
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: backupRetentionDays
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

// TLS is mandatory for every client (the connection strings say SslMode=Required).
resource requireTls 'Microsoft.DBforMySQL/flexibleServers/configurations@2024-12-30' = {
  parent: server
  name: 'require_secure_transport'
  properties: {
    value: 'ON'
    source: 'user-override'
  }
}

// 0.0.0.0 - 0.0.0.0 is ARM's spelling of "allow Azure services and resources within Azure".
resource allowAzure 'Microsoft.DBforMySQL/flexibleServers/firewallRules@2024-12-30' = {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

// One at a time: the server rejects concurrent operations ("ServerIsBusy").
@batchSize(1)
resource databases 'Microsoft.DBforMySQL/flexibleServers/databases@2024-12-30' = [
  for name in databaseNames: {
    parent: server
    name: name
    properties: {
      charset: 'utf8mb4'
      collation: 'utf8mb4_unicode_ci'
    }
    dependsOn: [
      requireTls
      allowAzure
    ]
  }
]

@description('Name of the server.')
output name string = server.name

@description('Fully qualified domain name of the server.')
output fqdn string = server.properties.fullyQualifiedDomainName
