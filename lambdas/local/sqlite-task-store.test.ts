import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../domain/task-record.js';
import { taskStoreConformance } from '../testing/task-store-conformance.js';
import { SqliteTaskStore } from './sqlite-task-store.js';

let dir: string;
let store: SqliteTaskStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tes-sqlite-'));
  store = new SqliteTaskStore(join(dir, 'tasks.sqlite'));
});
afterAll(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

taskStoreConformance('SqliteTaskStore', () => store, { countsReadUnits: false });

describe('SqliteTaskStore on disk', () => {
  it('keeps every committed write when reopened, its claims included', async () => {
    const path = join(dir, 'reopen.sqlite');
    const first = new SqliteTaskStore(path);
    const record: TaskRecord = {
      id: '01reopen000000000000000000',
      owner: 'o',
      state: 'QUEUED',
      version: 1,
      creationTime: new Date().toISOString(),
      task: { executors: [{ image: 'a', command: ['b'] }] },
      logs: [],
    };
    await first.create(record);
    const running = await first.changeState(record, { to: 'INITIALIZING' });
    expect(await first.claimStagingRun(record.id, 'run-1')).toBe(true);
    first.close();
    const second = new SqliteTaskStore(path);
    expect(await second.get(record.id)).toEqual(running);
    expect(await second.claimStagingRun(record.id, 'run-1')).toBe(false);
    expect((await second.listActive()).ids).toEqual([record.id]);
    second.close();
  });
});
