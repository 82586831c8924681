/** The ECS task-state rule's handler: RUNNING when the executor starts, CANCELED once a canceled task's ECS task stopped. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTask } from '../testing/records.js';
import type { TesState, TesTaskLog } from '../domain/tes.js';
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

/** The event as ECS sends it for executor `index`'s run: Prepare put the index in stage-in's environment. */
function withIndex<T extends { detail: object }>(e: T, index: number): T {
  return { ...e, detail: { ...e.detail, overrides: { containerOverrides: [{ name: 'stage-in', environment: [{ name: 'TES_EXECUTOR_INDEX', value: String(index) }] }] } } };
}

describe('ECS task state changes', () => {
  it('set RUNNING when the executor container runs, and note the ECS task for its log stream', async () => {
    const task = await stored('INITIALIZING');
    await onEcsTaskStateChange({ store: table.store }, event(task.id, 'RUNNING', 'RUNNING'));
    const after = await table.store.get(task.id);
    expect(after?.state).toBe('RUNNING');
    expect(after?.logs[0]?.metadata).toEqual({ ecs_task_0: `arn:aws:ecs:eu-west-1:1:task/c/${task.id}ecs` });
  });

  it("note the ECS task even when the note's write loses a race, and the new ECS task of a run started again after Spot", async () => {
    const task = await stored('RUNNING');
    // Another writer moves the task on between the read and the write: the note is written anyway.
    const racing = {
      ...table.store,
      get: table.store.get.bind(table.store),
      updateLogs: table.store.updateLogs.bind(table.store),
      changeState: table.store.changeState.bind(table.store),
    };
    let raced = false;
    racing.get = async (id: string) => {
      const read = await table.store.get(id);
      if (!raced && read !== undefined) {
        raced = true;
        await table.store.updateLogs(read, [{ ...(read.logs[0] as TesTaskLog), system_logs: ['meanwhile'] }]);
      }
      return read;
    };
    await onEcsTaskStateChange({ store: racing as unknown as typeof table.store }, withIndex(event(task.id, 'RUNNING', 'RUNNING'), 0));
    const noted = await table.store.get(task.id);
    expect(noted?.logs[0]?.metadata).toEqual({ ecs_task_0: `arn:aws:ecs:eu-west-1:1:task/c/${task.id}ecs` });
    expect(noted?.logs[0]?.system_logs).toEqual(['meanwhile']);
    // The run started again (Spot): its new ECS task replaces the note; the old one's STOPPED does not undo it.
    const again = { ...withIndex(event(task.id, 'PENDING'), 0), detail: { ...withIndex(event(task.id, 'PENDING'), 0).detail, taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/second' } };
    await onEcsTaskStateChange({ store: table.store }, again);
    await onEcsTaskStateChange({ store: table.store }, withIndex(event(task.id, 'STOPPED', 'STOPPED'), 0));
    expect((await table.store.get(task.id))?.logs[0]?.metadata).toEqual({ ecs_task_0: 'arn:aws:ecs:eu-west-1:1:task/c/second' });
  });

  it("leave a run Record has written up alone when its events come late", async () => {
    const task = await storeTask(table.store, 'e', 'RUNNING', { logs: [{ logs: [{ exit_code: 0 }], outputs: [], metadata: { ecs_task_0: 'arn:first' } }] });
    await onEcsTaskStateChange({ store: table.store }, withIndex(event(task.id, 'RUNNING', 'RUNNING'), 0));
    expect((await table.store.get(task.id))?.logs[0]?.metadata).toEqual({ ecs_task_0: 'arn:first' });
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
