/**
 * How many executors run at once follows what the machine has (here told: one vCPU), not a fixed
 * number: a task waits in INITIALIZING until the vCPUs and memory it asked for fit, a task larger
 * than the machine still runs (alone), and a waiting task can be canceled at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { startTestStack } from './support/local-stack.js';
import { TesHttp } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

let stack: LocalStack;
let tes: TesHttp;
beforeAll(async () => {
  stack = await startTestStack({ port: 0, env: { TES_LOCAL_CPUS: '1', TES_LOCAL_MEMORY_GB: '8', TES_LOCAL_MAX_RUNS: '3' } });
  tes = new TesHttp({ url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers: {}, local: stack, close: () => stack.close() });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

async function create(body: TesTask): Promise<string> {
  const reply = await tes.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return reply.body.id;
}

async function stateOf(id: string): Promise<string> {
  return (await tes.get<TesTask>(`/tasks/${id}`)).body.state ?? '';
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('executors run as the machine allows', () => {
  it('runs a second 1-vCPU task only once the first has ended, on a 1-vCPU machine', async () => {
    const first = await create(task({ resources: { cpu_cores: 1 }, executors: [{ image: TEST_IMAGE, command: ['sleep', '2'] }] }));
    await until('the first task running', async () => (await stateOf(first)) === 'RUNNING');
    const second = await create(task({ resources: { cpu_cores: 1 } }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await stateOf(second)).toBe('INITIALIZING');
    const [a, b] = await Promise.all([first, second].map((id) => waitForTerminal((path) => tes.get<TesTask>(path), id)));
    expect([a?.state, b?.state]).toEqual(['COMPLETE', 'COMPLETE']);
    expect(Date.parse(b?.logs?.[0]?.logs[0]?.start_time as string)).toBeGreaterThanOrEqual(Date.parse(a?.logs?.[0]?.logs[0]?.end_time as string));
  });

  it('cancels a task waiting for room at once, while the one in the way runs on', async () => {
    const blocker = await create(task({ resources: { cpu_cores: 1 }, executors: [{ image: TEST_IMAGE, command: ['sleep', '20'] }] }));
    await until('the blocking task running', async () => (await stateOf(blocker)) === 'RUNNING');
    const waiting = await create(task({ resources: { ram_gb: 1 } }));
    await until('the second task waiting', async () => (await stateOf(waiting)) === 'INITIALIZING');
    const started = Date.now();
    expect((await tes.post(`/tasks/${waiting}:cancel`)).status).toBe(200);
    expect((await waitForTerminal((path) => tes.get<TesTask>(path), waiting, 10_000)).state).toBe('CANCELED');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await stateOf(blocker)).toBe('RUNNING');
    await tes.post(`/tasks/${blocker}:cancel`);
  });

  it('runs tasks that ask for no resources side by side, sharing the CPUs, up to TES_LOCAL_MAX_RUNS at once', async () => {
    // 1 vCPU and TES_LOCAL_MAX_RUNS=3: three such tasks run at once, beside a 1-vCPU one, and a fourth waits.
    const guaranteed = await create(task({ resources: { cpu_cores: 1 }, executors: [{ image: TEST_IMAGE, command: ['sleep', '3'] }] }));
    const shared = [await create(task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '3'] }] })), await create(task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '3'] }] }))];
    await until('all three running', async () => (await Promise.all([guaranteed, ...shared].map(stateOf))).every((state) => state === 'RUNNING'));
    const fourth = await create(task({ executors: [{ image: TEST_IMAGE, command: ['true'] }] }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await stateOf(fourth)).toBe('INITIALIZING');
    const done = await Promise.all([guaranteed, ...shared, fourth].map((id) => waitForTerminal((path) => tes.get<TesTask>(path), id)));
    expect(done.map((t) => t.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE']);
  });

  it('runs a task larger than the machine, alone', async () => {
    const id = await create(task({ resources: { cpu_cores: 4, ram_gb: 8 } }));
    expect((await waitForTerminal((path) => tes.get<TesTask>(path), id)).state).toBe('COMPLETE');
  });
});

describe('tasks beyond what the machine can start soon', () => {
  let small: LocalStack;
  let api: TesHttp;
  beforeAll(async () => {
    // One run at a time: two executions live (one running, one waiting for room), the rest in line.
    small = await startTestStack({ port: 0, env: { TES_LOCAL_MAX_RUNS: '1' } });
    api = new TesHttp({ url: small.url, root: `http://127.0.0.1:${small.port}`, headers: {}, local: small, close: () => small.close() });
  }, 120_000);
  afterAll(async () => {
    await small?.close();
  });

  it('wait QUEUED, holding no execution, and start in arrival order; one canceled there never runs', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const reply = await api.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '1'] }] }));
      expect(reply.status, reply.text).toBe(200);
      ids.push(reply.body.id);
    }
    const state = async (id: string) => (await api.get<TesTask>(`/tasks/${id}`)).body.state;
    await until('the first task running', async () => (await state(ids[0] as string)) === 'RUNNING');
    expect(await state(ids[2] as string)).toBe('QUEUED');
    expect(await state(ids[3] as string)).toBe('QUEUED');
    expect((await api.post(`/tasks/${ids[3]}:cancel`)).status).toBe(200);
    const done = await Promise.all(ids.map((id) => waitForTerminal((path) => api.get<TesTask>(path), id)));
    expect(done.map((t) => t.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE', 'CANCELED']);
    expect(done[3]?.logs ?? []).toEqual([]);
    const started = done.slice(0, 3).map((t) => Date.parse(t.logs?.[0]?.logs[0]?.start_time as string));
    expect([...started].sort((a, b) => a - b)).toEqual(started);
  });
});
