/**
 * CreateTask's request: checks a client's task document and turns it into the task to store.
 * Primary course: drop the fields the server owns, check the schema and every rule it cannot
 * express, apply backend_parameters, and return the task in spec shape with any warnings.
 */
import { admissionProblems, DEFAULT_ADMISSION, type AdmissionPolicy } from './admission.js';
import { applyBackendParameters } from './backend-parameters.js';
import { InvalidTaskError, type Problem } from './errors.js';
import { fargateProblems } from './fargate.js';
import { CONTROL_CHARACTER, isHostUrl, parseHostUrl } from './host-path.js';
import { imageReferenceProblem } from './image-reference.js';
import { mountProblems } from './mounts.js';
import { toSpecShape } from './spec-shape.js';
import { hostFilesRefused, type StoragePolicy } from './storage-policy.js';
import type { TesTask } from './tes.js';
import { joinPath, MAX_NESTING, nestedDeeperThan, schemaProblems } from './validation.js';

/** Fields the server sets; a client's values for them are ignored, not refused. */
const SERVER_OWNED_FIELDS = ['id', 'state', 'logs', 'creation_time'] as const;

/** URL schemes an input may be fetched from, and the ones outputs may be uploaded to. */
export const INPUT_URL_SCHEMES = ['s3', 'http', 'https'] as const;
export const OUTPUT_URL_SCHEMES = ['s3'] as const;

