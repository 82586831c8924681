/**
 * The local DynamoDB: dynalite (the real DynamoDB wire protocol) on loopback, backed by LevelDB
 * under the data directory, or in memory. The task table is created with the same keys and
 * indexes CDK declares (task-table.ts).
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { TASK_TABLE } from '../adapters/task-table.js';
import { listen, closeServer } from './net.js';

export interface LocalDynamoDb {
  endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite; `path` persists the data there, otherwise it lives in memory. */
export async function startDynalite(path?: string): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/** Creates the task table unless it exists. */
export async function ensureTaskTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const { byOwner, byOwnerState, active, all } = TASK_TABLE.indexes;
  const index = (spec: typeof byOwner | typeof byOwnerState | typeof active | typeof all, projection: 'INCLUDE' | 'KEYS_ONLY' = 'INCLUDE') => ({
    IndexName: spec.name,
    KeySchema: [
      { AttributeName: spec.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: spec.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection:
      projection === 'INCLUDE'
        ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...TASK_TABLE.projectedAttributes] }
        : { ProjectionType: 'KEYS_ONLY' as const },
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: TASK_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: byOwner.partitionKey, AttributeType: 'S' },
        { AttributeName: byOwnerState.partitionKey, AttributeType: 'S' },
        { AttributeName: active.partitionKey, AttributeType: 'S' },
        { AttributeName: all.partitionKey, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: TASK_TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [index(byOwner), index(byOwnerState), index(active, 'KEYS_ONLY'), index(all)],
    }),
  );
}
