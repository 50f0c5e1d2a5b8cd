// Service Bus namespace: the production transport alternative for ingest and webhook work
// (Nylas__Transport = 'ServiceBus'). Local (SAS key) auth is disabled: the function app connects
// with its managed identity via ServiceBusConnection__fullyQualifiedNamespace.

@description('Azure region for the resources.')
param location string

@description('Name of the Service Bus namespace (6-50 characters).')
@minLength(6)
@maxLength(50)
param namespaceName string

@description('Queues to create. Dead-lettered messages land in each queue\'s $DeadLetterQueue.')
param queueNames string[]

@description('Deliveries before a message is dead-lettered.')
@minValue(1)
@maxValue(2000)
param maxDeliveryCount int

@description('Tags applied to every resource.')
param tags object

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    minimumTlsVersion: '1.2'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' = [
  for name in queueNames: {
    parent: namespace
    name: name
    properties: {
      maxDeliveryCount: maxDeliveryCount
      lockDuration: 'PT1M'
      deadLetteringOnMessageExpiration: true
      defaultMessageTimeToLive: 'P14D'
      maxSizeInMegabytes: 1024
      requiresDuplicateDetection: false
      requiresSession: false
    }
  }
]

@description('Name of the namespace.')
output name string = namespace.name

// serviceBusEndpoint is https://<name>.servicebus.windows.net:443/ (cloud-specific suffix):
// strip the scheme and port to get the fully qualified namespace the SDK and the trigger expect.
@description('Fully qualified namespace, e.g. <name>.servicebus.windows.net.')
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '//')[1], ':')[0]
