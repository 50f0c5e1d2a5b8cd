// Function app plan + Linux function app (.NET 10 isolated worker) with a system-assigned identity.
// Elastic Premium (EP1-EP3, the default) or Flex Consumption (FC1). Created with the settings that
// need no secret; appsettings.bicep replaces the full set (with the Key Vault references) once the
// identity holds its roles.

@description('Azure region for the resources.')
param location string

@description('Name of the App Service plan.')
param planName string

@description('Name of the function app (also the first label of its *.azurewebsites.net host name).')
@minLength(2)
@maxLength(60)
param functionAppName string

@description('Plan: Elastic Premium size, or FC1 for Flex Consumption.')
@allowed([
  'EP1'
  'EP2'
  'EP3'
  'FC1'
])
param planSku string

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Always-ready instances (Elastic Premium: of the app; Flex Consumption: of the Durable Functions group).')
@minValue(0)
@maxValue(20)
param alwaysReadyInstances int

@description('Flex Consumption only: blob container URL that holds the deployment package.')
param flexDeploymentContainerUrl string

@description('App settings without secrets, name -> value.')
param appSettings object

@description('Tags applied to every resource.')
param tags object

var isFlex = planSku == 'FC1'

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  sku: isFlex
    ? {
        name: 'FC1'
        tier: 'FlexConsumption'
      }
    : {
        name: planSku
        tier: 'ElasticPremium'
      }
  kind: isFlex ? 'functionapp' : 'elastic'
  properties: {
    reserved: true // Linux
    maximumElasticWorkerCount: isFlex ? null : maximumInstanceCount
  }
}

// Elastic Premium: the runtime stack is linuxFxVersion; code runs from a zip in the app's storage.
var premiumSiteConfig = {
  linuxFxVersion: 'DOTNET-ISOLATED|10.0'
  minimumElasticInstanceCount: max(alwaysReadyInstances, 1)
  functionsRuntimeScaleMonitoringEnabled: true
}

// Flex Consumption: the runtime stack, scale and the package location are functionAppConfig.
var flexConfig = {
  runtime: {
    name: 'dotnet-isolated'
    version: '10.0'
  }
  scaleAndConcurrency: {
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: 2048
    alwaysReady: alwaysReadyInstances > 0
      ? [
          {
            name: 'durable'
            instanceCount: alwaysReadyInstances
          }
        ]
      : []
  }
  deployment: {
    storage: {
      type: 'blobContainer'
      value: flexDeploymentContainerUrl
      authentication: {
        type: 'SystemAssignedIdentity'
      }
    }
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    reserved: true
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: 'SystemAssigned'
    publicNetworkAccess: 'Enabled'
    functionAppConfig: isFlex ? flexConfig : null
    siteConfig: union(isFlex ? {} : premiumSiteConfig, {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: map(items(appSettings), s => { name: s.key, value: s.value })
    })
  }
}

resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

@description('Name of the function app.')
output name string = site.name

@description('Default host name of the function app (the API host).')
output defaultHostName string = site.properties.defaultHostName

@description('Object id of the function app\'s system-assigned identity.')
output principalId string = site.identity.principalId
