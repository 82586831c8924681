/**
 * Tasks really run, end to end, black box: plain HTTP to the TES (the local stack by default), inputs
 * put in and outputs read from its object store. Every executor runs hardened (locally: in the
 * bubblewrap sandbox).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { testStorage, type TestStorage } from './support/storage.js';
import { startTarget, TesHttp, type Target } from './support/target.js';
import { RUN_ID, task, waitForTerminal } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

let target: Target;
let tes: TesHttp;
let storage: TestStorage;
let http: Server;
let httpBase: string;
beforeAll(async () => {
  // The test's own input server is on loopback, which http(s) inputs reach only when the operator allows it.
  // On the cloud's DynamoDB adapter (on dynalite): the end-to-end runs cover both task stores.
  target = await startTarget({ TES_HTTP_INPUT_ALLOW: '127.0.0.1/32', TES_LOCAL_STORE: 'dynamodb' });
  tes = new TesHttp(target);
  storage = await testStorage(target);
  prefix = `${storage.home}runs/${RUN_ID}`;
  http = createServer((req, res) => {
    if (req.url === '/hello.txt') res.end('hello over http\n');
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpBase = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http?.close();
  await target?.close();
});

async function run(body: TesTask, timeoutMs = 60_000): Promise<TesTask> {
  const reply = await tes.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id, timeoutMs);
}

const sh = (script: string, extra: Partial<TesTask['executors'][number]> = {}) => ({ image: TEST_IMAGE, command: ['/bin/sh', '-c', script], ...extra });
let prefix = '';
const s3 = (key: string) => `s3://${storage.bucket}/${prefix}/${key}`;

describe('running tasks', () => {
  it('echo hello → COMPLETE with exit code 0 and stdout hello', async () => {
    const done = await run(task({ executors: [{ image: TEST_IMAGE, command: ['echo', 'hello'] }] }));
    expect(done.state).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs).toEqual([expect.objectContaining({ exit_code: 0, stdout: 'hello\n' })]);
    const log = done.logs?.[0]?.logs[0];
    expect(Date.parse(log?.start_time ?? '')).not.toBeNaN();
    expect(Date.parse(log?.end_time ?? '')).toBeGreaterThanOrEqual(Date.parse(log?.start_time ?? ''));
    expect(done.logs?.[0]?.metadata).toMatchObject({ fargate_cpu_units: '1024', capacity_provider: 'FARGATE', estimated_cost_usd: expect.any(String) });
    // The whole stream is kept in the log store, and the task says where.
    const where = done.logs?.[0]?.metadata?.['executor_0_stdout'];
    expect(where).toBeDefined();
    if (target.local !== undefined) {
      const key = (where as string).replace(`s3://${target.local.s3.bucket}/`, '');
      expect(await storage.get(key)).toBe('hello\n');
    }
  });

  it('exit code 3 → EXECUTOR_ERROR with exit code 3, and outputs still uploaded', async () => {
    const done = await run(
      task({
        executors: [sh('echo partial > /work/result.txt; echo 3 > /work/rc; exit 3')],
        outputs: [
          { path: '/work/result.txt', url: s3('exit3/result.txt') },
          { path: '/work/rc', url: s3('exit3/rc') },
        ],
      }),
    );
    expect(done.state).toBe('EXECUTOR_ERROR');
    expect(done.logs?.[0]?.logs[0]?.exit_code).toBe(3);
    expect(await storage.get(`${prefix}/exit3/result.txt`)).toBe('partial\n');
    expect(done.logs?.[0]?.outputs).toEqual(
      expect.arrayContaining([{ url: s3('exit3/result.txt'), path: '/work/result.txt', size_bytes: '8' }]),
    );
  });

  it('stops at a failed executor without ignore_error', async () => {
    const done = await run(task({ executors: [sh('exit 1'), sh('echo never')] }));
    expect(done.state).toBe('EXECUTOR_ERROR');
    expect(done.logs?.[0]?.logs.map((l) => l.exit_code)).toEqual([1]);
  });

  it('goes on after a failed executor with ignore_error, and still reports EXECUTOR_ERROR', async () => {
    const done = await run(task({ executors: [sh('exit 1', { ignore_error: true }), sh('echo after')] }));
    expect(done.logs?.[0]?.logs.map((l) => [l.exit_code, l.stdout])).toEqual([
      [1, ''],
      [0, 'after\n'],
    ]);
    expect(done.state).toBe('EXECUTOR_ERROR');
  });

  it('a command that does not exist → EXECUTOR_ERROR', async () => {
    const done = await run(task({ executors: [{ image: TEST_IMAGE, command: ['ERROR'] }] }));
    expect(done.state).toBe('EXECUTOR_ERROR');
    expect(done.logs?.[0]?.logs[0]?.exit_code).not.toBe(0);
  });

  it('two executors share a volume', async () => {
    const done = await run(
      task({
        volumes: ['/vol/shared'],
        executors: [sh('echo from-first > /vol/shared/note'), sh('cat /vol/shared/note')],
      }),
    );
    expect(done.state).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[1]?.stdout).toBe('from-first\n');
  });

  it('later executors see the inputs and what earlier ones changed, but no symbolic links', async () => {
    const done = await run(
      task({
        inputs: [{ path: '/data/in.txt', content: 'input\n' }],
        executors: [sh('echo changed >> /data/in.txt; mkdir -p /data/sub && echo deep > /data/sub/f; ln -s /etc/passwd /data/link'), sh('cat /data/in.txt /data/sub/f; test -e /data/link && echo link-survived; true')],
      }),
    );
    expect(done.state).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[1]?.stdout).toBe('input\nchanged\ndeep\n');
  });

  it('redirects stdin, stdout and stderr to the given paths', async () => {
    const done = await run(
      task({
        inputs: [{ path: '/io/in.txt', content: 'line one\nline two\n' }],
        executors: [sh('wc -l; echo oops >&2', { stdin: '/io/in.txt', stdout: '/io/out.txt', stderr: '/io/err.txt' })],
        outputs: [
          { path: '/io/out.txt', url: s3('stdio/out.txt') },
          { path: '/io/err.txt', url: s3('stdio/err.txt') },
        ],
      }),
    );
    expect(done.state).toBe('COMPLETE');
    expect((await storage.get(`${prefix}/stdio/out.txt`))?.trim()).toBe('2');
    expect(await storage.get(`${prefix}/stdio/err.txt`)).toBe('oops\n');
  });

  it('sets env and workdir', async () => {
    const done = await run(task({ executors: [sh('echo "$GREETING $(pwd)"', { env: { GREETING: 'hi there' }, workdir: '/work/dir' })] }));
    expect(done.logs?.[0]?.logs[0]?.stdout).toBe('hi there /work/dir\n');
  });

  it('passes argv exactly: spaces, quotes and shell characters arrive as written', async () => {
    const args = ['a b', '"quoted"', "it's", '$HOME', '*', ''];
    const done = await run(task({ executors: [{ image: TEST_IMAGE, command: ['printf', '[%s]', ...args] }] }));
    expect(done.logs?.[0]?.logs[0]?.stdout).toBe(args.map((a) => `[${a}]`).join(''));
  });

  it('passes argv exactly through the stdio wrapper too', async () => {
    const args = ['a b', "it's", '$(id)'];
    const done = await run(
      task({ executors: [{ image: TEST_IMAGE, command: ['printf', '[%s]', ...args], stdout: '/out/o.txt' }], outputs: [{ path: '/out/o.txt', url: s3('argv/o.txt') }] }),
    );
    expect(done.state).toBe('COMPLETE');
    expect(await storage.get(`${prefix}/argv/o.txt`)).toBe(args.map((a) => `[${a}]`).join(''));
  });

  it('stages inputs from s3, http and content', async () => {
    await storage.put(`${prefix}/inputs/from-s3.txt`, 'hello from s3\n');
    const done = await run(
      task({
        inputs: [
          { path: '/in/s3.txt', url: s3('inputs/from-s3.txt') },
          { path: '/in/http.txt', url: `${httpBase}/hello.txt` },
          { path: '/in/content.txt', content: 'hello from content\n' },
        ],
        executors: [sh('cat /in/s3.txt /in/http.txt /in/content.txt')],
      }),
    );
    expect(done.state).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]?.stdout).toBe('hello from s3\nhello over http\nhello from content\n');
  });

  it('stages DIRECTORY inputs and outputs', async () => {
    await storage.put(`${prefix}/dir-in/a.txt`, 'A');
    await storage.put(`${prefix}/dir-in/sub/b.txt`, 'B');
    const done = await run(
      task({
        inputs: [{ path: '/data/in', url: s3('dir-in'), type: 'DIRECTORY' }],
        outputs: [{ path: '/data/out', url: s3('dir-out'), type: 'DIRECTORY' }],
        executors: [sh('mkdir -p /data/out/nested && cat /data/in/a.txt /data/in/sub/b.txt > /data/out/ab.txt && echo n > /data/out/nested/n.txt')],
      }),
    );
    expect(done.state).toBe('COMPLETE');
    expect(await storage.list(`${prefix}/dir-out/`)).toEqual([`${prefix}/dir-out/ab.txt`, `${prefix}/dir-out/nested/n.txt`]);
    expect(await storage.get(`${prefix}/dir-out/ab.txt`)).toBe('AB');
    expect(done.logs?.[0]?.outputs.map((o) => o.path).sort()).toEqual(['/data/out/ab.txt', '/data/out/nested/n.txt']);
  });

  it('uploads wildcard outputs under url with path_prefix removed', async () => {
    const done = await run(
      task({
        outputs: [{ path: '/work/*.bam', path_prefix: '/work', url: s3('glob') }],
        executors: [sh('echo 1 > /work/a.bam; echo 2 > /work/b.bam; echo 3 > /work/c.txt')],
      }),
    );
    expect(done.state).toBe('COMPLETE');
    expect(await storage.list(`${prefix}/glob/`)).toEqual([`${prefix}/glob/a.bam`, `${prefix}/glob/b.bam`]);
    expect(done.logs?.[0]?.outputs).toEqual(
      expect.arrayContaining([{ url: s3('glob/a.bam'), path: '/work/a.bam', size_bytes: '2' }]),
    );
  });

  it('a missing input → SYSTEM_ERROR naming the input and the error', async () => {
    const done = await run(task({ inputs: [{ path: '/in/missing.txt', url: s3('does/not/exist.txt') }], executors: [sh('cat /in/missing.txt')] }));
    expect(done.state).toBe('SYSTEM_ERROR');
    const reason = done.logs?.[0]?.system_logs?.join('\n') ?? '';
    expect(reason).toContain('inputs[0]');
    expect(reason).toContain('does/not/exist.txt');
    expect(reason).toMatch(/404|NoSuchKey|Not Found/i);
    expect(done.logs?.[0]?.logs).toEqual([]);
  });

  it('a missing http input → SYSTEM_ERROR', async () => {
    const done = await run(task({ inputs: [{ path: '/in/x', url: `${httpBase}/nope` }], executors: [sh('true')] }));
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(done.logs?.[0]?.system_logs?.join('\n')).toMatch(/inputs\[0\].*404/);
  });

  it('shows the running executor and its output in the FULL view before it ends', async () => {
    const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [sh('echo started; sleep 30')] }));
    const id = reply.body.id;
    const deadline = Date.now() + 20_000;
    let seen: TesTask | undefined;
    while (Date.now() < deadline) {
      seen = (await tes.get<TesTask>(`/tasks/${id}?view=FULL`)).body;
      if (seen.state === 'RUNNING' && seen.logs?.[0]?.logs[0]?.stdout === 'started\n') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen?.state).toBe('RUNNING');
    expect(seen?.logs?.[0]?.logs[0]).toMatchObject({ stdout: 'started\n', start_time: expect.any(String) });
    expect(seen?.logs?.[0]?.logs[0]?.end_time).toBeUndefined();
    await tes.post(`/tasks/${id}:cancel`);
  });

  it("shows a second executor's own start time while it runs, not the task's (as a client timing each step reads it)", async () => {
    const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [sh('sleep 1'), sh('echo second; sleep 30')] }));
    const id = reply.body.id;
    const deadline = Date.now() + 30_000;
    let seen: TesTask | undefined;
    while (Date.now() < deadline) {
      seen = (await tes.get<TesTask>(`/tasks/${id}?view=FULL`)).body;
      if (seen.logs?.[0]?.logs[1]?.stdout === 'second\n') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await tes.post(`/tasks/${id}:cancel`);
    const [first, second] = seen?.logs?.[0]?.logs ?? [];
    expect(second, JSON.stringify(seen)).toMatchObject({ stdout: 'second\n', start_time: expect.any(String) });
    // The first executor slept a second: the second cannot have started before it ended.
    expect(Date.parse(second?.start_time ?? '')).toBeGreaterThanOrEqual(Date.parse(first?.end_time ?? 'x'));
    expect(Date.parse(second?.start_time ?? '') - Date.parse(first?.start_time ?? '')).toBeGreaterThanOrEqual(1000);
  });

  it('cancel while running → CANCELED within 5 s, and the process is gone', async () => {
    const marker = `cancel-${RUN_ID}`;
    const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [sh(`exec sleep 300 # ${marker}`)] }));
    const id = reply.body.id;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await tes.get<TesTask>(`/tasks/${id}`)).body.state !== 'RUNNING') {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const started = Date.now();
    expect((await tes.post(`/tasks/${id}:cancel`)).status).toBe(200);
    let state = '';
    while (Date.now() - started < 5000) {
      state = (await tes.get<TesTask>(`/tasks/${id}`)).body.state ?? '';
      if (state === 'CANCELED') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(state).toBe('CANCELED');
    if (target.local !== undefined) {
      const { execFileSync } = await import('node:child_process');
      const processes = execFileSync('ps', ['-eo', 'args']).toString();
      expect(processes).not.toContain(marker);
    }
  });

  it('max_runtime_seconds: a task running past it ends SYSTEM_ERROR saying so, and its process is gone', async () => {
    const marker = `runtime-${RUN_ID}`;
    const started = Date.now();
    const done = await run(
      task({ resources: { backend_parameters: { max_runtime_seconds: '3' } }, executors: [sh(`exec sleep 300 # ${marker}`)] }),
      30_000,
    );
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(Date.now() - started).toBeLessThan(15_000);
    const full = await tes.get<TesTask>(`/tasks/${done.id}?view=FULL`);
    expect(full.body.logs?.[0]?.system_logs?.join('\n')).toMatch(/ran past its max_runtime_seconds \(3\); executor 0 was stopped/);
    if (target.local !== undefined) {
      const { execFileSync } = await import('node:child_process');
      expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain(marker);
    }
  }, 40_000);
});
