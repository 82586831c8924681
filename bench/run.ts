/**
 * `npm run bench`: figures for the local stack (a benchmark, not a test; nothing here passes or fails).
 *   - CreateTask and GetTask requests per second over HTTP;
 *   - ListTasks page latency with 1,000 and with 100,000 tasks in the table, and their ratio;
 *   - DynamoDB read units one filtered page consumes.
 * Set BENCH_LARGE to change the large table size (default 100000), BENCH_STORES the task stores
 * measured (default `sqlite,dynamodb`).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { request } from 'undici';
import { ulidIds } from '../lambdas/adapters/ulid-ids.js';
import { parseListQuery } from '../lambdas/domain/list-query.js';
import type { TaskRecord } from '../lambdas/domain/task-record.js';
import { LOCAL_OWNER, startLocalStack } from '../lambdas/local/stack.js';
import { listTasks } from '../lambdas/usecases/list-tasks.js';
import { RecordingWorkflow } from '../lambdas/local/local-workflow.js';
import { bundleFigures } from './bundles.js';
import { runScript, startServer, treeRssMiB } from './process.js';
import { median, pool } from './stats.js';

const LARGE = Number(process.env['BENCH_LARGE'] ?? 100_000);
const CONCURRENCY = 16;
/** A page that a 1-in-10 filter can fill from 1,000 tasks, so both table sizes answer a full page. */
const FILTERED = 'page_size=64&tag_key=tenth&tag_value=3';

interface LoadRequest {
  path: string;
  method: 'GET' | 'POST';
  body?: string;
}

/**
 * Sends `requests` from CONCURRENCY kept-alive connections in a worker thread (load-worker.mjs),
 * so that the client does not share the server's event loop, and answers requests per second
 * and the bodies of the answers.
 */
function load(origin: string, requests: LoadRequest[]): Promise<{ rps: number; answers: string[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), { workerData: { origin, requests, concurrency: CONCURRENCY } });
    worker.once('message', ({ seconds, answers }: { seconds: number; answers: string[] }) => resolve({ rps: requests.length / seconds, answers }));
    worker.once('error', reject);
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const lines: string[] = [];
const report = (line: string): void => {
  lines.push(line);
  console.log(line);
};


/**
 * The API figures on one task store (TES_LOCAL_STORE): SQLite, which `npm start` uses, and the
 * cloud's DynamoDB adapter on dynalite, whose read units are what DynamoDB bills. The stack accepts
 * tasks but runs none, so they measure the API alone.
 */
