/**
 * Stopping the local stack in the middle of running tasks and starting it again: tasks persist, and
 * none stays unfinished (the reconciler resumes or ends each, with the reason).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { RecordingWorkflow } from '../lambdas/local/local-workflow.js';
import { DataDirInUseError } from '../lambdas/local/ownership.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { chooseRuntime } from '../lambdas/local/runtimes.js';
import { TesHttp } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';
import { startTestStack } from './support/local-stack.js';
import { TEST_IMAGE } from './support/test-image.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tes-restart-test-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function client(stack: LocalStack): TesHttp {
  return new TesHttp({ url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers: {}, close: () => Promise.resolve() });
}

describe('restarting the local stack', () => {
  it('keeps finished tasks and ends the ones it interrupted', async () => {
    const first = await startTestStack({ port: 0, dataDir });
    const tes = client(first);
    const done = (await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['echo', 'kept'] }] }))).body.id;
    await waitForTerminal((path) => tes.get<TesTask>(path), done);
    const interrupted = (await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '60'] }] }))).body.id;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await tes.get<TesTask>(`/tasks/${interrupted}`)).body.state !== 'RUNNING') {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await first.close();

    const second = await startTestStack({ port: 0, dataDir });
    try {
      const again = client(second);
      expect((await second.reconciled).ended).toEqual([interrupted]);
      const kept = await again.get<TesTask>(`/tasks/${done}?view=FULL`);
      expect(kept.body.state).toBe('COMPLETE');
      expect(kept.body.logs?.[0]?.logs[0]?.stdout).toBe('kept\n');
      const ended = await again.get<TesTask>(`/tasks/${interrupted}?view=FULL`);
      expect(ended.body.state).toBe('SYSTEM_ERROR');
      expect(ended.body.logs?.[0]?.system_logs?.join('\n')).toMatch(/reconciler/);
      expect((await again.get<{ tasks: TesTask[] }>('/tasks')).body.tasks.map((t) => t.id)).toEqual([interrupted, done]);
    } finally {
      await second.close();
    }
  });

  it('answers at once however many tasks the last run left, and resumes them meanwhile (none created since)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tes-restart-many-'));
    try {
      const first = await startTestStack({ port: 0, dataDir: dir, workflow: new RecordingWorkflow() });
      const left = 2000;
      for (let i = 0; i < left; i += 1) {
        const at = new Date(Date.now() - 60_000 + i);
        await first.deps.store.create({ id: first.deps.ids.next(at), owner: 'local', state: 'QUEUED', version: 1, creationTime: at.toISOString(), task: { executors: [{ image: 'a', command: ['b'] }] }, logs: [] });
      }
      await first.close();
      // Each start takes a few milliseconds, as a real one does: the walk takes seconds.
      const slow = new (class extends RecordingWorkflow {
        override async start(taskId: string): Promise<void> {
          await new Promise((resolve) => setTimeout(resolve, 2));
          return super.start(taskId);
        }
      })();
      const second = await startTestStack({ port: 0, dataDir: dir, workflow: slow });
      try {
        let settled = false;
        void second.reconciled.then(() => (settled = true));
        const tes = client(second);
        expect((await tes.get('/service-info')).status).toBe(200);
        const fresh = (await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['true'] }] }))).body.id;
        expect(settled).toBe(false);
        const outcome = await second.reconciled;
        expect(outcome.resumed).toHaveLength(left);
        expect(outcome.resumed).not.toContain(fresh);
        expect(slow.started.filter((id) => id === fresh)).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers before the runtime that runs tasks is ready, and runs a task created meanwhile once it is', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const stack = await startTestStack({
      port: 0,
      // Named, so that starting the test stack does not itself wait for the runtime.
      env: { TES_LOCAL_RUNTIME: 'bubblewrap' },
      chooseRuntime: async (env) => {
        await held;
        return chooseRuntime(env);
      },
    });
    try {
      const tes = client(stack);
      expect((await tes.get('/service-info')).status).toBe(200);
      expect((await tes.get('/tasks')).status).toBe(200);
      let answered = false;
      const creating = tes.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['echo', 'waited'] }] })).then((response) => {
        answered = true;
        return response;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // CreateTask waits for the runtime (it would refuse the task if none could run it).
      expect(answered).toBe(false);
      release();
      const created = await creating;
      expect(created.status).toBe(200);
      const done = await waitForTerminal((path) => tes.get<TesTask>(path), created.body.id);
      expect(done.state).toBe('COMPLETE');
    } finally {
      release();
      await stack.close();
    }
  });

  it('refuses a second stack on a data directory in use, saying so', async () => {
    const first = await startTestStack({ port: 0, dataDir });
    try {
      const second = startTestStack({ port: 0, dataDir });
      await expect(second).rejects.toBeInstanceOf(DataDirInUseError);
      await expect(second).rejects.toThrow(`another local stack (process ${process.pid}) is using ${dataDir}`);
    } finally {
      await first.close();
    }
    // Once the first has stopped, the directory is free again.
    await (await startTestStack({ port: 0, dataDir })).close();
  });

  it("removes the scratch directories of stacks that were killed, and only theirs", async () => {
    const dead = spawnSync("true").pid;
    const dirs = { dead: join(tmpdir(), `tes-work-test-dead-${process.pid}`), live: join(tmpdir(), `tes-work-test-live-${process.pid}`), unowned: join(tmpdir(), `tes-work-test-unowned-${process.pid}`) };
    for (const dir of Object.values(dirs)) await mkdir(join(dir, 'volumes'), { recursive: true });
    await writeFile(join(dirs.dead, 'stack.pid'), String(dead));
    await writeFile(join(dirs.live, 'stack.pid'), String(process.pid));
    try {
      await (await startTestStack({ port: 0 })).close();
      expect(existsSync(dirs.dead)).toBe(false);
      expect(existsSync(dirs.live)).toBe(true);
      expect(existsSync(dirs.unowned)).toBe(true);
    } finally {
      for (const dir of Object.values(dirs)) await rm(dir, { recursive: true, force: true });
    }
  });
});
