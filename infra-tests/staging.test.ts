/**
 * Staging runs outside the server process, as on Fargate: stage-in and stage-out are the runtime
 * image's entry point in a sandbox of their own, as the task's own host uid, holding only the run's
 * staging token. So what a task names or writes costs only that task: a huge, endless or slow input,
 * a sparse output or carry, and an output of 100,000 files, while other users' calls stay quick.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { hostIdFor } from '../lambdas/local/sandbox.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { startTestStack } from './support/local-stack.js';
import { stackClient, TesHttp, type Reply } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';
import { runtimesUnderTest, TEST_IMAGE } from './support/test-image.js';

const root = process.getuid?.() === 0;
const runtimes = await runtimesUnderTest();
let inputs: Server;
/** Requests that reached the loopback input server's forbidden paths: none may. */
const ssrfHits: string[] = [];
let inputBase: string;

beforeAll(async () => {
  inputs = createServer((req, res) => {
    if (req.url === '/endless') {
      res.writeHead(200);
      const chunk = Buffer.alloc(256 * 1024, 7);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    } else if (req.url?.startsWith('/ssrf')) {
      ssrfHits.push(req.url);
      res.writeHead(200).end('secret');
    } else if (req.url === '/slow') {
      res.writeHead(200);
      const timer = setInterval(() => res.write('x'), 500);
      res.on('close', () => clearInterval(timer));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => inputs.listen(0, '127.0.0.1', resolve));
  inputBase = `http://127.0.0.1:${(inputs.address() as AddressInfo).port}`;
});
afterAll(async () => {
  inputs.closeAllConnections();
  await new Promise((resolve) => inputs.close(resolve));
});

/** A stack for a describe block, with two users and a quarter GiB of disk per executor (to reach the limit cheaply). */
function useStack(env: Record<string, string> = {}): { stack: () => LocalStack; alice: () => TesHttp; bob: () => TesHttp } {
  let stack: LocalStack;
  let alice: TesHttp;
  let bob: TesHttp;
  beforeAll(async () => {
    // The test's input server is on loopback, which http(s) inputs reach only when the operator allows it.
    stack = await startTestStack({ port: 0, auth: 'jwt', env: { TES_LOCAL_DISK_GB: '0.25', TES_HTTP_INPUT_ALLOW: '127.0.0.1/32', TES_LOCAL_STORE: 'dynamodb', ...env } });
    alice = await stackClient(stack, 'alice');
    bob = await stackClient(stack, 'bob');
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });
  return { stack: () => stack, alice: () => alice, bob: () => bob };
}

/** Processes of the task's own host uid (its staging and its executor, when the server is root). */
function processesOf(taskId: string): string[] {
  return execFileSync('ps', ['-eo', 'uid=,stat=,args='])
    .toString()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    // A zombie has ended; its parent has not collected its exit status yet.
    .filter(([uid, stat]) => uid === String(hostIdFor(taskId)) && !stat?.startsWith('Z'))
    .map(([uid, , ...args]) => `${uid} ${args.join(' ')}`);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function createAs(tes: TesHttp, body: TesTask): Promise<string> {
  const reply = await tes.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return reply.body.id;
}

const systemLogs = (t: TesTask) => t.logs?.[0]?.system_logs?.join('\n') ?? '';

describe.each(runtimes.map((r) => [r.kind, r] as const))('staging, out of the server process, with executors on %s', (kind, runtime) => {
  if (runtime.problem !== undefined) {
    it('can run here', () => {
      throw new Error(`${kind} is to be tested here but cannot run: ${runtime.problem}`);
    });
    return;
  }
  const at = useStack({ TES_LOCAL_RUNTIME: kind });
  const create = (body: TesTask) => createAs(at.alice(), body);

  it('runs as its own process, as the task host uid, out of the runtime image entry point', async () => {
    const id = await create(task({ inputs: [{ url: `${inputBase}/slow`, path: '/data/in' }] }));
    try {
      const staging = await until('stage-in', () => processesOf(id).find((p) => p.includes('/opt/tes/app/main.mjs stage-in')) ?? (root ? undefined : 'not root'));
      if (root) expect(staging).toMatch(/\/opt\/tes\/node \/opt\/tes\/app\/main\.mjs stage-in$/);
    } finally {
      await at.alice().post(`/tasks/${id}:cancel`);
    }
  });

  it("a huge or endless input stops at the task's disk: SYSTEM_ERROR naming the input", async () => {
    const id = await create(task({ inputs: [{ url: `${inputBase}/endless`, path: '/data/in' }] }));
    const done = await waitForTerminal((path) => at.alice().get<TesTask>(path), id, 60_000);
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/inputs\[0\] \(http:\/\/127\.0\.0\.1:\d+\/endless\) could not be staged: (it is larger than the task's disk \(268435456 bytes\)|.*DiskLimitExceeded)/);
    expect(done.logs?.[0]?.logs ?? []).toEqual([]);
  }, 90_000);

  it('a slow input is stopped by max_runtime_seconds, staging and all', async () => {
    const started = Date.now();
    const id = await create(task({ inputs: [{ url: `${inputBase}/slow`, path: '/data/in' }], resources: { backend_parameters: { max_runtime_seconds: '3' } } }));
    const done = await waitForTerminal((path) => at.alice().get<TesTask>(path), id, 30_000);
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/max_runtime_seconds \(3\)/);
    expect(Date.now() - started).toBeLessThan(15_000);
    if (root) await until('its processes to be gone', () => (processesOf(id).length === 0 ? true : undefined), 5000);
  });

  it('a slow input is stopped by cancel within 5 s, staging and all', async () => {
    const id = await create(task({ inputs: [{ url: `${inputBase}/slow`, path: '/data/in' }] }));
    if (root) await until('stage-in', () => processesOf(id).find((p) => p.includes('stage-in')));
    const canceledAt = Date.now();
    expect((await at.alice().post(`/tasks/${id}:cancel`)).status).toBe(200);
    const done = await waitForTerminal((path) => at.alice().get<TesTask>(path), id, 10_000);
    expect(done.state).toBe('CANCELED');
    expect(Date.now() - canceledAt).toBeLessThan(5000);
    if (root) await until('its processes to be gone', () => (processesOf(id).length === 0 ? true : undefined), 2000);
  });

  it('symbolic links in an output are not followed out of the volume, to host secrets or anywhere', async () => {
    const id = await create(
      task({
        outputs: [{ path: '/out', type: 'DIRECTORY', url: `s3://${at.stack().s3.bucket}/users/alice/links-${Date.now()}` }],
        executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', 'echo ok > /out/real; ln -s /etc/shadow /out/shadow; ln -s / /out/root; ln -s /proc/1/root /out/proc-root'] }],
      }),
    );
    const done = await waitForTerminal((path) => at.alice().get<TesTask>(path), id, 60_000);
    expect(done.state, systemLogs(done)).toBe('COMPLETE');
    expect(done.logs?.[0]?.outputs?.map((o) => o.path)).toEqual(['/out/real']);
    for (const link of ['shadow', 'root', 'proc-root']) expect(systemLogs(done)).toContain(`/out/${link} is a symbolic link; not uploaded`);
  });

  it('a FIFO in an output does not hang staging, and a FIFO as a FILE output is refused', async () => {
    const started = Date.now();
    const id = await create(
      task({
        outputs: [
          { path: '/out', type: 'DIRECTORY', url: `s3://${at.stack().s3.bucket}/users/alice/fifo-${Date.now()}` },
          { path: '/pipes/one', url: `s3://${at.stack().s3.bucket}/users/alice/fifo-file-${Date.now()}` },
        ],
        executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', 'echo ok > /out/real; mkfifo /out/pipe /pipes/one'] }],
      }),
    );
    const done = await waitForTerminal((path) => at.alice().get<TesTask>(path), id, 60_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toContain('outputs[1] (/pipes/one): not a regular file');
    expect(done.logs?.[0]?.outputs?.map((o) => o.path)).toEqual(['/out/real']);
  });

  it("a sparse output larger than the task's disk is refused, not uploaded", async () => {
    const id = await create(
      task({
        outputs: [{ path: '/out/sparse', url: `s3://${at.stack().s3.bucket}/users/alice/sparse-${Date.now()}` }],
        executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', 'truncate -s 1099511627776 /out/sparse && du -k /out/sparse'] }],
      }),
    );
    const done = await waitForTerminal((path) => at.alice().get<TesTask>(path), id, 60_000);
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toContain(`the outputs add up to ${1024 ** 4} bytes, more than the task's disk (268435456 bytes; a sparse file?): nothing was uploaded`);
    expect(done.logs?.[0]?.outputs).toEqual([]);
  });

  it("a sparse file is not carried to the next executor when larger than the task's disk", async () => {
    const id = await create(
      task({
        volumes: ['/data'],
        executors: [
          { image: TEST_IMAGE, command: ['truncate', '-s', '1099511627776', '/data/sparse'] },
          { image: TEST_IMAGE, command: ['ls', '-l', '/data'] },
        ],
      }),
    );
    const done = await waitForTerminal((path) => at.alice().get<TesTask>(path), id, 60_000);
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/the volumes hold files of 1099511627776 bytes, more than the task's disk .*nothing was saved for executor 1/);
    expect(done.logs?.[0]?.logs).toHaveLength(1);
  });
});

describe('http(s) inputs reach only public addresses (no request forgery)', () => {
  // No allowance for loopback here, as by default.
  const at = useStack({ TES_HTTP_INPUT_ALLOW: '' });
  const create = (body: TesTask) => createAs(at.alice(), body);

  it.each([
    ['a loopback service', (port: string) => `http://127.0.0.1:${port}/ssrf/plain`],
    ['a decimal spelling', (port: string) => `http://2130706433:${port}/ssrf/decimal`],
    ['a hex spelling', (port: string) => `http://0x7f.0.0.1:${port}/ssrf/hex`],
    ['an IPv4-mapped IPv6 spelling', (port: string) => `http://[::ffff:127.0.0.1]:${port}/ssrf/mapped`],
    ['the unspecified address', (port: string) => `http://0.0.0.0:${port}/ssrf/zero`],
    ['a name that resolves to loopback', (port: string) => `http://localhost:${port}/ssrf/name`],
    ['the TES API itself', () => `${at.stack().url}/tasks?view=FULL`],
    ['the local S3', () => `${at.stack().s3.endpoint}/${at.stack().s3.bucket}/`],
    ['the instance metadata endpoint', () => 'http://169.254.169.254/latest/meta-data/'],
  ])('refuses an input from %s: SYSTEM_ERROR, nothing fetched', async (_what, url) => {
    const port = new URL(inputBase).port;
    const id = await create(task({ inputs: [{ url: url(port), path: '/data/in' }] }));
    const done = await waitForTerminal((path) => at.alice().get<TesTask>(path), id, 60_000);
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/could not be staged: .*not a public address/);
    expect(ssrfHits).toEqual([]);
  });
});

describe('staging an output of 100,000 files, on the runtime this machine picks', () => {
  const at = useStack();
  const create = (body: TesTask) => createAs(at.alice(), body);

  it("an output of 100,000 files costs only its own task (another user's calls keep a p99 under 1 s) and reads back in full", async () => {
    const count = 100_000;
    const prefix = `many-${Date.now()}`;
    const id = await create(
      task({
        outputs: [{ path: '/out/many', type: 'DIRECTORY', url: `s3://${at.stack().s3.bucket}/users/alice/${prefix}` }],
        executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', `mkdir -p /out/many; i=0; while [ $i -lt ${count} ]; do : > /out/many/f$i; i=$((i+1)); done`] }],
      }),
    );
    const own = await createAs(at.bob(), task());
    const latencies: number[] = [];
    let done: TesTask | undefined;
    const began = Date.now();
    while (done === undefined && Date.now() - began < 540_000) {
      for (const call of [() => at.bob().get(`/tasks/${own}?view=FULL`), () => at.bob().get('/tasks?view=BASIC&page_size=50'), () => at.bob().get('/service-info')]) {
        const start = performance.now();
        const reply = await call();
        latencies.push(performance.now() - start);
        expect(reply.status).toBe(200);
      }
      const state = (await at.alice().get<TesTask>(`/tasks/${id}`)).body.state ?? '';
      if (['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'].includes(state)) done = (await at.alice().get<TesTask>(`/tasks/${id}?view=FULL`)).body;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] as number;
    console.log(
      `staging: ${count} output files in ${((Date.now() - began) / 1000).toFixed(1)} s; another user's ${latencies.length} calls meanwhile: p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms, max ${p(1).toFixed(1)} ms`,
    );
    expect(done?.state, JSON.stringify(done?.logs?.[0]?.system_logs)).toBe('COMPLETE');
    expect(p(0.99)).toBeLessThan(1000);
    // Every file reads back, a response at a time (outputs_next → outputs_from), in pages the broker kept.
    const paths = new Set<string>();
    let from: string | undefined = '0';
    let calls = 0;
    while (from !== undefined) {
      const reply: Reply<TesTask> = await at.alice().get<TesTask>(`/tasks/${id}?view=BASIC&outputs_from=${from}`);
      expect(reply.status).toBe(200);
      calls += 1;
      const attempt = reply.body.logs?.[0];
      for (const file of attempt?.outputs ?? []) {
        expect(file.url).toBe(`s3://${at.stack().s3.bucket}/users/alice/${prefix}/${file.path.slice('/out/many/'.length)}`);
        paths.add(file.path);
      }
      expect(attempt?.metadata?.['outputs_total']).toBe(String(count));
      from = attempt?.metadata?.['outputs_next'];
    }
    console.log(`staging: read ${paths.size} output files back in ${calls} GetTask calls`);
    expect(paths.size).toBe(count);
  }, 600_000);
});
