/**
 * Forced races: a second writer slips in between a read and the conditional write that follows it.
 * Whoever writes first wins; the loser re-reads and decides again; the task ends in one consistent state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageTokens } from '../domain/page-token.js';
import type { TaskRecord } from '../domain/task-record.js';
import { RecordingWorkflow } from '../local/local-workflow.js';
import type { StateChange, TaskStore } from '../ports/task-store.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { MemoryObjects } from '../testing/memory-objects.js';
import { storeTask } from '../testing/records.js';
import { finalize } from '../workflow/finalize.js';
import type { WorkflowDeps } from '../workflow/deps.js';
import { cancelTask } from './cancel-task.js';
import type { TesDeps } from './deps.js';
import { moveTask } from './transitions.js';

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable('tes-races');
});
afterAll(async () => {
  await table.close();
});

/** A store whose first state change is preceded by `interloper` (another writer, in between). */
function racing(store: TaskStore, interloper: () => Promise<unknown>): TaskStore {
  let fired = false;
  return Object.assign(Object.create(store) as TaskStore, {
    changeState: async (read: TaskRecord, change: StateChange) => {
      if (!fired) {
        fired = true;
        await interloper();
      }
      return store.changeState(read, change);
    },
  });
}

function apiDeps(store: TaskStore): TesDeps {
  return {
    store,
    workflow: new RecordingWorkflow(),
    objects: new MemoryObjects(),
    clock: { now: () => new Date() },
    ids: { next: () => 'unused' },
    pageTokens: new PageTokens(Buffer.alloc(32, 1)),
    serviceInfo: { id: 'x', name: 'x', organization: { name: 'o', url: 'https://o' }, version: '1' },
  };
}

const workflowDeps = (store: TaskStore) => ({ store, clock: { now: () => new Date() }, sizing: { spotAllowed: false } }) as unknown as WorkflowDeps;

describe('forced races', () => {
  it('cancel against the workflow starting: the cancel re-reads and still wins', async () => {
    const task = await storeTask(table.store, 'x', 'QUEUED');
    const store = racing(table.store, async () => moveTask({ store: table.store }, (await table.store.get(task.id)) as TaskRecord, 'INITIALIZING'));
    await cancelTask(apiDeps(store), { owner: 'o', admin: false }, task.id);
    expect((await table.store.get(task.id))?.state).toBe('CANCELED');
  });

  it('cancel against completion: completion wrote first, so the task stays COMPLETE and the cancel is a no-op', async () => {
    const task = await storeTask(table.store, 'x', 'RUNNING');
    const store = racing(table.store, async () => moveTask({ store: table.store }, (await table.store.get(task.id)) as TaskRecord, 'COMPLETE'));
    const workflow = new RecordingWorkflow();
    await cancelTask({ ...apiDeps(store), workflow }, { owner: 'o', admin: false }, task.id);
    expect((await table.store.get(task.id))?.state).toBe('COMPLETE');
    expect(workflow.stopped).toEqual([]);
  });

  it('completion against cancel: the cancel wrote first, so Finalize cannot complete the task', async () => {
    const task = await storeTask(table.store, 'x', 'RUNNING');
    const store = racing(table.store, async () => moveTask({ store: table.store }, (await table.store.get(task.id)) as TaskRecord, 'CANCELING'));
    await finalize(workflowDeps(store), { taskId: task.id, outcome: {} });
    expect((await table.store.get(task.id))?.state).toBe('CANCELING');
  });

  it('two cancels at once: both answer, the task is canceled once', async () => {
    const task = await storeTask(table.store, 'x', 'RUNNING');
    const workflow = new RecordingWorkflow();
    const deps = { ...apiDeps(table.store), workflow };
    await Promise.all([cancelTask(deps, { owner: 'o', admin: false }, task.id), cancelTask(deps, { owner: 'o', admin: false }, task.id)]);
    const after = await table.store.get(task.id);
    expect(after?.state).toBe('CANCELED');
    // RUNNING → CANCELING → CANCELED: two writes, whoever made them.
    expect(after?.version).toBe(3);
  });

  it('a stale writer loses its conditional write and changes nothing', async () => {
    const task = await storeTask(table.store, 'x', 'RUNNING');
    await table.store.changeState(task, { to: 'COMPLETE' });
    await expect(table.store.changeState(task, { to: 'EXECUTOR_ERROR' })).rejects.toThrow(/changed since it was read/);
    expect((await table.store.get(task.id))?.state).toBe('COMPLETE');
  });
});
