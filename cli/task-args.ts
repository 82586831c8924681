/**
 * `tes run` and `tes submit`'s options → a TES task document, or a task document read from a file
 * with `--name` and `--tag` put on it. Every problem is a UsageError naming the option.
 */
import type { TesExecutor, TesInput, TesOutput, TesResources, TesTask } from '../lambdas/domain/tes.js';
import { UsageError } from './errors.js';

export interface TaskOptions {
  image?: string;
  name?: string;
  workdir?: string;
  env?: string[];
  cpu?: string;
  ram?: string;
  disk?: string;
  tag?: string[];
  input?: string[];
  output?: string[];
}

/** The options that describe the task itself, which `--file` gives instead. */
const DESCRIBING = ['image', 'workdir', 'env', 'cpu', 'ram', 'disk', 'input', 'output'] as const;

/**
 * `K=V` → [K, V]; `K` alone → [K, undefined]. The key is everything before the first `=`.
 *
 *   parseKeyValue('A=b=c', '--env') // ['A', 'b=c']
 */
export function parseKeyValue(text: string, option: string): [string, string | undefined] {
  const at = text.indexOf('=');
  const key = at < 0 ? text : text.slice(0, at);
  if (key === '') throw new UsageError(`${option} takes KEY=VALUE, with a key: ${JSON.stringify(text)}`);
  return [key, at < 0 ? undefined : text.slice(at + 1)];
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A path ending in `/` (not `/` itself) names a directory; the slash is not part of the path. */
function directoryPath(path: string): { path: string; directory: boolean } {
  return path.length > 1 && path.endsWith('/') ? { path: path.replace(/\/+$/, ''), directory: true } : { path, directory: false };
}

/**
 * `--input URL:PATH`: the path is after the last `:` followed by `/` (URLs hold `:` themselves). A
 * URL or path ending in `/` is a DIRECTORY.
 *
 *   parseInput('s3://bucket/in.txt:/data/in.txt') // { url: 's3://bucket/in.txt', path: '/data/in.txt', type: 'FILE' }
 */
export function parseInput(text: string): TesInput {
  const at = text.lastIndexOf(':/');
  const url = at < 0 ? '' : text.slice(0, at);
  if (at < 0 || !SCHEME.test(url)) {
    throw new UsageError(`--input takes URL:PATH, for example s3://bucket/in.txt:/data/in.txt, not ${JSON.stringify(text)}`);
  }
  const { path, directory } = directoryPath(text.slice(at + 1));
  return { url, path, type: directory || url.endsWith('/') ? 'DIRECTORY' : 'FILE' };
}

/**
 * `--output PATH:URL`: the path is before the first `:`. A URL or path ending in `/` is a DIRECTORY;
 * a path with wildcards (`*`, `?`, `[`) uploads each file it matches under the URL, named by its
 * path below the last directory before the first wildcard.
 *
 *   parseOutput('/data/*.txt:s3://bucket/out/') // { path: '/data/*.txt', path_prefix: '/data/', url: 's3://bucket/out/', type: 'FILE' }
 */
export function parseOutput(text: string): TesOutput {
  const at = text.indexOf(':');
  const url = at < 0 ? '' : text.slice(at + 1);
  if (at < 0 || !text.startsWith('/') || !SCHEME.test(url)) {
    throw new UsageError(`--output takes PATH:URL, for example /data/out.txt:s3://bucket/out.txt, not ${JSON.stringify(text)}`);
  }
  const { path, directory } = directoryPath(text.slice(0, at));
  const wildcard = path.search(/[*?[]/);
  if (wildcard >= 0) return { path, path_prefix: path.slice(0, path.lastIndexOf('/', wildcard) + 1), url, type: 'FILE' };
  return { path, url, type: directory || url.endsWith('/') ? 'DIRECTORY' : 'FILE' };
}

function positive(value: string | undefined, option: string, whole: boolean): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0 || (whole && !Number.isInteger(number))) {
    throw new UsageError(`${option} takes a ${whole ? 'whole ' : ''}number above 0, not ${JSON.stringify(value)}`);
  }
  return number;
}

function tags(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  // `--tag K` is a tag with an empty value: TES tags are strings.
  return Object.fromEntries(pairs.map((pair) => parseKeyValue(pair, '--tag')).map(([k, v]) => [k, v ?? '']));
}

/**
 * The task `tes run --image IMG [options] -- CMD ARGS…` describes. `--env K` without a value takes
 * K's value from `environment` (this process's), as `docker run -e K` does.
 */
export function taskFromOptions(options: TaskOptions, command: readonly string[], environment: Readonly<Record<string, string | undefined>> = {}): TesTask {
  if (options.image === undefined || options.image === '') throw new UsageError('--image is required (or a task document with --file)');
  if (command.length === 0) throw new UsageError('say what to run after the options: tes run --image IMG -- CMD ARGS…');
  const executor: TesExecutor = { image: options.image, command: [...command] };
  if (options.workdir !== undefined) executor.workdir = options.workdir;
  if (options.env !== undefined && options.env.length > 0) {
    executor.env = Object.fromEntries(
      options.env.map((pair) => {
        const [key, value] = parseKeyValue(pair, '--env');
        const found = value ?? environment[key];
        if (found === undefined) throw new UsageError(`--env ${key}: no value given and ${key} is not set here`);
        return [key, found];
      }),
    );
  }
  const resources: TesResources = {};
  const cpu = positive(options.cpu, '--cpu', true);
  const ram = positive(options.ram, '--ram', false);
  const disk = positive(options.disk, '--disk', false);
  if (cpu !== undefined) resources.cpu_cores = cpu;
  if (ram !== undefined) resources.ram_gb = ram;
  if (disk !== undefined) resources.disk_gb = disk;
  const task: TesTask = { executors: [executor] };
  if (options.name !== undefined) task.name = options.name;
  const tagged = tags(options.tag);
  if (tagged !== undefined) task.tags = tagged;
  if (Object.keys(resources).length > 0) task.resources = resources;
  if (options.input !== undefined && options.input.length > 0) task.inputs = options.input.map(parseInput);
  if (options.output !== undefined && options.output.length > 0) task.outputs = options.output.map(parseOutput);
  return task;
}

/**
 * A task document (`--file`): JSON of an object with executors; `--name` and `--tag` are put on it,
 * the options that describe a task are refused beside it.
 */
export function taskFromDocument(text: string, source: string, options: TaskOptions, command: readonly string[]): TesTask {
  const given = DESCRIBING.filter((key) => {
    const value = options[key];
    return value !== undefined && !(Array.isArray(value) && value.length === 0);
  });
  if (given.length > 0 || command.length > 0) {
    const what = [...given.map((key) => `--${key}`), ...(command.length > 0 ? ['a command'] : [])];
    throw new UsageError(`--file gives the whole task: ${what.join(', ')} cannot go with it (only --name and --tag can)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`${source} must hold a TES task: a JSON object with executors`);
  const task = { ...(parsed as TesTask) };
  if (options.name !== undefined) task.name = options.name;
  const tagged = tags(options.tag);
  if (tagged !== undefined) task.tags = { ...task.tags, ...tagged };
  return task;
}
