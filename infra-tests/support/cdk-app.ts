/**
 * A CDK App for tests whose cloud assembly goes to a temporary directory of its own, removed after
 * the importing test file's tests. Left to itself, an App without `outdir` synthesizes into a new
 * `<tmp>/cdk.outXXXXXX` that nothing removes: tens of megabytes of bundled functions per App, and
 * gigabytes in the temporary directory after a day of test runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type AppProps } from 'aws-cdk-lib';
import { afterAll } from 'vitest';

const made: string[] = [];

// Imported at collection: this registers on the importing file, which each get a fresh copy of this module.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function testApp(props: Omit<AppProps, 'outdir'> = {}): App {
  const outdir = mkdtempSync(join(tmpdir(), 'tes-cdk-test-'));
  made.push(outdir);
  return new App({ ...props, outdir });
}
