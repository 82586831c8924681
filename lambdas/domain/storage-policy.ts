/**
 * The storage policy: which URLs a caller's tasks may read and which they may write. Like the
 * admission policy it is configured in one place, STORAGE_SETTINGS (an environment variable for
 * the API, the workflow and the local stack; a CDK context key for a deployment), and a task that
 * names anything outside its owner's scopes is a 400 at CreateTask with rule `storage_scope`. The
 * staging broker checks again, key by key, before it signs anything.
 *
 * - Every user owns `s3://<service bucket>/users/<owner key>/`, read and write. The rest of the
 *   service bucket (`tasks/`: offloaded content, carried volumes, stage reports, logs) is the
 *   service's own and no rule can name it.
 * - Operators add rules for their data buckets: `s3://lab-data/{owner}/=readwrite` gives each user
 *   a prefix of their own there, `s3://reference/genomes/=read` shares one read-only, and a rule
 *   ending `@admin` applies only to admins (who otherwise get no more storage than anyone).
 * - http(s) inputs are allowed or not (TES_HTTP_INPUTS), and only ever from public addresses
 *   (runtime/public-fetch.ts), unless TES_HTTP_INPUT_ALLOW names internal hosts.
 * - Only on the local stack, host directories (TES_LOCAL_FILE_DIRS) are scopes too, named by
 *   `file://` URLs and bare absolute paths (host-path.ts), with `{owner}` and `@admin` as for buckets.
 *   In the cloud such URLs name the server's own disk and are refused.
 */
import { createHash } from 'node:crypto';
import type { Caller } from './caller.js';
import type { Problem } from './errors.js';
import { CONTROL_CHARACTER, hostDirectoryUrl, isHostUrl, parseHostUrl } from './host-path.js';
import type { TesTask } from './tes.js';

export type StorageAccess = 'read' | 'readwrite';

/** A rule as configured: `prefix` may hold `{owner}`, which becomes the caller's owner key. */
export interface StorageRule {
  bucket: string;
  prefix: string;
  access: StorageAccess;
  /** Applies only to callers holding the admin claim. */
  adminOnly: boolean;
}

/** A host directory as configured (TES_LOCAL_FILE_DIRS): `path` may hold `{owner}`. */
export interface LocalDirRule {
  /** Absolute and normalized, without a trailing '/'. */
  path: string;
  access: StorageAccess;
  /** Applies only to callers holding the admin claim. */
  adminOnly: boolean;
}

/** A rule applied to one caller: a concrete bucket and key prefix. */
export interface BucketScope {
  kind: 's3';
  bucket: string;
  /** '' (the whole bucket) or a prefix ending in '/'. */
  prefix: string;
  access: StorageAccess;
}

/** A host directory applied to one caller (local stack only). */
export interface DirectoryScope {
  kind: 'file';
  /** The directory, absolute and ending in '/'. */
  prefix: string;
  access: StorageAccess;
  /**
   * The configured directory up to its `{owner}` segment (the directory itself without one): the
   * caller's directory must lie inside it on disk too, not lead elsewhere through a symbolic link.
   */
  anchor: string;
}

export type StorageScope = BucketScope | DirectoryScope;

export interface StoragePolicy {
  serviceBucket: string;
  rules: StorageRule[];
  /** Whether tasks may name http(s) inputs at all. */
  httpInputs: boolean;
  /**
   * The host directories tasks may name with `file://` URLs and bare paths (TES_LOCAL_FILE_DIRS):
   * set only by the local stack (empty when the variable is unset). Undefined in the cloud, where
   * such URLs name the server's own disk.
   */
  localDirs?: LocalDirRule[];
}

/** The local stack's host directories for `file://` URLs (lambdas/local/host-files.ts checks them at start). */
export const LOCAL_FILE_DIRS_ENV = 'TES_LOCAL_FILE_DIRS';

/** Where users' own prefixes live in the service bucket; nothing else there is theirs. */
export const USERS_PREFIX = 'users/';
const OWNER = '{owner}';

interface Setting {
  env: string;
  context: string;
  default: string;
  describe: string;
}

