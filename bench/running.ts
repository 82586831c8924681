/**
 * The running-task figures of `npm run bench`, in a process of their own (bench/run.ts starts it),
 * against the server as `npm start` runs it (its bundle, in a process of its own, polled over HTTP
 * from this one), on each runtime this machine has:
 *   - CreateTask → COMPLETE for a task that runs `true`;
 *   - BENCH_SLEEPERS (default 200) tasks of `sleep 1` submitted at once, until all have ended;
 * and how many state transitions a single-executor task's workflow costs (counted by a local stack
 * in this process, whose interpreter keeps the count).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { startLocalStack } from '../lambdas/local/stack.js';
import { runtimesUnderTest, TEST_IMAGE, TEST_IMAGE_PREFIXES } from '../infra-tests/support/test-image.js';
import { startServer } from './process.js';
import { median, pool } from './stats.js';

const CONCURRENCY = 16;
const TRUE_RUNS = 25;
const report = (line: string): void => console.log(line);
const ENDED = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

async function create(url: string, command: string[]): Promise<string> {
  const response = await request(`${url}/tasks`, { method: 'POST', body: JSON.stringify({ executors: [{ image: TEST_IMAGE, command }] }) });
  const body = (await response.body.json()) as { id?: string };
  if (response.statusCode !== 200 || body.id === undefined) throw new Error(`CreateTask answered ${response.statusCode}: ${JSON.stringify(body)}`);
  return body.id;
}

async function stateOf(url: string, id: string): Promise<string> {
  return ((await (await request(`${url}/tasks/${id}`)).body.json()) as { state: string }).state;
}

/** Milliseconds from CreateTask to seeing the task COMPLETE, polled every `pollMs`. */
async function createToComplete(url: string, pollMs = 20): Promise<number> {
  const started = performance.now();
  const id = await create(url, ['true']);
  for (;;) {
    const state = await stateOf(url, id);
    if (state === 'COMPLETE') return performance.now() - started;
    if (ENDED.includes(state)) throw new Error(`task ${id} ended ${state}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

for (const { kind, problem } of await runtimesUnderTest()) {
  if (problem !== undefined) {
    report(`CreateTask → COMPLETE on ${kind}: not measured (${problem})`);
    continue;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'tes-bench-running-'));
  const server = await startServer(dataDir, { TES_LOCAL_RUNTIME: kind, TES_ALLOWED_IMAGE_PREFIXES: TEST_IMAGE_PREFIXES });
  try {
    // One task first: the server starts its S3 process with the first run that needs it.
    await createToComplete(server.url);
    const runs: number[] = [];
    const close: number[] = [];
    for (let i = 0; i < TRUE_RUNS; i += 1) {
      runs.push(await createToComplete(server.url));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The same, polled every 2 ms: how long the run itself takes, which polls every 20 ms round up.
    for (let i = 0; i < TRUE_RUNS; i += 1) {
      close.push(await createToComplete(server.url, 2));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    report(
      `CreateTask → COMPLETE for a task running \`true\` on ${kind}: median ${median(runs).toFixed(0)} ms over ${runs.length} tasks (range ${Math.min(...runs).toFixed(0)}–${Math.max(...runs).toFixed(0)}), ` +
        `polled every 20 ms; ${median(close).toFixed(0)} ms polled every 2 ms; npm start (nothing to stage: staged in the server process)`,
    );
    // Many tasks at once: SLEEPERS tasks of `sleep 1` submitted together, until every one has ended.
    const sleepers = Number(process.env['BENCH_SLEEPERS'] ?? 200);
    const burst = performance.now();
    const pending = new Set(await pool(sleepers, CONCURRENCY, () => create(server.url, ['sleep', '1'])));
    let failed = 0;
    while (pending.size > 0) {
      for (const id of [...pending]) {
        const state = await stateOf(server.url, id);
        if (ENDED.includes(state)) {
          pending.delete(id);
          if (state !== 'COMPLETE') failed += 1;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const capacity = /executors run while .* fit in (\S+) vCPUs and .*, (\d+) at most/.exec(server.output());
    report(
      `${sleepers} tasks of \`sleep 1\` submitted at once on ${kind}: all ended in ${((performance.now() - burst) / 1000).toFixed(1)} s ` +
        `(${failed} not COMPLETE; best effort, at most ${capacity?.[2] ?? '?'} runs at once on ${capacity?.[1] ?? '?'} vCPUs), npm start`,
    );
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// What one task's workflow costs in state transitions (Step Functions bills each).
{
  const [runtime] = (await runtimesUnderTest()).filter((r) => r.problem === undefined);
  if (runtime !== undefined) {
    const stack = await startLocalStack({ port: 0, env: { TES_LOCAL_RUNTIME: runtime.kind, TES_ALLOWED_IMAGE_PREFIXES: TEST_IMAGE_PREFIXES } });
    try {
      const id = await create(stack.url, ['true']);
      while (!ENDED.includes(await stateOf(stack.url, id))) await new Promise((resolve) => setTimeout(resolve, 20));
      const workflow = (await stack.runtime).workflow;
      let transitions: number | undefined;
      while ((transitions = workflow?.transitions.get(id)) === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      report(`State transitions one single-executor task costs in the workflow: ${transitions}`);
    } finally {
      await stack.close();
    }
  }
}
