/**
 * The project-local Python environments for the real-client tests, each created on first use and
 * refreshed when a file it is installed from changes:
 * - `.venv`: the packages in infra-tests/clients/requirements.txt, then those in
 *   requirements-cwl-tes.txt exactly as listed (`--no-deps`, their sdists built under
 *   build-constraints.txt: see that file for why);
 * - `.venv-pytes04`: py-tes 0.4.2 (requirements-pytes04.txt), the TES 1.0 client Snakemake's TES
 *   plugin pins, which cannot share an environment with py-tes 1.1.4.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const clients = join(root, 'infra-tests', 'clients');
const requirements = join(clients, 'requirements.txt');
const pinned = join(clients, 'requirements-cwl-tes.txt');
const buildConstraints = join(clients, 'build-constraints.txt');

const lock = join(root, '.venv.lock');

/** One pip install into the environment: a requirements file, with options. */
interface Step {
  file: string;
  noDeps?: boolean;
  /** PIP_CONSTRAINT for the install (it reaches the isolated builds of sdists). */
  constraint?: string;
}

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

/** Path of the environment's python, installing its packages when needed. */
function pythonIn(name: string, steps: readonly Step[]): string {
  const venv = join(root, name);
  const python = join(venv, 'bin', 'python');
  const stamp = join(venv, '.requirements.sha256');
  const hash = createHash('sha256');
  for (const step of steps) {
    hash.update(readFileSync(step.file));
    if (step.constraint !== undefined) hash.update(readFileSync(step.constraint));
  }
  const wanted = hash.digest('hex');
  const ready = () => existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted;
  if (ready()) return python;
  return locked(() => {
    if (ready()) return python;
    try {
      execFileSync('python3', ['-m', 'venv', venv], { stdio: 'pipe' });
      for (const step of steps) {
        execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...(step.noDeps === true ? ['--no-deps'] : []), '-r', step.file], {
          stdio: 'pipe',
          timeout: 300_000,
          env: { ...process.env, ...(step.constraint === undefined ? {} : { PIP_CONSTRAINT: step.constraint }) },
        });
      }
    } catch (error) {
      const detail = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
      throw new Error(`the real-client tests need python3 with venv and pip, and PyPI access to install ${steps.map((s) => s.file).join(' and ')}: ${detail}`, {
        cause: error,
      });
    }
    writeFileSync(stamp, wanted);
    return python;
  });
}

/** `.venv`'s python: py-tes 1.1.4, cwl-tes, Schemathesis, moto, cfn-lint. */
export function pythonWithClients(): string {
  return pythonIn('.venv', [{ file: requirements }, { file: pinned, noDeps: true, constraint: buildConstraints }]);
}

/** `.venv-pytes04`'s python: py-tes 0.4.2, the TES 1.0 client. */
export function pythonWithPyTes04(): string {
  return pythonIn('.venv-pytes04', [{ file: join(clients, 'requirements-pytes04.txt') }]);
}