/** Every storage setting, where it is configured and its default: the README's storage table mirrors this. */
export const STORAGE_SETTINGS = {
  storage_rules: {
    env: 'TES_STORAGE_RULES',
    context: 'storageRules',
    default: 'empty: each user reads and writes only s3://<service bucket>/users/<owner key>/',
    describe:
      'comma-separated `s3://bucket/prefix/=read` or `=readwrite`; `{owner}` in the prefix is each user\'s owner key; `@admin` after the access limits a rule to admins',
  },
  http_inputs: { env: 'TES_HTTP_INPUTS', context: 'httpInputs', default: 'on', describe: '`off` refuses every http(s) input' },
  http_input_allow: {
    env: 'TES_HTTP_INPUT_ALLOW',
    context: 'httpInputAllow',
    default: 'empty: public addresses only',
    describe: 'comma-separated hosts and CIDRs that http(s) inputs may reach although they are not public',
  },
} as const satisfies Record<string, Setting>;

/**
 * A caller's owner as an S3 key segment: stable, one per owner, and unable to name anything else.
 * A subject made of letters, digits, `-`, `_` and `.` (not starting with `.`; at most 64) is kept as
 * it is (Cognito's UUIDs, `local`); any other is `~` and the first 32 hex digits of its SHA-256,
 * which no kept subject can equal.
 */
export function ownerKey(owner: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/.test(owner)) return owner;
  return `~${createHash('sha256').update(owner, 'utf8').digest('hex').slice(0, 32)}`;
}

