import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dynamoDbDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbTaskStore } from '../adapters/dynamodb-task-store.js';
import { TASK_TABLE } from '../adapters/task-table.js';
import { ensureTaskTable, startDynalite, untilActive, type LocalDynamoDb } from './dynamodb-local.js';

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
let dynamo: LocalDynamoDb;
let client: DynamoDBClient;
beforeEach(async () => {
  dynamo = await startDynalite(credentials);
  client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials });
});
afterEach(async () => {
  await dynamo.close();
});

/** A table as an older version made it: without the `all` and `active` indexes, items without their keys. */
async function oldTable(name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'owner'].map((n) => ({ AttributeName: n, AttributeType: 'S' as const })),
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        { IndexName: 'byOwner', KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }, { AttributeName: 'pk', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } },
      ],
    }),
  );
  await untilActive(client, name);
  for (const [id, state] of [['01old0000000000000000000001', 'COMPLETE'], ['01old0000000000000000000002', 'RUNNING'], ['01old0000000000000000000003', 'QUEUED']] as const) {
    await client.send(
      new PutItemCommand({
        TableName: name,
        Item: {
          pk: { S: id },
          owner: { S: 'ann' },
          ownerState: { S: `${state}#ann` },
          state: { S: state },
          version: { N: '1' },
          created: { S: '2026-01-01T00:00:00.000Z' },
          task: { M: { executors: { L: [{ M: { image: { S: 'a' }, command: { L: [{ S: 'b' }] } } }] } } },
          logs: { L: [] },
        },
      }),
    );
  }
}

async function indexNames(name: string): Promise<string[]> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  return (Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName as string).sort();
}

async function expectUpToDate(name: string): Promise<void> {
  expect(await indexNames(name)).toEqual(Object.values(TASK_TABLE.indexes).map((i) => i.name).sort());
  const store = new DynamoDbTaskStore(dynamoDbDocumentClient({ region: 'us-east-1', endpoints: { dynamodb: dynamo.endpoint }, credentials }), name);
  const all = await store.listSummaries({ limit: 10 });
  expect(all.entries.map((e) => e.id)).toEqual(['01old0000000000000000000003', '01old0000000000000000000002', '01old0000000000000000000001']);
  expect((await store.listActive()).ids).toEqual(['01old0000000000000000000002', '01old0000000000000000000003']);
  expect((await store.get('01old0000000000000000000002'))?.state).toBe('RUNNING');
  expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([name]);
}

describe('the local task table', () => {
  it('is created with every index', async () => {
    expect(await ensureTaskTable(client, 'fresh')).toBe(0);
    expect(await indexNames('fresh')).toEqual(Object.values(TASK_TABLE.indexes).map((i) => i.name).sort());
    expect(await ensureTaskTable(client, 'fresh')).toBe(0);
  });

  it("of an older version is brought up to date, keeping every task, so admins list and the reconciler sees them", async () => {
    await oldTable('tasks');
    expect(await ensureTaskTable(client, 'tasks')).toBe(3);
    await expectUpToDate('tasks');
  });

  it('is brought up to date by the next start when an upgrade was killed after copying', async () => {
    // Killed after the side table was complete and the table dropped: the next start finishes.
    await oldTable('tasks');
    await oldTable('tasks-upgrading');
    await client.send(new PutItemCommand({ TableName: 'tasks-upgrading', Item: { pk: { S: '\u0000complete' } } }));
    await client.send(new DeleteTableCommand({ TableName: 'tasks' }));
    expect(await ensureTaskTable(client, 'tasks')).toBe(3);
    await expectUpToDate('tasks');
  });

  it('starts an upgrade afresh when the copy was cut short (no marker), the table itself being intact', async () => {
    await oldTable('tasks');
    await oldTable('tasks-upgrading');
    expect(await ensureTaskTable(client, 'tasks')).toBe(3);
    await expectUpToDate('tasks');
  });
});
