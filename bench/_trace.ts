import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { startLocalStack } from '../lambdas/local/stack.js';
import { LocalEcsRunner } from '../lambdas/local/ecs-runner.js';
import { TEST_IMAGE, TEST_IMAGE_PREFIXES } from '../infra-tests/support/test-image.js';
const marks: [string, number][] = [];
let t0 = 0;
const mark = (m: string) => marks.push([m, performance.now() - t0]);
const proto = LocalEcsRunner.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
for (const name of ['runStaging', 'runExecutor', 'run']) {
  const orig = proto[name] as (...a: unknown[]) => Promise<unknown>;
  proto[name] = async function (this: unknown, ...args: unknown[]) { const label = name + (name === 'runStaging' ? ':' + String(args[2]) : ''); mark(label + ' start'); try { return await orig.apply(this, args); } finally { mark(label + ' end'); } };
}
const stack = await startLocalStack({ port: 0, env: { TES_LOCAL_RUNTIME: process.env.RT ?? 'bubblewrap', TES_ALLOWED_IMAGE_PREFIXES: TEST_IMAGE_PREFIXES } });
await stack.runtime;
for (let i = 0; i < 6; i++) {
  marks.length = 0; t0 = performance.now();
  const r = await request(`${stack.url}/tasks`, { method: 'POST', body: JSON.stringify({ executors: [{ image: TEST_IMAGE, command: ['true'] }] }) });
  const { id } = (await r.body.json()) as { id: string };
  mark('created');
  let last = '';
  for (;;) { const g = await request(`${stack.url}/tasks/${id}`); const { state } = (await g.body.json()) as { state: string }; if (state !== last) { mark(state); last = state; } if (state === 'COMPLETE') break; await new Promise((res) => setTimeout(res, 2)); }
  if (i >= 3) console.log(marks.map(([m, t]) => `${t.toFixed(0)} ${m}`).join(' | '));
}
await stack.close();
