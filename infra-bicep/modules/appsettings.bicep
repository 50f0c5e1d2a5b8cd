// The function app's complete app settings. Deployed after roles.bicep so that the Key Vault
// references resolve on the first try (a reference that failed is only retried on the next config
// change or restart, or after 24 h). Replaces every setting of the app.

@description('Name of the existing function app.')
param functionAppName string

@description('Every app setting, name -> value (Key Vault references, not secret values).')
param appSettings object

resource site 'Microsoft.Web/sites@2025-03-01' existing = {
  name: functionAppName
}

resource settings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: appSettings
}
