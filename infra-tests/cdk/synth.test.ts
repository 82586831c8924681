/** `npx cdk synth` works on a clean checkout with no AWS credentials and no Docker daemon, in under two minutes. */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('cdk synth', () => {
  it('synthesizes both stacks offline, without credentials or Docker', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tes-synth-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && key !== 'CDK_DEFAULT_ACCOUNT'));
    const started = Date.now();
    try {
      await run('npx', ['cdk', 'synth', '--quiet', '--output', out], {
        cwd: join(import.meta.dirname, '..', '..'),
        env: { ...env, DOCKER_HOST: 'unix:///nonexistent/docker.sock', AWS_EC2_METADATA_DISABLED: 'true' },
        timeout: 120_000,
      });
      expect(Date.now() - started).toBeLessThan(120_000);
      const files = await readdir(out);
      expect(files).toEqual(expect.arrayContaining(['TesData.template.json', 'TesService.template.json']));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 150_000);
});
