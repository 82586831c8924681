import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../domain/states.js';
import type { TaskRecord } from '../domain/task-record.js';
import { StaleWriteError } from '../ports/task-store.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
});
afterAll(async () => {
  await table.close();
});

let sequence = 0;
/** Ids sort like ULIDs: later records get larger ids. */
function record(owner: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  sequence += 1;
  return {
    id: `01t${String(sequence).padStart(8, '0')}`,
    owner,
    state: 'QUEUED',
    version: 1,
    creationTime: new Date(Date.UTC(2026, 0, 1, 0, 0, sequence)).toISOString(),
    task: { name: `task-${sequence}`, executors: [{ image: 'alpine', command: ['true'] }], tags: { n: String(sequence) } },
    logs: [],
    ...overrides,
  };
}

describe('DynamoDbTaskStore on dynalite', () => {
  it('stores a task and reads it back unchanged', async () => {
    const r = record('alice', { offloaded: [{ input: 0, key: 'k', bytes: 20000 }] });
    await table.store.create(r);
    expect(await table.store.get(r.id)).toEqual(r);
  });

  it('never overwrites an existing task', async () => {
    const r = record('alice');
    await table.store.create(r);
    await expect(table.store.create({ ...r, owner: 'mallory' })).rejects.toThrow(/conditional/i);
    expect((await table.store.get(r.id))?.owner).toBe('alice');
  });

  it('answers undefined for an unknown id', async () => {
    expect(await table.store.get('nope')).toBeUndefined();
  });

  it('lists one owner newest first, and only that owner', async () => {
    const mine = [record('lister'), record('lister'), record('lister')];
    for (const r of mine) await table.store.create(r);
    await table.store.create(record('someone-else'));
    const page = await table.store.listSummaries({ owner: 'lister', limit: 10 });
    expect(page.entries.map((e) => e.id)).toEqual(mine.map((r) => r.id).reverse());
    expect(page.entries[0]).toEqual({ id: mine[2]?.id, state: 'QUEUED', name: mine[2]?.task.name, tags: mine[2]?.task.tags });
    expect(page.exhausted).toBe(true);
    expect(page.readUnits).toBeGreaterThan(0);
  });

  it('continues after a given id and reports when more remain', async () => {
    const rs = [record('pager'), record('pager'), record('pager'), record('pager')];
    for (const r of rs) await table.store.create(r);
    const first = await table.store.listSummaries({ owner: 'pager', limit: 2 });
    expect(first.entries.map((e) => e.id)).toEqual([rs[3]?.id, rs[2]?.id]);
    expect(first.exhausted).toBe(false);
    const second = await table.store.listSummaries({ owner: 'pager', limit: 5, after: rs[2]?.id });
    expect(second.entries.map((e) => e.id)).toEqual([rs[1]?.id, rs[0]?.id]);
    expect(second.exhausted).toBe(true);
  });

  it('lists by state from its own index, following state changes', async () => {
    const a = record('stater');
    const b = record('stater');
    await table.store.create(a);
    await table.store.create(b);
    await table.store.changeState(a, { to: 'INITIALIZING' });
    const queued = await table.store.listSummaries({ owner: 'stater', state: 'QUEUED', limit: 10 });
    const initializing = await table.store.listSummaries({ owner: 'stater', state: 'INITIALIZING', limit: 10 });
    expect(queued.entries.map((e) => e.id)).toEqual([b.id]);
    expect(initializing.entries.map((e) => e.id)).toEqual([a.id]);
  });

  it('reads many tasks in the order asked, skipping unknown ids, beyond one batch of 100', async () => {
    const rs = Array.from({ length: 120 }, () => record('batch'));
    for (const r of rs) await table.store.create(r);
    const ids = [...rs.map((r) => r.id)].reverse();
    const got = await table.store.getMany([ids[0] as string, 'missing', ...ids.slice(1)]);
    expect(got.map((r) => r.id)).toEqual(ids);
  });

  it('changes state conditionally and bumps the version', async () => {
    const r = record('changer');
    await table.store.create(r);
    const logs = [{ logs: [], outputs: [], system_logs: ['started'] }];
    const changed = await table.store.changeState(r, { to: 'INITIALIZING', logs });
    expect(changed).toMatchObject({ state: 'INITIALIZING', version: 2, logs });
    expect(await table.store.get(r.id)).toEqual(changed);
  });

  it('makes a stale writer lose, reporting the task as it is now', async () => {
    const r = record('racer');
    await table.store.create(r);
    const winner = await table.store.changeState(r, { to: 'CANCELING' });
    const error = await table.store.changeState(r, { to: 'INITIALIZING' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleWriteError);
    expect((error as StaleWriteError).current).toEqual(winner);
    expect((await table.store.get(r.id))?.state).toBe('CANCELING');
  });

  it('refuses an illegal transition before writing anything', async () => {
    const r = record('illegal', { state: 'COMPLETE' });
    await table.store.create(r);
    await expect(table.store.changeState(r, { to: 'RUNNING' })).rejects.toThrow(IllegalTransitionError);
    expect(await table.store.get(r.id)).toEqual(r);
  });

  it('refuses an item over DynamoDB’s 400 KB limit, storing nothing', async () => {
    const r = record('huge', { task: { executors: [{ image: 'a', command: ['x'.repeat(420 * 1024)] }] } });
    await expect(table.store.create(r)).rejects.toThrow(/size/i);
    expect(await table.store.get(r.id)).toBeUndefined();
  });
});

describe('DynamoDbTaskStore log updates', () => {
  it('replaces logs without touching the state, and loses to a newer writer', async () => {
    const r = record('logger');
    await table.store.create(r);
    const logs = [{ logs: [{ exit_code: 0 }], outputs: [] }];
    const updated = await table.store.updateLogs(r, logs);
    expect(updated).toMatchObject({ state: 'QUEUED', version: 2, logs });
    await expect(table.store.updateLogs(r, [])).rejects.toBeInstanceOf(StaleWriteError);
    expect((await table.store.get(r.id))?.logs).toEqual(logs);
  });
});
