import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../domain/task-record.js';
import { storeTask } from '../testing/records.js';
import type { TesState } from '../domain/tes.js';
import { RecordingWorkflow } from '../local/local-workflow.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { reconcile } from './reconcile.js';

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable('tes-reconcile');
});
afterAll(async () => {
  await table.close();
});

const stored = (state: TesState) => storeTask(table.store, 'r', state, { creationTime: new Date(Date.now() - 3600_000).toISOString() });

const clock = { now: () => new Date() };

describe('the reconciler', () => {
  it('resumes QUEUED tasks without a workflow, cancels CANCELING ones, ends the rest, and leaves running and ended ones alone', async () => {
    const queued = await stored('QUEUED');
    const canceling = await stored('CANCELING');
    const running = await stored('RUNNING');
    const initializing = await stored('INITIALIZING');
    const stillRunning = await stored('RUNNING');
    const complete = await stored('COMPLETE');
    const workflow = new RecordingWorkflow();
    workflow.started.push(stillRunning.id);

    const outcome = await reconcile({ store: table.store, workflow, clock }, { graceSeconds: 60 });

    expect(outcome.resumed).toEqual([queued.id]);
    expect(outcome.canceled).toEqual([canceling.id]);
    expect(outcome.ended.sort()).toEqual([running.id, initializing.id].sort());
    expect(workflow.started).toEqual([stillRunning.id, queued.id]);
    expect((await table.store.get(canceling.id))?.state).toBe('CANCELED');
    const ended = await table.store.get(running.id);
    expect(ended?.state).toBe('SYSTEM_ERROR');
    expect(ended?.logs[0]?.system_logs?.[0]).toMatch(/vanished while the task was RUNNING/);
    expect((await table.store.get(stillRunning.id))?.state).toBe('RUNNING');
    expect((await table.store.get(complete.id))?.state).toBe('COMPLETE');
  });

  it('only ever reads tasks that have not ended', async () => {
    const { ids } = await table.store.listActive();
    const states = await Promise.all(ids.map(async (id) => (await table.store.get(id))?.state));
    expect(states.every((s) => s !== undefined && !['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'].includes(s))).toBe(true);
  });

  it('gives tasks younger than the grace period time to start', async () => {
    const fresh: TaskRecord = { ...(await stored('QUEUED')), id: '01rzzzzzzzzz' };
    await table.store.create({ ...fresh, creationTime: new Date().toISOString() });
    const workflow = new RecordingWorkflow();
    await reconcile({ store: table.store, workflow, clock }, { graceSeconds: 60 });
    expect(workflow.started).not.toContain('01rzzzzzzzzz');
  });

  it('reads a few tasks at once but acts on them one after another, oldest first, and stops between any two when told', async () => {
    const queued: string[] = [];
    for (let i = 0; i < 21; i += 1) queued.push((await stored('QUEUED')).id);
    let reading = 0;
    let most = 0;
    const store = Object.create(table.store) as typeof table.store;
    store.get = async (id: string) => {
      reading += 1;
      most = Math.max(most, reading);
      try {
        await new Promise((resolve) => setTimeout(resolve, 2));
        return await table.store.get(id);
      } finally {
        reading -= 1;
      }
    };
    const workflow = new RecordingWorkflow();
    const outcome = await reconcile({ store, workflow, clock }, { graceSeconds: 60 });
    expect(outcome.resumed.filter((id) => queued.includes(id))).toEqual(queued);
    expect(workflow.started.filter((id) => queued.includes(id))).toEqual(queued);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(8);

    // Told to stop after the third start (of the 21 and more still QUEUED): nothing more is started, even among tasks already read.
    const stop = new AbortController();
    const stopping = new RecordingWorkflow();
    const start = stopping.start.bind(stopping);
    stopping.start = async (id: string) => {
      await start(id);
      if (stopping.started.length === 3) stop.abort();
    };
    await reconcile({ store, workflow: stopping, clock }, { graceSeconds: 60, signal: stop.signal });
    expect(stopping.started).toHaveLength(3);
  });

  it('gives the event loop turns while it walks, even on a store that answers at once (the local server keeps answering)', async () => {
    const records = new Map<string, TaskRecord>();
    for (let i = 0; i < 400; i += 1) {
      const id = `01q${String(i).padStart(9, '0')}`;
      records.set(id, { id, owner: 'r', state: 'QUEUED', version: 1, creationTime: new Date(Date.now() - 3600_000).toISOString(), task: { executors: [{ image: 'a', command: ['b'] }] }, logs: [] });
    }
    // Answers without I/O, as SQLite in the server process does: nothing in the walk waits on anything.
    const store = {
      listActive: () => Promise.resolve({ ids: [...records.keys()], more: false }),
      get: (id: string) => Promise.resolve(records.get(id)),
    } as unknown as typeof table.store;
    let turns = 0;
    let walking = true;
    const turn = (): void => {
      turns += 1;
      if (walking) setImmediate(turn);
    };
    setImmediate(turn);
    const workflow = new RecordingWorkflow();
    const outcome = await reconcile({ store, workflow, clock }, { graceSeconds: 60 });
    walking = false;
    expect(outcome.resumed).toHaveLength(400);
    // A turn every few tasks: a request that came meanwhile was answered within a handful of tasks.
    expect(turns).toBeGreaterThanOrEqual(400 / 8 - 1);
  });
});
