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

  it("note each executor's own start (the event's time), so a second executor's running log does not show the task's start", async () => {
    const task = await stored('INITIALIZING');
    const at = (e: ReturnType<typeof event>, time: string) => ({ ...e, time });
    await onEcsTaskStateChange({ store: table.store }, at(withIndex(event(task.id, 'RUNNING', 'RUNNING'), 0), '2026-12-01T10:00:00Z'));
    let read = await table.store.get(task.id);
    expect(read?.state).toBe('RUNNING');
    expect(read?.logs[0]?.metadata).toMatchObject({ executor_0_start_time: '2026-12-01T10:00:00.000Z' });
    // Record wrote executor 0 up; executor 1 starts a minute later.
    await table.store.updateLogs(read!, [{ ...(read!.logs[0] as TesTaskLog), logs: [{ exit_code: 0 }] }]);
    await onEcsTaskStateChange({ store: table.store }, at(withIndex(event(task.id, 'RUNNING', 'RUNNING'), 1), '2026-12-01T10:01:00Z'));
    read = await table.store.get(task.id);
    expect(read?.logs[0]?.metadata).toMatchObject({ executor_0_start_time: '2026-12-01T10:00:00.000Z', executor_1_start_time: '2026-12-01T10:01:00.000Z' });
    // A repeated or late event changes nothing: the first note stands, and a run written up gets none.
    await onEcsTaskStateChange({ store: table.store }, at(withIndex(event(task.id, 'RUNNING', 'RUNNING'), 1), '2026-12-01T10:05:00Z'));
    await onEcsTaskStateChange({ store: table.store }, at(withIndex(event(task.id, 'RUNNING', 'RUNNING'), 0), '2026-12-01T10:06:00Z'));
    expect((await table.store.get(task.id))?.logs[0]?.metadata).toEqual(read?.logs[0]?.metadata);
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
