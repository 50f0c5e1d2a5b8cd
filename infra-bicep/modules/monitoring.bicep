// Log Analytics workspace + workspace-based Application Insights.
// Application Insights is the OpenTelemetry export target of the Functions host and the worker
// (APPLICATIONINSIGHTS_CONNECTION_STRING); the Functions host authenticates with Entra ID.

@description('Azure region for the resources.')
param location string

@description('Name of the Log Analytics workspace.')
param workspaceName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Days to keep logs in the Log Analytics workspace.')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Tags applied to every resource.')
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

@description('Name of the Application Insights component.')
output appInsightsName string = appInsights.name

@description('Connection string of Application Insights (an ingestion endpoint and id, not a credential: ingestion is Entra ID authenticated).')
output connectionString string = appInsights.properties.ConnectionString
