/**
 * The executor log store in AWS, on the wire: CloudWatch Logs as moto's server speaks it. The tail
 * of an executor's stream, the run's own ECS task over the one noted in the task, and nothing (not
 * an error) before the stream exists.
 */
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from '../../infra-tests/support/moto.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { storeTask } from '../testing/records.js';
import { CloudWatchLogStore } from './cloudwatch-log-store.js';

let moto: Moto;
let table: TestTable;
let client: CloudWatchLogsClient;
const GROUP = '/tes/executors';

beforeAll(async () => {
  [moto, table] = await Promise.all([startMoto(), startTestTable('tes-cw-logs')]);
  client = new CloudWatchLogsClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
}, 600_000);
afterAll(async () => {
  await moto?.close();
  await table?.close();
});

async function stream(ecsTaskId: string, lines: string[]): Promise<void> {
  const logStreamName = `executor/executor/${ecsTaskId}`;
  await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName }));
  const now = Date.now();
  await client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName, logEvents: lines.map((message, i) => ({ message, timestamp: now + i })) }));
}

describe('CloudWatchLogStore', () => {
  it("reads the tail of the run's stream, bounded to the bytes asked for", async () => {
    const task = await storeTask(table.store, 'o', 'RUNNING', { logs: [{ logs: [], outputs: [], metadata: { ecs_task_0: 'arn:aws:ecs:eu-west-1:1:task/c/aaa111' } }] });
    await stream('aaa111', ['first', 'second', 'third']);
    const store = new CloudWatchLogStore(client, GROUP, table.store);
    expect(await store.tail(task.id, 0, 'stdout', 1000)).toBe('first\nsecond\nthird\n');
    expect(await store.tail(task.id, 0, 'stdout', 6)).toBe('third\n');
    // awslogs merges both streams into one: stderr has nothing of its own.
    expect(await store.tail(task.id, 0, 'stderr', 1000)).toBeUndefined();
    expect(store.location(task.id, 0, 'stdout', 'arn:aws:ecs:eu-west-1:1:task/c/aaa111')).toBe(`cloudwatch-logs:${GROUP}:executor/executor/aaa111`);
  });

  it('reads the ECS task it is given over the one noted in the task (a run started again after Spot)', async () => {
    const task = await storeTask(table.store, 'o', 'RUNNING', { logs: [{ logs: [], outputs: [], metadata: { ecs_task_0: 'arn:aws:ecs:eu-west-1:1:task/c/old222' } }] });
    await stream('old222', ['interrupted']);
    await stream('new333', ['ran again']);
    const store = new CloudWatchLogStore(client, GROUP, table.store);
    expect(await store.tail(task.id, 0, 'stdout', 1000, 'arn:aws:ecs:eu-west-1:1:task/c/new333')).toBe('ran again\n');
  });

  it('answers nothing, not an error, before the stream exists or the ECS task is known', async () => {
    const noted = await storeTask(table.store, 'o', 'RUNNING', { logs: [{ logs: [], outputs: [], metadata: { ecs_task_0: 'arn:aws:ecs:eu-west-1:1:task/c/notyet' } }] });
    const unknown = await storeTask(table.store, 'o', 'INITIALIZING', { logs: [{ logs: [], outputs: [] }] });
    const store = new CloudWatchLogStore(client, GROUP, table.store);
    expect(await store.tail(noted.id, 0, 'stdout', 1000)).toBeUndefined();
    expect(await store.tail(unknown.id, 0, 'stdout', 1000)).toBeUndefined();
  });
});