async function apiFigures(store: 'sqlite' | 'dynamodb'): Promise<void> {
  const label = `[${store}]`;
  const stack = await startLocalStack({ port: 0, workflow: new RecordingWorkflow(), env: { TES_LOCAL_STORE: store } });
  const taskBody = (i: number): string =>
    JSON.stringify({ executors: [{ image: 'alpine', command: ['true'] }], name: 'bench', tags: { tenth: String(i % 10) } });

  const origin = new URL(stack.url).origin;
  const base = new URL(stack.url).pathname;

  // 1. CreateTask and GetTask throughput over HTTP, from a client in another thread: the median of three runs.
  const RUNS = 3;
  const CREATES = 2000;
  const ids: string[] = [];
  const createRates: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const created = await load(
      origin,
      Array.from({ length: CREATES }, (_, i) => ({ path: `${base}/tasks`, method: 'POST', body: taskBody(ids.length + i) })),
    );
    ids.push(...created.answers.map((answer) => (JSON.parse(answer) as { id: string }).id));
    createRates.push(created.rps);
  }
  report(`${label} CreateTask: ${median(createRates).toFixed(0)} requests/s (median of ${RUNS} runs of ${CREATES} requests, ${CONCURRENCY} concurrent; ${createRates.map((r) => r.toFixed(0)).join(', ')})`);
  const GETS = 20_000;
  const getRates: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const got = await load(
      origin,
      Array.from({ length: GETS }, (_, i) => ({ path: `${base}/tasks/${ids[i % ids.length]}?view=BASIC`, method: 'GET' })),
    );
    getRates.push(got.rps);
  }
  report(`${label} GetTask:    ${median(getRates).toFixed(0)} requests/s (median of ${RUNS} runs of ${GETS} requests, BASIC view, ${CONCURRENCY} concurrent; ${getRates.map((r) => r.toFixed(0)).join(', ')})`);

  // 2. ListTasks with a small and a large table. Tasks are written straight to the store (faster than HTTP).
  let seq = 0;
  async function seedTo(total: number): Promise<void> {
    const have = ids.length + seq;
    const base = Date.now();
    await pool(Math.max(0, total - have), 32, async () => {
      seq += 1;
      const at = new Date(base + seq);
      const record: TaskRecord = {
        id: stack.deps.ids.next(at),
        owner: LOCAL_OWNER,
        state: 'QUEUED',
        version: 1,
        creationTime: at.toISOString(),
        task: { name: `seed-${seq}`, executors: [{ image: 'alpine', command: ['true'] }], tags: { tenth: String(seq % 10) } },
        logs: [],
      };
      await stack.deps.store.create(record);
    });
  }

  async function listFigures(size: number): Promise<{ unfiltered: number; filtered: number; rru: number; state: number }> {
    const page = (query: string): Promise<number> =>
      timed(async () => {
        const response = await request(`${stack.url}/tasks?${query}`);
        if (response.statusCode !== 200) throw new Error(`ListTasks answered ${response.statusCode}`);
        await response.body.arrayBuffer();
      });
    const runs = 15;
    const unfiltered: number[] = [];
    const filtered: number[] = [];
    const byState: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      unfiltered.push(await page('page_size=256'));
      filtered.push(await page(FILTERED));
      byState.push(await page('page_size=256&state=QUEUED'));
    }
    // A BASIC page reads each task, and a filter that matches nothing walks the whole index.
    const basic: number[] = [];
    for (let i = 0; i < 5; i += 1) basic.push(await page('page_size=256&view=BASIC'));
    const noTag = await page('page_size=64&tag_key=tenth&tag_value=none');
    const noName = await page('page_size=64&name_prefix=none-');
    const outcome = await listTasks(stack.deps, { owner: LOCAL_OWNER, admin: false }, parseListQuery(FILTERED));
    report(
      `${label} ListTasks with ${size.toLocaleString('en')} tasks: page of 256 ${median(unfiltered).toFixed(1)} ms unfiltered (MINIMAL), ` +
        `${median(basic).toFixed(1)} ms BASIC, ${median(byState).toFixed(1)} ms by state; page of 64 with a tag filter matching 1 in 10: ${median(filtered).toFixed(1)} ms ` +
        `(${outcome.readUnits} read units for that filtered page); a tag filter / name_prefix matching nothing: ${noTag.toFixed(0)} / ${noName.toFixed(0)} ms`,
    );
    return { unfiltered: median(unfiltered), filtered: median(filtered), rru: outcome.readUnits, state: median(byState) };
  }

  await seedTo(1000);
  const small = await listFigures(1000);
  const start = performance.now();
  await seedTo(LARGE);
  console.log(`(${label} seeded ${LARGE.toLocaleString('en')} tasks in ${((performance.now() - start) / 1000).toFixed(0)} s)`);
  const large = await listFigures(LARGE);
  report(
    `${label} ListTasks latency ratio ${LARGE.toLocaleString('en')} / 1,000 tasks: ${(large.unfiltered / small.unfiltered).toFixed(2)} unfiltered, ` +
      `${(large.state / small.state).toFixed(2)} by state, ${(large.filtered / small.filtered).toFixed(2)} filtered; ` +
      `read units per filtered page ${small.rru} → ${large.rru}`,
  );
  await stack.close();
}

// Running tasks first, in a process of their own (bench/running.ts): a run's path makes and removes
// directories and files, and once the figures below have written and deleted 200,000 tasks' data
// the disk stays busy long enough to add about 20 ms to it (68 against 49 ms, measured both ways).
for (const line of await runScript(join(import.meta.dirname, 'running.ts'))) lines.push(line);

for (const store of (process.env['BENCH_STORES'] ?? 'sqlite,dynamodb').split(',') as ('sqlite' | 'dynamodb')[]) await apiFigures(store);