export interface AcceptedTask {
  /** The task as it will be stored: spec fields only, without server-owned fields. */
  task: TesTask;
  /** Things the client should know that do not refuse the task (for the task's system logs). */
  warnings: string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

const WILDCARD = /[*?[]/;

/** Problems with a container path: it must be absolute and contain no `.`/`..` segments. */
export function pathProblems(path: string, value: unknown): Problem[] {
  if (typeof value !== 'string') return [];
  const rule = 'normalized_paths';
  if (!value.startsWith('/')) return [{ path, message: 'must be an absolute path', rule }];
  if (value.split('/').some((segment) => segment === '..' || segment === '.')) {
    return [{ path, message: "must be a normalized path (no '.' or '..' segments)", rule }];
  }
  if (CONTROL_CHARACTER.test(value)) return [{ path, message: 'must not contain control characters (NUL, newline, ...)', rule }];
  return [];
}

/**
 * Where URLs may point besides `schemes`: `hostFiles` is why `file://` URLs and bare paths are
 * refused here, or undefined where they may name host directories (the storage policy's scopes
 * decide which).
 */
interface UrlSupport {
  schemes: readonly string[];
  hostFiles: string | undefined;
}

function urlProblems(path: string, value: string, { schemes, hostFiles }: UrlSupport): Problem[] {
  if (isHostUrl(value)) {
    if (hostFiles !== undefined) return [{ path, message: `${value.startsWith('/') ? 'a bare path' : 'a file:// URL'} ${hostFiles}` }];
    const host = parseHostUrl(value);
    return 'problem' in host ? [{ path, message: host.problem }] : [];
  }
  const supported = hostFiles === undefined ? [...schemes, 'file'] : schemes;
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.+)$/i.exec(value);
  if (match === null) {
    return [{ path, message: `must be a URL with a scheme (${supported.map((s) => `${s}://`).join(', ')})${hostFiles === undefined ? ' or an absolute path' : ''}` }];
  }
  const scheme = (match[1] ?? '').toLowerCase();
  if (!schemes.includes(scheme)) {
    return [{ path, message: `unsupported URL scheme "${scheme}"; supported: ${supported.join(', ')}` }];
  }
  if (scheme === 's3' && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/|$)/.test(match[2] ?? '')) {
    return [{ path, message: 'must name a valid S3 bucket (s3://bucket/key)' }];
  }
  return [];
}

function executorProblems(executor: unknown, at: string): Problem[] {
  if (!isObject(executor)) return [];
  const problems: Problem[] = [];
  const { image, command, env } = executor;
  if (typeof image === 'string' && image.trim() === '') {
    problems.push({ path: joinPath(at, 'image'), message: 'must not be empty' });
  } else if (typeof image === 'string') {
    const problem = imageReferenceProblem(image);
    if (problem !== undefined) problems.push({ path: joinPath(at, 'image'), message: problem, rule: 'image_reference' });
  }
  if (Array.isArray(command)) {
    if (command.length === 0) problems.push({ path: joinPath(at, 'command'), message: 'must not be empty' });
    else if (command[0] === '') problems.push({ path: joinPath(joinPath(at, 'command'), 0), message: 'must not be empty' });
    command.forEach((arg, i) => {
      if (typeof arg === 'string' && arg.includes('\u0000')) {
        problems.push({ path: joinPath(joinPath(at, 'command'), i), message: 'must not contain NUL characters (argv cannot hold them)', rule: 'argv_and_env' });
      }
    });
  }
  if (isObject(env)) {
    for (const [name, value] of Object.entries(env)) {
      const where = joinPath(joinPath(at, 'env'), name);
      if (name === '' || name.includes('=') || name.includes('\u0000')) {
        problems.push({ path: where, message: "a variable's name must be non-empty and hold no '=' or NUL", rule: 'argv_and_env' });
      } else if (typeof value === 'string' && value.includes('\u0000')) {
        problems.push({ path: where, message: 'must not contain NUL characters (an environment cannot hold them)', rule: 'argv_and_env' });
      }
    }
  }
  for (const field of ['workdir', 'stdin', 'stdout', 'stderr'] as const) {
    problems.push(...pathProblems(joinPath(at, field), executor[field]));
  }
  return problems;
}

function inputProblems(input: unknown, at: string, hostFiles: string | undefined): Problem[] {
  if (!isObject(input)) return [];
  const problems = pathProblems(joinPath(at, 'path'), input['path']);
  const { url, content, type } = input;
  const hasContent = typeof content === 'string' && content !== '';
  if (hasContent) {
    if (type === 'DIRECTORY') problems.push({ path: joinPath(at, 'type'), message: 'must be FILE for a content input' });
  } else if (typeof url !== 'string' || url === '') {
    if (url === undefined || url === '' || url === null) problems.push({ path: joinPath(at, 'url'), message: 'required unless content is set' });
  } else {
    problems.push(...urlProblems(joinPath(at, 'url'), url, { schemes: INPUT_URL_SCHEMES, hostFiles }));
  }
  return problems;
}

function outputProblems(output: unknown, at: string, hostFiles: string | undefined): Problem[] {
  if (!isObject(output)) return [];
  const problems = pathProblems(joinPath(at, 'path'), output['path']);
  const { url, path, path_prefix: prefix } = output;
  if (url === '') problems.push({ path: joinPath(at, 'url'), message: 'must not be empty' });
  else if (typeof url === 'string') problems.push(...urlProblems(joinPath(at, 'url'), url, { schemes: OUTPUT_URL_SCHEMES, hostFiles }));
  if (typeof path === 'string' && WILDCARD.test(path)) {
    if (typeof prefix !== 'string' || prefix === '') {
      problems.push({ path: joinPath(at, 'path_prefix'), message: 'required when path contains wildcards' });
    } else {
      const prefixProblems = pathProblems(joinPath(at, 'path_prefix'), prefix);
      problems.push(...prefixProblems);
      if (prefixProblems.length === 0 && !path.startsWith(prefix)) {
        problems.push({ path: joinPath(at, 'path_prefix'), message: 'must be a prefix of path' });
      }
    }
  }
  return problems;
}

function resourceProblems(resources: unknown): Problem[] {
  if (!isObject(resources)) return [];
  const problems: Problem[] = [];
  const positive = (field: string, value: unknown): void => {
    if (typeof value === 'number' && !(value > 0)) {
      problems.push({ path: `resources.${field}`, message: 'must be greater than 0' });
    }
  };
  positive('cpu_cores', resources['cpu_cores']);
  positive('ram_gb', resources['ram_gb']);
  positive('disk_gb', resources['disk_gb']);
  return problems;
}

/** Keys JavaScript objects cannot hold as data (assigning one sets the prototype instead). */
const UNSAFE_KEYS = new Set(['__proto__']);
/** In a `u` regular expression a paired surrogate is one code point: only unpaired ones match. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Text the server cannot store and give back as it came: strings (keys too) with unpaired UTF-16
 * surrogates, which JSON allows as escapes but no UTF-8 store or strict client does, and map keys
 * named `__proto__`.
 */
function textProblems(value: unknown, at: string, problems: Problem[]): void {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) problems.push({ path: at, message: 'must be valid Unicode (it holds an unpaired surrogate)' });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => textProblems(item, joinPath(at, i), problems));
  } else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      const path = joinPath(at, key);
      if (LONE_SURROGATE.test(key)) problems.push({ path: at === '' ? 'keys' : at, message: 'keys must be valid Unicode (one holds an unpaired surrogate)' });
      else if (UNSAFE_KEYS.has(key)) problems.push({ path, message: `"${key}" is not accepted as a key` });
      else textProblems(value[key], path, problems);
    }
  }
}

