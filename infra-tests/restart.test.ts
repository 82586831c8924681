/**
 * Stopping the local stack in the middle of running tasks and starting it again: tasks persist, and
 * none stays unfinished (the reconciler resumes or ends each, with the reason).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { startLocalStack, type LocalStack } from '../lambdas/local/stack.js';
import { TesHttp } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';

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
    const first = await startLocalStack({ port: 0, dataDir });
    const tes = client(first);
    const done = (await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: 'a', command: ['echo', 'kept'] }] }))).body.id;
    await waitForTerminal((path) => tes.get<TesTask>(path), done);
    const interrupted = (await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: 'a', command: ['sleep', '60'] }] }))).body.id;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await tes.get<TesTask>(`/tasks/${interrupted}`)).body.state !== 'RUNNING') {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await first.close();

    const second = await startLocalStack({ port: 0, dataDir });
    try {
      const again = client(second);
      expect(second.reconciled.ended).toEqual([interrupted]);
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
});
