/**
 * `npm run smoke -- <ApiUrl>` works: run here against a local stack as an operator runs it against a
 * deployment (docs/first-deploy.md), so the script is known to work before anyone needs it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../lambdas/local/stack.js';
import { startTestStack } from './support/local-stack.js';
import { TEST_IMAGE } from './support/test-image.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack({ port: 0, auth: 'jwt' });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('npm run smoke', () => {
  it('passes against a running TES, given its URL, a token and an image it admits', async () => {
    const token = (await stack.issuer?.issue('smoke-operator')) as string;
    const { stdout } = await run('npx', ['tsx', 'scripts/smoke.ts', stack.url, '--token', token, '--image', TEST_IMAGE, '--timeout-minutes', '2'], {
      cwd: root,
      env: { ...process.env, TES_URL: '', TES_TOKEN: '' },
      timeout: 240_000,
    });
    expect(stdout).toMatch(/tests: 7 passed, 0 failed/);
  }, 300_000);

  it('says how to call it when the URL is missing', async () => {
    const error = (await run('npx', ['tsx', 'scripts/smoke.ts'], { cwd: root }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(2);
    expect(error.stderr).toContain('usage: npm run smoke -- <ApiUrl');
  });
});
