// Nylas-compatible email sync platform on Azure Functions: everything the Functions host needs in
// one resource group. See README.md for the parameters, costs and how to deploy and validate.
//
//   storage      AzureWebJobsStorage + Durable Task hub + blobs (raw-mail, files) + storage queues
//   servicebus   production transport alternative (queues ingest, webhooks)
//   mysql        MySQL 8.0 flexible server: nylas_global + nylas_shard0..N-1
//   keyvault     connection strings + credential encryption key (RBAC mode)
//   monitoring   Log Analytics + Application Insights (OpenTelemetry target)
//   functionapp  Elastic Premium plan + Linux .NET 10 isolated function app (system identity)
//   roles        data-plane roles of the app identity; then appsettings (Key Vault references)

targetScope = 'resourceGroup'

@description('Prefix of every resource name: 3-11 lowercase letters or digits, starting with a letter.')
@minLength(3)
@maxLength(11)
param baseName string = 'nylas'

@description('Azure region of every resource. Defaults to the resource group\'s region.')
param location string = resourceGroup().location

@description('Function app plan: EP1/EP2/EP3 Elastic Premium (default; prewarmed, no cold start, long-running IMAP IDLE activities) or FC1 Flex Consumption (pay per use, scales to zero apart from always-ready instances).')
@allowed([
  'EP1'
  'EP2'
  'EP3'
  'FC1'
])
param planSku string = 'EP1'