function ruleProblems(body: Json, hostFiles: string | undefined): Problem[] {
  const problems: Problem[] = [];
  textProblems(body, '', problems);
  if (Array.isArray(body['executors']) && body['executors'].length === 0) {
    problems.push({ path: 'executors', message: 'must contain at least one executor' });
  }
  asArray(body['executors']).forEach((e, i) => problems.push(...executorProblems(e, `executors[${i}]`)));
  asArray(body['inputs']).forEach((input, i) => problems.push(...inputProblems(input, `inputs[${i}]`, hostFiles)));
  asArray(body['outputs']).forEach((output, i) => problems.push(...outputProblems(output, `outputs[${i}]`, hostFiles)));
  asArray(body['volumes']).forEach((volume, i) => problems.push(...pathProblems(`volumes[${i}]`, volume)));
  if (isObject(body['tags']) && Object.keys(body['tags']).includes('')) {
    problems.push({ path: 'tags[""]', message: 'tag keys must not be empty' });
  }
  problems.push(...resourceProblems(body['resources']));
  if (isObject(body['resources'])) problems.push(...fargateProblems(body['resources']));
  return problems;
}

/**
 * Checks a CreateTask body and returns the task to store, or throws InvalidTaskError listing
 * every problem with its JSON path. `storage.localDirs`: the local stack's host directories, which
 * make `file://` URLs and bare paths well-formed URLs (the cloud has none: they are refused).
 */
export function acceptTaskRequest(body: unknown, policy: AdmissionPolicy = DEFAULT_ADMISSION, storage: Pick<StoragePolicy, 'localDirs'> = {}): AcceptedTask {
  if (!isObject(body)) throw new InvalidTaskError([{ path: '', message: 'the task must be a JSON object' }]);
  // Checked before anything walks the document recursively (a stack overflow would be a 500).
  if (nestedDeeperThan(body)) throw new InvalidTaskError([{ path: '', message: `the document nests arrays and objects more than ${MAX_NESTING} levels deep` }]);
  const request: Json = { ...body };
  for (const field of SERVER_OWNED_FIELDS) delete request[field];

  const problems = [...schemaProblems('tesTask', request), ...ruleProblems(request, hostFilesRefused(storage))];
  const task = toSpecShape('tesTask', request as unknown as TesTask);
  const resources = task.resources;
  const backend = applyBackendParameters(resources?.backend_parameters, resources?.backend_parameters_strict === true);
  problems.push(...backend.problems);
  if (problems.length === 0) problems.push(...mountProblems(task), ...admissionProblems(task, policy));
  if (problems.length > 0) throw new InvalidTaskError(problems);

  if (resources !== undefined) {
    if (backend.kept === undefined) delete resources.backend_parameters;
    else resources.backend_parameters = backend.kept;
  }
  return { task, warnings: backend.warnings };
}