// `npm start` as a user meets it: start-up to the first answer and memory, with an empty data
// directory and with one holding LARGE tasks (a tenth of them left QUEUED by the last run).
{
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { SqliteTaskStore } = await import('../lambdas/local/sqlite-task-store.js');
  const dir = await mkdtemp(join(tmpdir(), 'tes-bench-start-'));
  try {
    // The first start after a change to the sources builds npm start's bundle: not what is measured.
    const warmup = await mkdtemp(join(tmpdir(), 'tes-bench-warmup-'));
    await (await startServer(warmup)).stop();
    await rm(warmup, { recursive: true, force: true });
    const empty = await startServer(dir);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idle = await treeRssMiB(empty.child.pid as number);
    await empty.stop();
    const seed = async (at: string, queued: (i: number) => boolean): Promise<void> => {
      const store = new SqliteTaskStore(join(at, 'tasks.sqlite'));
      const base = Date.now() - 3_600_000;
      for (let i = 0; i < LARGE; i += 1) {
        const created = new Date(base + i);
        await store.create({
          id: ulidIds.next(created),
          owner: LOCAL_OWNER,
          state: queued(i) ? 'QUEUED' : 'COMPLETE',
          version: 1,
          creationTime: created.toISOString(),
          task: { name: `seed-${i}`, executors: [{ image: 'alpine', command: ['true'] }], tags: { tenth: String(i % 10) } },
          logs: [],
        });
      }
      store.close();
    };
    // Start-up with LARGE tasks, a tenth of them QUEUED (the API answers while the reconciler
    // resumes them), and memory while the stack works through those it resumed.
    await seed(dir, (i) => i % 10 === 0);
    const full = await startServer(dir, { TES_LOCAL_RUNTIME: 'bubblewrap', TES_LOCAL_CPUS: '1' });
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const busy = await treeRssMiB(full.child.pid as number);
    await full.stop();
    // The same with nine in ten of them QUEUED: the API answers however many the reconciler resumes.
    const mostlyQueued = await mkdtemp(join(tmpdir(), 'tes-bench-queued-'));
    await seed(mostlyQueued, (i) => i % 10 !== 0);
    const queuedStart = await startServer(mostlyQueued, { TES_LOCAL_RUNTIME: 'bubblewrap', TES_LOCAL_CPUS: '1' });
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const queuedBusy = await treeRssMiB(queuedStart.child.pid as number);
    await queuedStart.stop();
    await rm(mostlyQueued, { recursive: true, force: true });
    // Memory idle after a restart with LARGE tasks that have all run.
    const done = await mkdtemp(join(tmpdir(), 'tes-bench-done-'));
    await seed(done, () => false);
    const restarted = await startServer(done);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const loaded = await treeRssMiB(restarted.child.pid as number);
    await restarted.stop();
    await rm(done, { recursive: true, force: true });
    report(
      `npm start to the first answer: ${empty.ms.toFixed(0)} ms with an empty data directory, ${full.ms.toFixed(0)} ms with ${LARGE.toLocaleString('en')} tasks (${(LARGE / 10).toLocaleString('en')} QUEUED), ` +
        `${queuedStart.ms.toFixed(0)} ms with ${LARGE.toLocaleString('en')} tasks (${((LARGE * 9) / 10).toLocaleString('en')} QUEUED; ${queuedBusy.own.toFixed(0)} / ${queuedBusy.tree.toFixed(0)} MiB 10 s later); ` +
        `memory (RSS), server / with the processes it started: ${idle.own.toFixed(0)} / ${idle.tree.toFixed(0)} MiB idle and empty, ${loaded.own.toFixed(0)} / ${loaded.tree.toFixed(0)} MiB idle after a restart with ${LARGE.toLocaleString('en')} tasks that have run, ` +
        `${busy.own.toFixed(0)} / ${busy.tree.toFixed(0)} MiB 10 s into running the ${(LARGE / 10).toLocaleString('en')} it resumed (bubblewrap, TES_LOCAL_CPUS=1)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}


// Last, so that the builds and the many short-lived processes it starts weigh on no figure above.
await bundleFigures(report);
