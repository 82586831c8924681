/**
 * What `npm start` runs, read from package.json, so that the tests and the benchmark start the
 * local stack exactly as a user does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

/** The arguments `npm start` gives node (its script is `node <arguments>`). */
export function npmStartArgs(): string[] {
  const script = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const [command, ...args] = script.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`npm start is expected to run node, not ${JSON.stringify(script)}`);
  return args;
}
