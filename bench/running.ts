/**
 * The running-task figures of `npm run bench`, in a process of their own (bench/run.ts starts it):
 * the local stack they run against shares its heap with nothing the other figures left behind, as
 * the `npm start` server shares it with nothing (a large heap makes every sandbox process the
 * server forks slower to start).
 *   - CreateTask → COMPLETE for a task that runs `true`, on each runtime this machine has;
 *   - how many state transitions its workflow costs;
 *   - BENCH_SLEEPERS (default 200) tasks of `sleep 1` submitted at once, until all have ended.
 */
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { startLocalStack } from '../lambdas/local/stack.js';
import { runtimesUnderTest, TEST_IMAGE, TEST_IMAGE_PREFIXES } from '../infra-tests/support/test-image.js';
import { median, pool } from './stats.js';

const CONCURRENCY = 16;
const report = (line: string): void => console.log(line);

for (const { kind, problem } of await runtimesUnderTest()) {
  if (problem !== undefined) {
    report(`CreateTask → COMPLETE on ${kind}: not measured (${problem})`);
    continue;
  }
  const runner = await startLocalStack({ port: 0, env: { TES_LOCAL_RUNTIME: kind, TES_ALLOWED_IMAGE_PREFIXES: TEST_IMAGE_PREFIXES } });
  const runs: number[] = [];
  let transitions = 0;
  for (let i = 0; i < 25; i += 1) {
    const started = performance.now();
    const response = await request(`${runner.url}/tasks`, { method: 'POST', body: JSON.stringify({ executors: [{ image: TEST_IMAGE, command: ['true'] }] }) });
    const { id } = (await response.body.json()) as { id: string };
    for (;;) {
      const task = (await (await request(`${runner.url}/tasks/${id}`)).body.json()) as { state: string };
      if (task.state === 'COMPLETE') break;
      if (!['QUEUED', 'INITIALIZING', 'RUNNING'].includes(task.state)) throw new Error(`task ended ${task.state}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    runs.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
    transitions = (await runner.runtime).workflow?.transitions.get(id) ?? transitions;
  }
  report(`CreateTask → COMPLETE for a task running \`true\` on ${kind}: median ${median(runs).toFixed(0)} ms over ${runs.length} tasks, polled every 20 ms (nothing to stage: staged in the server process)`);
  report(`State transitions one single-executor task costs in the workflow: ${transitions}`);
  // Many tasks at once: SLEEPERS tasks of `sleep 1` submitted together, until every one has ended.
  const sleepers = Number(process.env['BENCH_SLEEPERS'] ?? 200);
  const burst = performance.now();
  const burstIds = await pool(sleepers, CONCURRENCY, async () => {
    const response = await fetch(`${runner.url}/tasks`, { method: 'POST', body: JSON.stringify({ executors: [{ image: TEST_IMAGE, command: ['sleep', '1'] }] }) });
    return ((await response.json()) as { id: string }).id;
  });
  const pending = new Set(burstIds);
  let failed = 0;
  while (pending.size > 0) {
    for (const id of [...pending]) {
      const task = (await (await fetch(`${runner.url}/tasks/${id}`)).json()) as { state: string };
      if (['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'].includes(task.state)) {
        pending.delete(id);
        if (task.state !== 'COMPLETE') failed += 1;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  report(
    `${sleepers} tasks of \`sleep 1\` submitted at once on ${kind}: all ended in ${((performance.now() - burst) / 1000).toFixed(1)} s ` +
      `(${failed} not COMPLETE; best effort, at most ${runner.capacity.maxRuns} runs at once on ${runner.capacity.cpus} vCPUs)`,
  );
  await runner.close();
}

