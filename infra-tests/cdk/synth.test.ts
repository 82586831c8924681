/**
 * `npx cdk synth` works on a clean checkout with no AWS credentials and no Docker daemon, in under two
 * minutes, and what it writes passes cfn-lint (the CloudFormation resource specification) with no error.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { pythonWithClients } from '../support/python-clients.js';

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
      // Every template against the CloudFormation resource specification (cfn-lint): no error.
      const templates = files.filter((f) => f.endsWith('.template.json')).map((f) => join(out, f));
      const cfnLint = join(dirname(pythonWithClients()), 'cfn-lint');
      const lint = await run(cfnLint, ['--format', 'json', '--regions', 'eu-west-1', '--', ...templates], { timeout: 120_000 }).then(
        (done) => ({ stdout: done.stdout, stderr: done.stderr, code: 0 }),
        (error: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '', code: error.code ?? -1 }),
      );
      // Its exit code is a bit mask: 2 errors, 4 warnings, 8 notes; anything else means it did not run.
      expect([0, 4, 8, 12, 2, 6, 10, 14], `cfn-lint did not run: ${lint.stderr}`).toContain(lint.code);
      const findings = JSON.parse(lint.stdout) as { Level: string; Rule: { Id: string }; Message: string }[];
      expect(findings.filter((f) => f.Level === 'Error').map((f) => `${f.Rule.Id} ${f.Message}`)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 600_000);
});
