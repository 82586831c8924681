/**
 * The smoke run: the black-box checks that are safe against any deployed TES (a few tiny tasks of the
 * caller's own, all ended), run by `npm run smoke -- <ApiUrl> [--token T] [--image I]` against a
 * deployment and, in `npm test`, against the local stack. Each check settles something only a real
 * deployment can (docs/first-deploy.md says which).
 */
import { describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { useTarget } from './support/target.js';
import { RUN_ID, waitForTerminal } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

const at = useTarget();
/** The image the smoke tasks run: one the deployment admits (`--image`), the local test image otherwise. */
const IMAGE = process.env['TES_SMOKE_IMAGE'] ?? TEST_IMAGE;
/** A Fargate task takes tens of seconds to start; the local stack, one. */
const RUN_MS = Number(process.env['TES_SMOKE_TIMEOUT_MS'] ?? 600_000);

const smokeTask = (overrides: Partial<TesTask>): TesTask => ({ name: 'smoke', executors: [{ image: IMAGE, command: ['true'] }], ...overrides, tags: { run: RUN_ID, smoke: 'true' } });

async function ownPrefix(): Promise<string> {
  const info = await at.tes.get<{ storage?: string[] }>('/service-info');
  return info.body.storage?.[0] ?? '';
}

describe('smoke', () => {
  it('service-info describes a TES 1.1 service and names the caller’s own storage first', async () => {
    const info = await at.tes.get<{ type?: { artifact?: string; version?: string }; storage?: string[] }>('/service-info');
    expect(info.status).toBe(200);
    expect(info.body.type).toMatchObject({ artifact: 'tes', version: expect.stringMatching(/^1\.1/) });
    expect(info.body.storage?.[0]).toMatch(/^s3:\/\/[^/]+\/users\/[^/{}]+\/$/);
  });

  it('a task runs, reads a content input, writes an output to the caller’s prefix and its stdout, and ends COMPLETE with its cost', async () => {
    const prefix = await ownPrefix();
    const created = await at.tes.post<{ id: string }>(
      '/tasks',
      smokeTask({
        inputs: [{ path: '/data/in.txt', content: 'smoke input' }],
        outputs: [{ path: '/data/out.txt', url: `${prefix}smoke/${RUN_ID}/out.txt` }],
        executors: [{ image: IMAGE, command: ['/bin/sh', '-c', 'cat /data/in.txt > /data/out.txt; echo smoke-ok'] }],
      }),
    );
    expect(created.status, created.text).toBe(200);
    const done = await waitForTerminal((path) => at.tes.get<TesTask>(path), created.body.id, RUN_MS);
    expect(done.state, JSON.stringify(done.logs?.[0]?.system_logs)).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]).toMatchObject({ exit_code: 0, stdout: expect.stringContaining('smoke-ok') });
    expect(done.logs?.[0]?.outputs).toEqual([expect.objectContaining({ url: `${prefix}smoke/${RUN_ID}/out.txt`, size_bytes: String('smoke input'.length) })]);
    expect(done.logs?.[0]?.metadata).toMatchObject({ estimated_cost_usd: expect.any(String) });
  }, RUN_MS + 30_000);

  it('a task with 1,200 output files and long logs reads back in full: the output list in pages, every log tail in the FULL view', async () => {
    const prefix = await ownPrefix();
    const loud = ['/bin/sh', '-c', 'head -c 12000 /dev/zero | tr "\\0" a; head -c 12000 /dev/zero | tr "\\0" b >&2'];
    const created = await at.tes.post<{ id: string }>(
      '/tasks',
      smokeTask({
        outputs: [{ path: '/data/many', url: `${prefix}smoke/${RUN_ID}/many`, type: 'DIRECTORY' }],
        executors: [
          { image: IMAGE, command: loud },
          { image: IMAGE, command: loud },
          { image: IMAGE, command: ['/bin/sh', '-c', `${loud[2] as string}; mkdir -p /data/many; i=0; while [ $i -lt 1200 ]; do echo $i > /data/many/f$i; i=$((i+1)); done`] },
        ],
      }),
    );
    expect(created.status, created.text).toBe(200);
    const done = await waitForTerminal((path) => at.tes.get<TesTask>(path), created.body.id, RUN_MS * 3);
    expect(done.state, JSON.stringify(done.logs?.[0]?.system_logs)).toBe('COMPLETE');
    // Past 32 KiB of logs, Record kept the later runs' tails in the bucket; the FULL view put them back
    // (in AWS, awslogs merges the two streams, so a tail may be stderr's).
    expect(done.logs?.[0]?.logs.map((log) => /a{1000}|b{1000}/.test(log.stdout ?? ''))).toEqual([true, true, true]);
    expect(done.logs?.[0]?.system_logs?.some((line) => line.includes("kept with the task's data")) ?? false).toBe(false);
    const paths = new Set<string>();
    let from: string | undefined = '0';
    while (from !== undefined) {
      const page: TesTask = (await at.tes.get<TesTask>(`/tasks/${created.body.id}?view=BASIC&outputs_from=${from}`)).body;
      for (const file of page.logs?.[0]?.outputs ?? []) paths.add(file.path);
      expect(page.logs?.[0]?.metadata?.['outputs_total']).toBe('1200');
      from = page.logs?.[0]?.metadata?.['outputs_next'];
    }
    expect(paths.size).toBe(1200);
  }, RUN_MS * 3 + 30_000);

  it('a task naming another user’s storage is a 400 storage_scope, and nothing runs', async () => {
    const prefix = await ownPrefix();
    const foreign = prefix.replace(/users\/[^/]+\/$/, 'users/someone-else/secret.txt');
    const reply = await at.tes.post<{ details?: { rule?: string }[] }>('/tasks', smokeTask({ inputs: [{ path: '/data/x', url: foreign }] }));
    expect(reply.status).toBe(400);
    expect(reply.body.details?.[0]?.rule).toBe('storage_scope');
  });

  it('a running task cancels to CANCELED', async () => {
    const created = await at.tes.post<{ id: string }>('/tasks', smokeTask({ executors: [{ image: IMAGE, command: ['sleep', '600'] }] }));
    expect(created.status, created.text).toBe(200);
    expect((await at.tes.post(`/tasks/${created.body.id}:cancel`)).status).toBe(200);
    const done = await waitForTerminal((path) => at.tes.get<TesTask>(path), created.body.id, RUN_MS);
    expect(done.state).toBe('CANCELED');
  }, RUN_MS + 30_000);

  it("answers a request without a token with API Gateway's 401 when given a token to use, and serves it when not (authentication off)", async () => {
    const reply = await fetch(`${at.target.url}/tasks`);
    if (at.target.headers['authorization'] !== undefined) {
      expect(reply.status).toBe(401);
      expect(await reply.json()).toEqual({ message: 'Unauthorized' });
    } else {
      expect(reply.status).toBe(200);
    }
  });

  it('lists the run’s tasks, and answers an unknown task with a 404', async () => {
    const listed = await at.tes.get<{ tasks: { id: string }[] }>(`/tasks?tag_key=run&tag_value=${RUN_ID}&view=MINIMAL`);
    expect(listed.status).toBe(200);
    expect(listed.body.tasks.length).toBeGreaterThanOrEqual(2);
    expect((await at.tes.get('/tasks/01nosuchtask0000000000000z')).status).toBe(404);
  });
});
