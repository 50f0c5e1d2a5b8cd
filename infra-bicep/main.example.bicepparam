// Example parameters (see README.md). Deploy with
//   az deployment group create -g <rg> --template-file main.bicep --parameters main.example.bicepparam
// or copy this file next to main.bicep under another name to change values.
// The two secrets are read from the environment of the machine that runs the deployment, so they
// never land in a file: export NYLAS_MYSQL_ADMIN_PASSWORD and NYLAS_CREDENTIAL_ENCRYPTION_KEY first.
using './main.bicep'

param baseName = 'nylas'
param planSku = 'EP1'
param transport = 'StorageQueues'
param shardCount = 2

param mysqlAdminLogin = 'nylasadmin'
param mysqlAdminPassword = readEnvironmentVariable('NYLAS_MYSQL_ADMIN_PASSWORD')
param mysqlSkuName = 'Standard_B1ms'
param mysqlSkuTier = 'Burstable'

param credentialEncryptionKey = readEnvironmentVariable('NYLAS_CREDENTIAL_ENCRYPTION_KEY')

param tags = {
  application: 'nylas-sync'
  environment: 'production'
}
