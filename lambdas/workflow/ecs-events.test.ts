/** The ECS task-state rule's handler: RUNNING when the executor starts, CANCELED once a canceled task's ECS task stopped. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTask } from '../testing/records.js';
import type { TesState } from '../domain/tes.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { onEcsTaskStateChange } from './lambda.js';

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable('tes-ecs-events');
});
afterAll(async () => {
  await table.close();
});

const stored = (state: TesState) => storeTask(table.store, 'e', state, { logs: [{ logs: [], outputs: [] }] });

const event = (id: string, lastStatus: string, executorStatus?: string) => ({
  detail: {
    group: `tes:${id}`,
    taskArn: `arn:aws:ecs:eu-west-1:1:task/c/${id}ecs`,
    lastStatus,
    containers: executorStatus ? [{ name: 'executor', lastStatus: executorStatus }] : [],
  },
});

describe('ECS task state changes', () => {
  it('set RUNNING when the executor container runs, and note the ECS task for its log stream', async () => {
    const task = await stored('INITIALIZING');
    await onEcsTaskStateChange({ store: table.store }, event(task.id, 'RUNNING', 'RUNNING'));
    const after = await table.store.get(task.id);
    expect(after?.state).toBe('RUNNING');
    expect(after?.logs[0]?.metadata).toEqual({ ecs_task_0: `arn:aws:ecs:eu-west-1:1:task/c/${task.id}ecs` });
  });

  it('leave the state alone while only stage-in runs', async () => {
    const task = await stored('INITIALIZING');
    await onEcsTaskStateChange({ store: table.store }, event(task.id, 'RUNNING', 'PENDING'));
    expect((await table.store.get(task.id))?.state).toBe('INITIALIZING');
  });

  it('make a task being canceled CANCELED once its ECS task stopped', async () => {
    const task = await stored('CANCELING');
    await onEcsTaskStateChange({ store: table.store }, event(task.id, 'RUNNING', 'RUNNING'));
    expect((await table.store.get(task.id))?.state).toBe('CANCELING');
    await onEcsTaskStateChange({ store: table.store }, event(task.id, 'STOPPED', 'STOPPED'));
    expect((await table.store.get(task.id))?.state).toBe('CANCELED');
  });

  it('ignore ECS tasks that are not TES executors', async () => {
    await expect(onEcsTaskStateChange({ store: table.store }, { detail: { group: 'service:web', lastStatus: 'STOPPED' } })).resolves.toBeUndefined();
  });
});
