/**
 * The project-local Python environment for the real-client tests: `.venv` with the packages in
 * infra-tests/clients/requirements.txt, created on first use and refreshed when that file changes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const venv = join(root, '.venv');
const requirements = join(root, 'infra-tests', 'clients', 'requirements.txt');
const stamp = join(venv, '.requirements.sha256');

/** Path of the venv's python, installing the client packages when needed. */
export function pythonWithClients(): string {
  const python = join(venv, 'bin', 'python');
  const wanted = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return python;
  try {
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'pipe' });
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements], {
      stdio: 'pipe',
      timeout: 300_000,
    });
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(
      `the real-client tests need python3 with venv and pip, and PyPI access to install ${requirements}: ${detail}`,
      { cause: error },
    );
  }
  writeFileSync(stamp, wanted);
  return python;
}
