/** A fresh dynalite-backed task table for a test file (in memory, on loopback). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoDbDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbTaskStore } from '../adapters/dynamodb-task-store.js';
import { ensureTaskTable, startDynalite } from '../local/dynamodb-local.js';

export interface TestTable {
  store: DynamoDbTaskStore;
  endpoint: string;
  close(): Promise<void>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export async function startTestTable(tableName = 'tes-test'): Promise<TestTable> {
  const dynamo = await startDynalite(credentials);
  const aws = { region: 'us-east-1', endpoints: { dynamodb: dynamo.endpoint }, credentials };
  await ensureTaskTable(new DynamoDBClient({ region: aws.region, endpoint: dynamo.endpoint, credentials }), tableName);
  return { store: new DynamoDbTaskStore(dynamoDbDocumentClient(aws), tableName), endpoint: dynamo.endpoint, close: () => dynamo.close() };
}