@description('Most instances the function app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 20

@description('Always-ready instances: of the app on Elastic Premium (at least 1 there), of the Durable Functions group on Flex Consumption (0 = scale to zero).')
@minValue(0)
@maxValue(20)
param alwaysReadyInstances int = 1

@description('Transport of ingest and webhook work (Nylas__Transport). The Service Bus namespace is deployed either way.')
@allowed([
  'StorageQueues'
  'ServiceBus'
])
param transport string = 'StorageQueues'

@description('Number of shard databases (nylas_shard0 .. nylas_shard<N-1>). Add shards to add capacity for new accounts; never remove one that holds accounts.')
@minValue(1)
@maxValue(64)
param shardCount int = 2

@description('Administrator login of the MySQL server (used by the app, which applies its migrations on start). Not admin, root, azure_superuser and the like.')
@minLength(1)
@maxLength(32)
param mysqlAdminLogin string = 'nylasadmin'

@description('Administrator password of the MySQL server: 8-128 characters from three of upper case, lower case, digits, symbols.')
@secure()
@minLength(8)
@maxLength(128)
param mysqlAdminPassword string

@description('MySQL compute size, e.g. Standard_B1ms / Standard_B2s (Burstable), Standard_D2ads_v5 (GeneralPurpose), Standard_E2ads_v5 (MemoryOptimized).')
param mysqlSkuName string = 'Standard_B1ms'

@description('MySQL compute tier matching mysqlSkuName.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param mysqlSkuTier string = 'Burstable'

@description('MySQL storage in GiB (auto-grow is on).')
@minValue(20)
@maxValue(16384)
param mysqlStorageSizeGB int = 32

@description('Days of MySQL point-in-time-restore backups.')
@minValue(1)
@maxValue(35)
param mysqlBackupRetentionDays int = 7

@description('Key that encrypts IMAP/SMTP passwords and OAuth refresh tokens at rest (Nylas__Security__EncryptionKey), e.g. base64 of 32 random bytes: openssl rand -base64 32.')
@secure()
@minLength(32)
param credentialEncryptionKey string

@description('After a rotation of credentialEncryptionKey: the Key Vault versions of credential-encryption-key that sealed stored credentials before (Nylas__Security__PreviousKeys__<i>). They still open them until `admin reseal` has re-sealed everything with the current key; then set this back to [].')
param previousCredentialEncryptionKeyVersions string[] = []

@description('Redundancy of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

@description('Days deleted blobs (raw MIME, attachments) stay recoverable (blob soft delete).')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int = 7

@description('CIDR ranges of your own mail servers on a private network (comma-separated, e.g. 10.20.0.0/16), reachable although private networks are refused; empty: none.')
param allowedPrivateNetworks string = ''

@description('Enable Key Vault purge protection (irreversible; recommended for production).')
param keyVaultPurgeProtection bool = false

@description('Days of log retention in Log Analytics.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Tags applied to every resource.')
param tags object = {
  application: 'nylas-sync'
}

var suffix = uniqueString(resourceGroup().id)
var names = {
  storage: toLower('${baseName}${suffix}')
  serviceBus: '${baseName}-sb-${suffix}'
  mysql: toLower('${baseName}-mysql-${suffix}')
  keyVault: '${take(baseName, 7)}-kv-${suffix}'
  workspace: '${baseName}-log-${suffix}'
  appInsights: '${baseName}-appi-${suffix}'
  plan: '${baseName}-plan-${suffix}'
  functionApp: '${baseName}-func-${suffix}'
}

var isFlex = planSku == 'FC1'
// Flex Consumption pulls the app package from this container with the app's identity.
var flexPackageContainer = 'app-package'

var globalDatabaseName = 'nylas_global'
var shardDatabaseNames = [for i in range(0, shardCount): 'nylas_shard${i}']

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    retentionInDays: logRetentionDays
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    storageAccountName: names.storage
    skuName: storageSku
    containerNames: concat(
      [
        'raw-mail'
        'files'
      ],
      isFlex ? [flexPackageContainer] : []
    )
    queueNames: [
      'ingest'
      'ingest-poison'
      'webhooks'
      'webhooks-poison'
    ]
    blobSoftDeleteDays: blobSoftDeleteDays
    tags: tags
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    location: location
    namespaceName: names.serviceBus
    queueNames: [
      'ingest'
      'webhooks'
    ]
    maxDeliveryCount: 10
    tags: tags
  }
}

module mysql 'modules/mysql.bicep' = {
  name: 'mysql'
  params: {
    location: location
    serverName: names.mysql
    administratorLogin: mysqlAdminLogin
    administratorPassword: mysqlAdminPassword
    skuName: mysqlSkuName
    skuTier: mysqlSkuTier
    storageSizeGB: mysqlStorageSizeGB
    backupRetentionDays: mysqlBackupRetentionDays
    databaseNames: concat([globalDatabaseName], shardDatabaseNames)
    tags: tags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    vaultName: names.keyVault
    enablePurgeProtection: keyVaultPurgeProtection
    mysqlFqdn: mysql.outputs.fqdn
    mysqlLogin: mysqlAdminLogin
    mysqlPassword: mysqlAdminPassword
    globalDatabaseName: globalDatabaseName
    shardDatabaseNames: shardDatabaseNames
    credentialEncryptionKey: credentialEncryptionKey
    tags: tags
  }
}

// Settings that carry no secret: present from the app's creation on. Flex Consumption takes the
// runtime and the package from functionAppConfig and rejects the first three.
var hostSettings = isFlex
  ? {}
  : {
      FUNCTIONS_EXTENSION_VERSION: '~4'
      FUNCTIONS_WORKER_RUNTIME: 'dotnet-isolated'
      // Zip deploy into the app's own storage: no Azure Files content share, so no storage key.
      WEBSITE_RUN_FROM_PACKAGE: '1'
    }
var baseSettings = union(hostSettings, {
  // Identity-based connection, used by the host, the Durable Task hub and the queue triggers.
  AzureWebJobsStorage__accountName: storage.outputs.name
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  Nylas__Storage__AccountName: storage.outputs.name
  Nylas__Transport: transport
  // The ingest triggers name their queue as %Nylas:Storage:IngestQueue%; the Functions host refuses to index a binding
  // expression whose setting is missing, so the setting is present even at its default.
  Nylas__Storage__IngestQueue: 'ingest'
  // Likewise the webhook trigger's %Nylas:Storage:WebhookQueue%.
  Nylas__Storage__WebhookQueue: 'webhooks'
  // Webhook callbacks: https only, and never to this network or the metadata endpoint (the defaults, stated).
  Nylas__Webhooks__AllowHttpLoopback: 'false'
  Nylas__Webhooks__AllowedPrivateNetworks: ''
  // /connect/authorize needs no secret: on a public deployment it must not reach this network or the metadata endpoint.
  Nylas__Connect__RefusePrivateNetworks: 'true'
  Nylas__Connect__AllowedPrivateNetworks: allowedPrivateNetworks
  ServiceBusConnection__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  // Resolved by the Functions host itself (%Nylas:…% in host.json and the timer triggers), so they must exist as
  // app settings; the values are the engine's defaults (NylasOptions).
  Nylas__Durable__TaskHub: 'nylas'
  Nylas__Timers__SyncSupervisor: '0 */2 * * * *'
  Nylas__Timers__DeletionSweep: '0 17 * * * *'
  Nylas__Timers__ChangeLogPurge: '0 23 * * * *'
})

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    planName: names.plan
    functionAppName: names.functionApp
    planSku: planSku
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyInstances: alwaysReadyInstances
    flexDeploymentContainerUrl: '${storage.outputs.blobEndpoint}${flexPackageContainer}'
    appSettings: baseSettings
    tags: tags
  }
}

