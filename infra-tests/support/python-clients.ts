/**
 * The project-local Python environment for the real-client tests: `.venv` with the packages in
 * infra-tests/clients/requirements.txt, then those in requirements-cwl-tes.txt exactly as listed
 * (`--no-deps`, their sdists built under build-constraints.txt: see that file for why), created on
 * first use and refreshed when any of them changes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const venv = join(root, '.venv');
const requirements = join(root, 'infra-tests', 'clients', 'requirements.txt');
const pinned = join(root, 'infra-tests', 'clients', 'requirements-cwl-tes.txt');
const buildConstraints = join(root, 'infra-tests', 'clients', 'build-constraints.txt');
const stamp = join(venv, '.requirements.sha256');

const lock = join(root, '.venv.lock');

/**
 * Holds a lock while `work` runs: test files in other workers may need the environment at the same
 * moment, and two installs into one venv break it. A lock older than 15 minutes was left by a killed run.
 */
function locked<T>(work: () => T): T {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another test run holds ${lock} (remove it if no test runs)`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Path of the venv's python, installing the client packages when needed. */
export function pythonWithClients(): string {
  const python = join(venv, 'bin', 'python');
  const wanted = createHash('sha256').update(readFileSync(requirements)).update(readFileSync(pinned)).update(readFileSync(buildConstraints)).digest('hex');
  const ready = () => existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted;
  if (ready()) return python;
  return locked(() => (ready() ? python : install(python, wanted)));
}

function install(python: string, wanted: string): string {
  try {
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'pipe' });
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements], {
      stdio: 'pipe',
      timeout: 300_000,
    });
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '-r', pinned], {
      stdio: 'pipe',
      timeout: 300_000,
      env: { ...process.env, PIP_CONSTRAINT: buildConstraints },
    });
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(
      `the real-client tests need python3 with venv and pip, and PyPI access to install ${requirements} and ${pinned}: ${detail}`,
      { cause: error },
    );
  }
  writeFileSync(stamp, wanted);
  return python;
}
