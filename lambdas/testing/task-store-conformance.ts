/**
 * The TaskStore contract, as one suite that runs against every adapter (DynamoDB on dynalite, and
 * the local stack's SQLite store), so that they cannot drift: what a test asserts here holds for both.
 */
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../domain/states.js';
import type { TaskRecord } from '../domain/task-record.js';
import { StaleWriteError, type TaskStore } from '../ports/task-store.js';

export interface ConformanceOptions {
  /** Whether the adapter reports the read units a listing consumed (DynamoDB does; SQLite has none). */
  countsReadUnits: boolean;
}

/** Registers the suite; `store()` gives the adapter under test (opened by the caller's set-up). */
export function taskStoreConformance(name: string, store: () => TaskStore, options: ConformanceOptions): void {
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

  describe(`${name}: the TaskStore contract`, () => {
    it('stores a task and reads it back unchanged', async () => {
      const r = record('alice', { offloaded: [{ input: 0, key: 'k', bytes: 20000 }] });
      await store().create(r);
      expect(await store().get(r.id)).toEqual(r);
    });

    it('never overwrites an existing task', async () => {
      const r = record('alice');
      await store().create(r);
      await expect(store().create({ ...r, owner: 'mallory' })).rejects.toThrow(/conditional/i);
      expect((await store().get(r.id))?.owner).toBe('alice');
    });

    it('answers undefined for an unknown id', async () => {
      expect(await store().get('nope')).toBeUndefined();
    });

    it('lists one owner newest first, and only that owner', async () => {
      const mine = [record('lister'), record('lister'), record('lister')];
      for (const r of mine) await store().create(r);
      await store().create(record('someone-else'));
      const page = await store().listSummaries({ owner: 'lister', limit: 10 });
      expect(page.entries.map((e) => e.id)).toEqual(mine.map((r) => r.id).reverse());
      expect(page.entries[0]).toEqual({ id: mine[2]?.id, state: 'QUEUED', name: mine[2]?.task.name, tags: mine[2]?.task.tags });
      expect(page.exhausted).toBe(true);
      if (options.countsReadUnits) expect(page.readUnits).toBeGreaterThan(0);
      else expect(page.readUnits).toBe(0);
    });

    it('continues after a given id and reports when more remain', async () => {
      const rs = [record('pager'), record('pager'), record('pager'), record('pager')];
      for (const r of rs) await store().create(r);
      const first = await store().listSummaries({ owner: 'pager', limit: 2 });
      expect(first.entries.map((e) => e.id)).toEqual([rs[3]?.id, rs[2]?.id]);
      expect(first.exhausted).toBe(false);
      const second = await store().listSummaries({ owner: 'pager', limit: 5, after: rs[2]?.id });
      expect(second.entries.map((e) => e.id)).toEqual([rs[1]?.id, rs[0]?.id]);
      expect(second.exhausted).toBe(true);
    });

    it('lists by state from its own index, following state changes', async () => {
      const a = record('stater');
      const b = record('stater');
      await store().create(a);
      await store().create(b);
      await store().changeState(a, { to: 'INITIALIZING' });
      const queued = await store().listSummaries({ owner: 'stater', state: 'QUEUED', limit: 10 });
      const initializing = await store().listSummaries({ owner: 'stater', state: 'INITIALIZING', limit: 10 });
      expect(queued.entries.map((e) => e.id)).toEqual([b.id]);
      expect(initializing.entries.map((e) => e.id)).toEqual([a.id]);
    });

    it('reads many tasks in the order asked, skipping unknown ids, beyond one batch of 100', async () => {
      const rs = Array.from({ length: 120 }, () => record('batch'));
      for (const r of rs) await store().create(r);
      const ids = [...rs.map((r) => r.id)].reverse();
      const got = await store().getMany([ids[0] as string, 'missing', ...ids.slice(1)]);
      expect(got.map((r) => r.id)).toEqual(ids);
    });

    it('changes state conditionally and bumps the version', async () => {
      const r = record('changer');
      await store().create(r);
      const logs = [{ logs: [], outputs: [], system_logs: ['started'] }];
      const changed = await store().changeState(r, { to: 'INITIALIZING', logs });
      expect(changed).toMatchObject({ state: 'INITIALIZING', version: 2, logs });
      expect(await store().get(r.id)).toEqual(changed);
    });

    it('makes a stale writer lose, reporting the task as it is now', async () => {
      const r = record('racer');
      await store().create(r);
      const winner = await store().changeState(r, { to: 'CANCELING' });
      const error = await store().changeState(r, { to: 'INITIALIZING' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StaleWriteError);
      expect((error as StaleWriteError).current).toEqual(winner);
      expect((await store().get(r.id))?.state).toBe('CANCELING');
    });

    it('refuses an illegal transition before writing anything', async () => {
      const r = record('illegal', { state: 'COMPLETE' });
      await store().create(r);
      await expect(store().changeState(r, { to: 'RUNNING' })).rejects.toThrow(IllegalTransitionError);
      expect(await store().get(r.id)).toEqual(r);
    });

    it('refuses an item over DynamoDB’s 400 KB limit, storing nothing (what fits locally fits in AWS)', async () => {
      const r = record('huge', { task: { executors: [{ image: 'a', command: ['x'.repeat(420 * 1024)] }] } });
      await expect(store().create(r)).rejects.toThrow(/size/i);
      expect(await store().get(r.id)).toBeUndefined();
    });
  });

  describe(`${name}: log updates`, () => {
    it('replaces logs without touching the state, and loses to a newer writer', async () => {
      const r = record('logger');
      await store().create(r);
      const logs = [{ logs: [{ exit_code: 0 }], outputs: [] }];
      const updated = await store().updateLogs(r, logs);
      expect(updated).toMatchObject({ state: 'QUEUED', version: 2, logs });
      await expect(store().updateLogs(r, [])).rejects.toBeInstanceOf(StaleWriteError);
      expect((await store().get(r.id))?.logs).toEqual(logs);
    });
  });

  describe(`${name}: what the workflow and the broker rely on`, () => {
    it('keeps the overflow pointers with the logs, and replaces them', async () => {
      const r = record('overflow');
      await store().create(r);
      const spilled = [{ attempt: 0, executor: 3, line: 2, sha256: 'a'.repeat(64), log: 1 }];
      const outputList = { attempt: 0, executor: 0, count: 5000, report: 'b'.repeat(64) };
      const updated = await store().updateLogs(r, [{ logs: [], outputs: [] }], { spilled, outputList });
      expect(updated).toMatchObject({ version: 2, spilled, outputList });
      expect(await store().get(r.id)).toEqual(updated);
      const again = await store().updateLogs(updated, updated.logs, { spilled: [...spilled, { ...spilled[0], executor: 4, line: 3 } as (typeof spilled)[number]] });
      expect(again.spilled).toHaveLength(2);
      expect(again.outputList).toEqual(outputList);
    });

    it('lists the active tasks oldest first, in pages, and drops a task once it ends', async () => {
      const before = new Set((await store().listActive(undefined, 100_000)).ids);
      const rs = [record('active'), record('active'), record('active')];
      for (const r of rs) await store().create(r);
      const ended = await store().changeState(rs[1] as TaskRecord, { to: 'CANCELED' });
      expect(ended.state).toBe('CANCELED');
      const fresh = (await store().listActive(undefined, 100_000)).ids.filter((id) => !before.has(id));
      expect(fresh).toEqual([rs[0]?.id, rs[2]?.id]);
      const first = await store().listActive(undefined, 1);
      expect(first.ids).toHaveLength(1);
      expect(first.more).toBe(true);
      const rest = await store().listActive(rs[0]?.id, 100_000);
      expect(rest.ids).toContain(rs[2]?.id);
      expect(rest.ids).not.toContain(rs[0]?.id);
    });

    it('notes a staging run once: a second claim and a claim on no task are refused, and nothing else changes', async () => {
      const r = record('claims');
      await store().create(r);
      expect(await store().claimStagingRun(r.id, 'run-1')).toBe(true);
      expect(await store().claimStagingRun(r.id, 'run-1')).toBe(false);
      expect(await store().claimStagingRun(r.id, 'run-2')).toBe(true);
      expect(await store().claimStagingRun('01nosuchtask', 'run-1')).toBe(false);
      expect(await store().get(r.id)).toEqual(r);
      // A claim does not make a writer who read before it lose.
      expect((await store().changeState(r, { to: 'INITIALIZING' })).version).toBe(2);
    });

    it("walks every owner's tasks newest first for an admin, filtering by state and saying where it got to", async () => {
      const rs = [record('admin-a'), record('admin-b'), record('admin-a')];
      for (const r of rs) await store().create(r);
      await store().changeState(rs[1] as TaskRecord, { to: 'INITIALIZING' });
      const page = await store().listSummaries({ limit: 2 });
      expect(page.entries.map((e) => e.id)).toEqual([rs[2]?.id, rs[1]?.id]);
      expect(page.exhausted).toBe(false);
      const queued = await store().listSummaries({ limit: 3, state: 'QUEUED' });
      expect(queued.entries.map((e) => e.id)).toEqual([rs[2]?.id, rs[0]?.id]);
      expect(queued.last).toBe(rs[0]?.id);
    });
  });
}
