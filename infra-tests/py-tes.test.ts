/**
 * py-tes 1.1.4, the reference Python client, against the TES: service-info, create, get (MINIMAL,
 * BASIC, FULL), list, cancel, and wait() until tasks end (one runs to COMPLETE with its FULL logs
 * read back, one is canceled), every response read through its strict models.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonWithClients, pythonWithPyTes04 } from './support/python-clients.js';
import { startTarget, type Target } from './support/target.js';
import { TEST_IMAGE } from './support/test-image.js';

const run = promisify(execFile);
let target: Target;
let python: string;
let python04: string;
beforeAll(async () => {
  python = pythonWithClients();
  python04 = pythonWithPyTes04();
  target = await startTarget();
}, 360_000);
afterAll(async () => {
  await target?.close();
});

describe('py-tes', () => {
  it('creates, reads in every view, lists, cancels and waits for a task', async () => {
    const script = join(import.meta.dirname, 'clients', 'pytes_check.py');
    const { stdout } = await run(python, [script, target.root], { timeout: 120_000, env: { ...process.env, TES_TEST_IMAGE: TEST_IMAGE } }).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`py-tes check failed:\n${error.stderr ?? ''}\n${error.stdout ?? ''}`);
    });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { final_state?: string; task_id?: string; canceled_state?: string };
    expect(seen.task_id).toMatch(/^[0-9a-z]{26}$/);
    expect(seen.final_state).toBe('COMPLETE');
    expect(seen.canceled_state).toBe('CANCELED');
  });

  it("py-tes 0.4.2 (TES 1.0; Snakemake's TES plugin pins it): service-info at /v1/tasks/service-info, its task shape polled in MINIMAL to COMPLETE, typed inputs and outputs, list, cancel", async () => {
    const script = join(import.meta.dirname, 'clients', 'pytes04_check.py');
    const { stdout } = await run(python04, [script, target.root], { timeout: 120_000, env: { ...process.env, TES_TEST_IMAGE: TEST_IMAGE } }).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`py-tes 0.4.2 check failed:\n${error.stderr ?? ''}\n${error.stdout ?? ''}`);
    });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { state?: string; types?: string[]; canceled?: string };
    expect(seen).toMatchObject({ state: 'COMPLETE', types: ['FILE', 'FILE'], canceled: 'CANCELED' });
  });
});
