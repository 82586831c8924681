/**
 * The writable directories a task's containers share. Fargate (like Docker) mounts directories, not
 * single files, so every input, output, volume, workdir and stdio path contributes its directory;
 * nested ones collapse into the outermost. The same layout serves every executor of a task, so what
 * one executor leaves in a volume the next one finds there.
 */
import type { Problem } from './errors.js';
import { EXECUTOR_HOME, SCRATCH_PATH } from './task-definition.js';
import type { TesTask } from './tes.js';

/** Where nothing may be mounted: it would hide the image's own system or the kernel's files. */
const SYSTEM = ['/bin', '/sbin', '/usr', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/proc', '/sys', '/dev', '/run'];
/**
 * What the runtime itself uses: the staging containers' scratch volume, their code (/opt/tes) and
 * Node (/nodejs, distroless), and the executor's tmpfs home. A task volume there would hide them.
 */
const RUNTIME = [SCRATCH_PATH, '/opt/tes', '/nodejs', EXECUTOR_HOME];

const WILDCARD = /[*?[]/;
/** What `--volume src:dst` and `--mount type=bind,src=...,dst=...` would split a path at. */
const MOUNT_SEPARATORS = /[,:"]/;

function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const cut = trimmed.lastIndexOf('/');
  return cut <= 0 ? '/' : trimmed.slice(0, cut);
}

function stripSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** The directory that holds a wildcard output's matches: its longest literal leading directory. */
function literalDirectory(path: string): string {
  const segments = path.split('/');
  const literal: string[] = [];
  for (const segment of segments.slice(0, -1)) {
    if (WILDCARD.test(segment)) break;
    literal.push(segment);
  }
  return literal.join('/') || '/';
}

interface MountSource {
  dir: string;
  field: string;
}

function mountSources(task: TesTask): MountSource[] {
  const sources: MountSource[] = [];
  (task.inputs ?? []).forEach((input, i) => {
    sources.push({ dir: input.type === 'DIRECTORY' ? stripSlash(input.path) : dirname(input.path), field: `inputs[${i}].path` });
  });
  (task.outputs ?? []).forEach((output, i) => {
    let dir: string;
    if (WILDCARD.test(output.path)) dir = literalDirectory(output.path);
    else dir = output.type === 'DIRECTORY' ? stripSlash(output.path) : dirname(output.path);
    sources.push({ dir, field: `outputs[${i}].path` });
  });
  (task.volumes ?? []).forEach((volume, i) => sources.push({ dir: stripSlash(volume), field: `volumes[${i}]` }));
  task.executors.forEach((executor, i) => {
    if (executor.workdir !== undefined) sources.push({ dir: stripSlash(executor.workdir), field: `executors[${i}].workdir` });
    for (const stream of ['stdin', 'stdout', 'stderr'] as const) {
      const path = executor[stream];
      if (path !== undefined) sources.push({ dir: dirname(path), field: `executors[${i}].${stream}` });
    }
  });
  return sources;
}

function isWithin(path: string, dir: string): boolean {
  return dir === '/' ? true : path === dir || path.startsWith(`${dir}/`);
}

/** Problems with where a task's files would be mounted (a file directly in `/`, a reserved directory). */
export function mountProblems(task: TesTask): Problem[] {
  const problems: Problem[] = [];
  for (const { dir, field } of mountSources(task)) {
    const system = SYSTEM.find((reserved) => isWithin(dir, reserved));
    // Under a runtime directory, or above one (a volume at /opt hides /opt/tes, at /home the executor's home).
    const runtime = RUNTIME.find((reserved) => isWithin(dir, reserved) || isWithin(reserved, dir));
    if (MOUNT_SEPARATORS.test(dir)) {
      problems.push({
        path: field,
        message: `its directory ${JSON.stringify(dir)} is mounted, and a mounted directory must not contain ',', ':' or '"' (container runtimes read them as separators)`,
        rule: 'normalized_paths',
      });
    } else if (dir === '/') {
      problems.push({ path: field, message: 'must be inside a directory (for example /data/...), not directly under /', rule: 'reserved_paths' });
    } else if (system !== undefined) {
      problems.push({ path: field, message: `must not be under a system directory (${SYSTEM.join(', ')})`, rule: 'reserved_paths' });
    } else if (runtime !== undefined) {
      const where = isWithin(dir, runtime) ? `under ${runtime}` : `at ${dir}, which holds ${runtime}`;
      problems.push({ path: field, message: `must not be mounted ${where}: the runtime reserves ${RUNTIME.join(', ')}`, rule: 'reserved_paths' });
    }
  }
  problems.push(...overlappingInputs(task));
  return problems;
}

/** Inputs that would land on each other: the same path twice, or a path inside one a FILE input takes. */
function overlappingInputs(task: TesTask): Problem[] {
  const problems: Problem[] = [];
  const inputs = task.inputs ?? [];
  inputs.forEach((input, j) => {
    const path = stripSlash(input.path);
    for (let i = 0; i < j; i += 1) {
      const earlier = inputs[i];
      if (earlier === undefined) continue;
      const other = stripSlash(earlier.path);
      const file = (earlier.type ?? 'FILE') === 'FILE';
      if (path === other) problems.push({ path: `inputs[${j}].path`, message: `is also the path of inputs[${i}]`, rule: 'overlapping_inputs' });
      else if (file && isWithin(path, other)) problems.push({ path: `inputs[${j}].path`, message: `is inside ${other}, which inputs[${i}] makes a file`, rule: 'overlapping_inputs' });
      else if ((input.type ?? 'FILE') === 'FILE' && isWithin(other, path)) {
        problems.push({ path: `inputs[${j}].path`, message: `is a file, and inputs[${i}] (${other}) is inside it`, rule: 'overlapping_inputs' });
      }
    }
  });
  return problems;
}

/** The directories to mount, outermost only, sorted. */
export function mountDirectories(task: TesTask): string[] {
  const dirs = [...new Set(mountSources(task).map((s) => s.dir))].sort((a, b) => a.length - b.length || a.localeCompare(b));
  const chosen: string[] = [];
  for (const dir of dirs) if (!chosen.some((outer) => isWithin(dir, outer))) chosen.push(dir);
  return chosen.sort();
}