// Names (not module outputs) are passed wherever they identify a resource, so that what-if can
// predict the role assignments. Storage, Service Bus and monitoring come before the function app
// (its settings name them); the vault is waited for explicitly.
module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: functionApp.outputs.principalId
    functionAppId: resourceId('Microsoft.Web/sites', names.functionApp)
    storageAccountName: names.storage
    serviceBusNamespaceName: names.serviceBus
    keyVaultName: names.keyVault
    appInsightsName: names.appInsights
  }
  dependsOn: [
    keyVault
  ]
}

// Key Vault references: the app resolves them with its identity; no secret value is an app setting.
var secretSettings = union(
  {
    Nylas__Database__Global: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.globalDbUri})'
    Nylas__Security__EncryptionKey: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.encryptionKeyUri})'
  },
  toObject(
    range(0, shardCount),
    i => 'Nylas__Database__Shards__${i}',
    i => '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.shardDbUris[i]})'
  ),
  // Versioned references: each pins an old key, while EncryptionKey follows the newest version.
  toObject(
    range(0, length(previousCredentialEncryptionKeyVersions)),
    i => 'Nylas__Security__PreviousKeys__${i}',
    i => '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.encryptionKeyUri}/${previousCredentialEncryptionKeyVersions[i]})'
  )
)

module appSettings 'modules/appsettings.bicep' = {
  name: 'appsettings'
  params: {
    functionAppName: names.functionApp
    appSettings: union(baseSettings, secretSettings)
  }
  dependsOn: [
    functionApp
    roles // the identity must be able to read the vault before the references are resolved
  ]
}

@description('Name of the function app.')
output functionAppName string = functionApp.outputs.name

@description('Default host name of the function app.')
output functionAppHostName string = functionApp.outputs.defaultHostName

@description('Base URL of the REST API.')
output apiUrl string = 'https://${functionApp.outputs.defaultHostName}'

@description('Name of the storage account.')
output storageAccountName string = storage.outputs.name

@description('Fully qualified namespace of Service Bus.')
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace

@description('Fully qualified domain name of the MySQL server.')
output mysqlServerFqdn string = mysql.outputs.fqdn

@description('Names of the MySQL databases (global first, then the shards in order).')
output mysqlDatabases string[] = concat([globalDatabaseName], shardDatabaseNames)

@description('Name of the Key Vault.')
output keyVaultName string = keyVault.outputs.name