/** The prefix every user owns in the service bucket. */
export function userPrefix(policy: Pick<StoragePolicy, 'serviceBucket'>, owner: string): string {
  return `s3://${policy.serviceBucket}/${USERS_PREFIX}${ownerKey(owner)}/`;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** s3://bucket/key → { bucket, key }, undefined for anything else. */
export function splitS3Url(url: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
  if (match === null) return undefined;
  return { bucket: match[1] as string, key: match[2] ?? '' };
}

/** A key is named literally: `.` and `..` segments would mean other keys to a file system or an HTTP client. */
export function keyHasDotSegments(key: string): boolean {
  return key.split('/').some((segment) => segment === '.' || segment === '..');
}

type Env = Readonly<Record<string, string | undefined>>;

function parseRule(text: string): StorageRule {
  const cut = text.lastIndexOf('=');
  const location = cut < 0 ? '' : text.slice(0, cut).trim();
  const accessText = cut < 0 ? '' : text.slice(cut + 1).trim();
  const access = accessText.replace(/@admin$/, '');
  const where = splitS3Url(location);
  const fail = (why: string) => new Error(`${STORAGE_SETTINGS.storage_rules.env}: ${JSON.stringify(text)} ${why}`);
  if (where === undefined || (access !== 'read' && access !== 'readwrite')) {
    throw fail('must be s3://bucket/prefix/=read or =readwrite (optionally @admin)');
  }
  if (!BUCKET.test(where.bucket)) throw fail('does not name a valid bucket');
  if (where.key !== '' && !where.key.endsWith('/')) throw fail("must end its prefix with '/' (a rule covers whole folders)");
  if (keyHasDotSegments(where.key) || where.key.includes('//')) throw fail("must not hold '.', '..' or empty segments");
  const owners = where.key.split(OWNER).length - 1;
  if (owners > 1 || (owners === 1 && !where.key.split('/').includes(OWNER))) throw fail('may hold {owner} once, as a whole segment');
  if (where.key.replace(OWNER, '').includes('{')) throw fail('may hold no placeholder but {owner}');
  return { bucket: where.bucket, prefix: where.key, access, adminOnly: accessText.endsWith('@admin') };
}


/**
 * TES_LOCAL_FILE_DIRS as written: comma-separated `/dir`, `/dir=read` or `/dir=readwrite`, each
 * optionally `@admin` after the access; a directory without `=` is read-only. Only the syntax is
 * checked here (the local stack checks the disk). Throws naming the variable and the entry.
 */
export function parseLocalDirs(text: string | undefined): LocalDirRule[] {
  const rules: LocalDirRule[] = [];
  for (const raw of (text ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const fail = (why: string) => new Error(`${LOCAL_FILE_DIRS_ENV}: ${JSON.stringify(entry)} ${why}`);
    const cut = entry.lastIndexOf('=');
    const accessText = cut < 0 ? 'read' : entry.slice(cut + 1).trim();
    const access = accessText.replace(/@admin$/, '');
    if (access !== 'read' && access !== 'readwrite') throw fail('must be /dir, /dir=read or /dir=readwrite (optionally @admin after the access)');
    let path = cut < 0 ? entry : entry.slice(0, cut).trim();
    if (!path.startsWith('/')) throw fail('must name an absolute directory');
    if (CONTROL_CHARACTER.test(path)) throw fail('must not hold control characters');
    path = path.replace(/\/+$/, '');
    if (path === '') throw fail('names the whole disk; name the directories tasks may use');
    const segments = path.split('/').slice(1);
    if (segments.some((s) => s === '' || s === '.' || s === '..')) throw fail("must be a normalized path (no '.', '..' or empty segments)");
    const owners = segments.filter((s) => s === OWNER).length;
    if (owners > 1 || (owners === 0 && path.includes(OWNER))) throw fail('may hold {owner} once, as a whole segment');
    if (path.replace(OWNER, '').includes('{')) throw fail('may hold no placeholder but {owner}');
    rules.push({ path, access, adminOnly: accessText.endsWith('@admin') });
  }
  return rules;
}

/** Where a directory rule's `{owner}` segment starts: the part every caller's directory must lie in. */
export function localDirAnchor(rule: Pick<LocalDirRule, 'path'>): string {
  const cut = rule.path.split('/').indexOf(OWNER);
  return cut < 0 ? rule.path : rule.path.split('/').slice(0, cut).join('/') || '/';
}

/** Reads STORAGE_SETTINGS' variables; throws naming the variable and the entry that is wrong. */
export function storagePolicyFromEnv(env: Env, serviceBucket: string): StoragePolicy {
  const rules: StorageRule[] = [];
  for (const entry of (env[STORAGE_SETTINGS.storage_rules.env] ?? '').split(',')) {
    if (entry.trim() === '') continue;
    const rule = parseRule(entry.trim());
    if (rule.bucket === serviceBucket) {
      throw new Error(
        `${STORAGE_SETTINGS.storage_rules.env}: ${JSON.stringify(entry.trim())} names the service bucket, which holds the service's own objects; users already own ${USERS_PREFIX}<owner key>/ there`,
      );
    }
    rules.push(rule);
  }
  const http = (env[STORAGE_SETTINGS.http_inputs.env] ?? '').trim().toLowerCase();
  if (!['', 'on', 'off'].includes(http)) throw new Error(`${STORAGE_SETTINGS.http_inputs.env} must be on or off, not ${JSON.stringify(env[STORAGE_SETTINGS.http_inputs.env])}`);
  return { serviceBucket, rules, httpInputs: http !== 'off' };
}

/** The scopes one caller's tasks have: their own prefix, then the operator's rules that apply to them. */
export function scopesOf(policy: StoragePolicy, caller: Caller): StorageScope[] {
  const scopes: StorageScope[] = [{ kind: 's3', bucket: policy.serviceBucket, prefix: `${USERS_PREFIX}${ownerKey(caller.owner)}/`, access: 'readwrite' }];
  for (const rule of policy.rules) {
    if (rule.adminOnly && !caller.admin) continue;
    scopes.push({ kind: 's3', bucket: rule.bucket, prefix: rule.prefix.replace(OWNER, ownerKey(caller.owner)), access: rule.access });
  }
  for (const rule of policy.localDirs ?? []) {
    if (rule.adminOnly && !caller.admin) continue;
    scopes.push({ kind: 'file', prefix: `${rule.path.replace(OWNER, ownerKey(caller.owner))}/`, access: rule.access, anchor: localDirAnchor(rule) });
  }
  return scopes;
}

/** Scopes as URLs. */
export function storageLocations(scopes: readonly StorageScope[]): string[] {
  return scopes.map((s) => (s.kind === 's3' ? `s3://${s.bucket}/${s.prefix}` : hostDirectoryUrl(s.prefix)));
}

/**
 * What service-info lists as `storage`: for a known caller, the locations their tasks may use, their
 * own prefix first (where a workflow engine's work directory goes); for anyone else, the same with
 * `{owner}` standing for each user's owner key.
 */
export function storageFor(policy: StoragePolicy, caller: Caller | undefined): string[] {
  if (caller !== undefined) return storageLocations(scopesOf(policy, caller));
  // Host directories are listed to the callers who may use them, not to anyone who asks.
  return [
    `s3://${policy.serviceBucket}/${USERS_PREFIX}${OWNER}/`,
    ...policy.rules.filter((r) => !r.adminOnly).map((r) => `s3://${r.bucket}/${r.prefix}`),
  ];
}

/**
 * Whether `key` in `bucket` (a whole object, or with `asPrefix` every key under it) lies in a scope
 * that allows `access`. Keys with `.` or `..` segments lie nowhere.
 */
export function allows(scopes: readonly StorageScope[], access: StorageAccess, bucket: string, key: string): boolean {
  if (keyHasDotSegments(key)) return false;
  return scopes.some((s) => s.kind === 's3' && s.bucket === bucket && key.startsWith(s.prefix) && (access === 'read' || s.access === 'readwrite'));
}

/**
 * The host directory scopes that hold `path` (a file, or with a trailing '/' a directory and
 * everything under it) and allow `access`, the deepest first. None for a path with `.`, `..` or
 * empty segments. On disk the broker checks again where the path really leads (local/host-files.ts).
 */
export function directoryScopesOf(scopes: readonly StorageScope[], access: StorageAccess, path: string): DirectoryScope[] {
  if (!path.startsWith('/') || path.slice(1).replace(/\/$/, '').split('/').some((s) => s === '' || s === '.' || s === '..')) return [];
  return scopes
    .filter((s): s is DirectoryScope => s.kind === 'file' && path.startsWith(s.prefix) && (access === 'read' || s.access === 'readwrite'))
    .sort((a, b) => b.prefix.length - a.prefix.length);
}

/** Whether a host path lies in a directory scope that allows `access`. */
export function allowsPath(scopes: readonly StorageScope[], access: StorageAccess, path: string): boolean {
  return directoryScopesOf(scopes, access, path).length > 0;
}

/**
 * Why this service refuses every `file://` URL and bare path, or undefined where the storage policy
 * decides, scope by scope (the local stack with TES_LOCAL_FILE_DIRS). Follows "a file:// URL" or
 * "a bare path" in a message.
 */
export function hostFilesRefused(policy: Pick<StoragePolicy, 'localDirs'>): string | undefined {
  if (policy.localDirs === undefined) return "names a file on the server's own disk; this service stages only s3:// URLs (and http(s) inputs)";
  if (policy.localDirs.length === 0) {
    return `names a file on this machine's disk, which tasks may use only in the directories ${LOCAL_FILE_DIRS_ENV} names, and it names none here; this stack stages s3:// URLs (and http(s) inputs)`;
  }
  return undefined;
}

/** A DIRECTORY's or a wildcard's key prefix: the key and everything under it. */
export function directoryPrefix(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}

function refused(path: string, url: string, access: StorageAccess, scopes: readonly StorageScope[]): Problem {
  const where = scopes.filter((s) => (access === 'read' || s.access === 'readwrite') && (s.kind === 'file') === isHostUrl(url));
  return {
    path,
    rule: 'storage_scope',
    message: `${url} is outside what this caller's tasks may ${access === 'read' ? 'read' : 'write'} (${where.length === 0 ? 'none' : storageLocations(where).join(', ')}) (storage rule storage_scope)`,
  };
}

/** Every input and output URL of a task that lies outside its owner's scopes, each with its field. */
export function storageProblems(task: TesTask, policy: StoragePolicy, scopes: readonly StorageScope[]): Problem[] {
  const problems: Problem[] = [];
  (task.inputs ?? []).forEach((input, i) => {
    const url = input.url;
    if (url === undefined || url === '' || (input.content !== undefined && input.content !== '')) return;
    const path = `inputs[${i}].url`;
    if (/^https?:\/\//i.test(url)) {
      if (!policy.httpInputs) {
        problems.push({ path, rule: 'storage_scope', message: `http(s) inputs are turned off on this service (${STORAGE_SETTINGS.http_inputs.env}=off) (storage rule storage_scope)` });
      }
      return;
    }
    const directory = (input.type ?? 'FILE') === 'DIRECTORY';
    if (!allowedUrl(scopes, 'read', url, directory)) problems.push(refused(path, url, 'read', scopes));
  });
  (task.outputs ?? []).forEach((output, i) => {
    const prefixed = (output.type ?? 'FILE') === 'DIRECTORY' || output.path_prefix !== undefined || /[*?[]/.test(output.path);
    if (!allowedUrl(scopes, 'readwrite', output.url, prefixed)) problems.push(refused(`outputs[${i}].url`, output.url, 'readwrite', scopes));
  });
  return problems;
}

/** Whether an s3:// or host URL (a file, or with `directory` everything under it) lies in a scope; other URLs are not this check's. */
function allowedUrl(scopes: readonly StorageScope[], access: StorageAccess, url: string, directory: boolean): boolean {
  if (isHostUrl(url)) {
    const host = parseHostUrl(url);
    // A malformed one is refused with its reason by the task's own checks (task-request.ts).
    if (!('path' in host)) return true;
    return allowsPath(scopes, access, directory ? directoryPrefix(host.path) : host.path);
  }
  const where = splitS3Url(url);
  if (where === undefined) return true;
  return allows(scopes, access, where.bucket, directory ? directoryPrefix(where.key) : where.key);
}
