/** Stored tasks for tests: a minimal one-executor task in the given state, ids unique per prefix. */
import type { TaskRecord } from '../domain/task-record.js';
import type { TesState } from '../domain/tes.js';
import type { TaskStore } from '../ports/task-store.js';

const counters = new Map<string, number>();

export async function storeTask(store: TaskStore, prefix: string, state: TesState, overrides: Partial<TaskRecord> = {}): Promise<TaskRecord> {
  const n = (counters.get(prefix) ?? 0) + 1;
  counters.set(prefix, n);
  const record: TaskRecord = {
    id: `01${prefix}${String(n).padStart(8, '0')}`,
    owner: 'o',
    state,
    version: 1,
    creationTime: new Date().toISOString(),
    task: { executors: [{ image: 'a', command: ['b'] }] },
    logs: [],
    ...overrides,
  };
  await store.create(record);
  return record;
}
