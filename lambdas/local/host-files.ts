/**
 * The local stack's host directories (TES_LOCAL_FILE_DIRS) on disk: what the staging broker reads
 * for `file://` inputs and writes for `file://` outputs, in the server process, as the operator.
 * Staging itself never sees them (it runs sandboxed, as the task's uid); the broker moves the bytes
 * between them and the service bucket.
 *
 * Every user of a task names these paths, so nothing is taken on trust:
 * - a path must lie in one of its owner's directory scopes by name (storage-policy.ts) and, once
 *   every symbolic link is resolved, on disk too (a link out of the directory is refused);
 * - every walk starts from the directory's real path and opens one component at a time relative
 *   to the directory it has open (openat(2) by /proc/self/fd), never following a symbolic link, so
 *   a directory swapped for a link between the check and the use is refused, not followed;
 * - outputs are written to new files (O_EXCL, O_NOFOLLOW) beside their targets and renamed over
 *   them once every one is written, so a failure leaves no output half written and none at all;
 * - the stack's own directories (its data directory, task volumes, objects) are never read or written.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, realpath, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  directoryPrefix,
  directoryScopesOf,
  LOCAL_FILE_DIRS_ENV,
  localDirAnchor,
  parseLocalDirs,
  type DirectoryScope,
  type LocalDirRule,
  type StorageScope,
} from '../domain/storage-policy.js';

/** A host path that cannot be read or written for the task; the message says why. */
export class HostFileError extends Error {}

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** `name` in the directory open as `dir`, whatever path led there (openat(2) through /proc). */
function at(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

function inside(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Why a path cannot be used, in words, for an error from the file system. */
function why(error: unknown): string {
  switch (code(error)) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be reached by the server';
    case 'ELOOP':
    case 'ENOTDIR':
      return 'leads through a symbolic link or something that is not a directory';
    default:
      return (error as Error).message;
  }
}

/**
 * TES_LOCAL_FILE_DIRS checked against this disk at start: each directory (up to its `{owner}`
 * segment) exists and is a directory, holds neither the system's temporary directory (every task's
 * volumes and other users' files are there) nor any of `stackDirs`, nor lies inside one. Throws
 * naming the variable and the entry.
 */
export async function localFileDirsFromEnv(env: Readonly<Record<string, string | undefined>>, stackDirs: readonly string[]): Promise<LocalDirRule[]> {
  const rules = parseLocalDirs(env[LOCAL_FILE_DIRS_ENV]);
  if (rules.length === 0) return [];
  // Every walk opens paths relative to a directory it holds open, through /proc/self/fd.
  const root = await open('/', O_RDONLY | O_DIRECTORY);
  try {
    await stat(at(root, 'proc'));
  } catch {
    throw new Error(`${LOCAL_FILE_DIRS_ENV} needs /proc (the stack opens host files relative to open directories through /proc/self/fd)`);
  } finally {
    await root.close();
  }
  const temp = await realpath(tmpdir());
  const own = await Promise.all(stackDirs.map((dir) => realpath(dir).catch(() => dir)));
  for (const rule of rules) {
    const dir = localDirAnchor(rule);
    const fail = (reason: string) => new Error(`${LOCAL_FILE_DIRS_ENV}: ${JSON.stringify(rule.path)}: ${reason}`);
    const info = await stat(dir).catch(() => undefined);
    if (info === undefined) throw fail(`${dir} does not exist`);
    if (!info.isDirectory()) throw fail(`${dir} is not a directory`);
    const real = await realpath(dir);
    if (dir === rule.path && inside(temp, real)) {
      throw fail(`${dir} holds the system's temporary directory (${temp}), where every task's volumes and other users' files are; name a directory of its own`);
    }
    const overlap = own.find((o) => inside(real, o) || inside(o, real));
    if (overlap !== undefined) throw fail(`${dir} overlaps the stack's own data (${overlap}), which no task may read or write`);
  }
  return rules;
}

/** One file of an input, as read from the host. */
export interface HostFile {
  /** Its path below the input ('' for a FILE input). */
  relative: string;
  size: number;
  body: Readable;
}

/** One file of an output to write on the host. */
export interface HostWrite {
  /** The host path, absolute and normalized. */
  path: string;
  size: number;
  body: () => Promise<Readable>;
  /** The output it belongs to, for messages (`outputs[2] (/work/x)`). */
  what: string;
}

/** Passes exactly `size` bytes, failing on fewer or more: what was listed is what is written. */
function exactly(size: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > size) done(new Error(`it is larger than its ${size} bytes`));
      else done(null, chunk);
    },
    flush(done) {
      done(seen === size ? null : new Error(`it ended after ${seen} of its ${size} bytes`));
    },
  });
}

/** How many outputs are written at once. */
const WRITE_CONCURRENCY = 8;

/** Directories a delivery keeps open from their check to the renames; past this many, they are opened again. */
const MAX_OPEN_DIRECTORIES = 256;

interface Pending {
  root: string;
  dirs: string[];
  name: string;
  temp: string;
  /** Its directory, as opened when it was checked (unless too many were open). */
  dir?: FileHandle;
}

interface Batch {
  pending: Pending[];
  created: { root: string; dirs: string[] }[];
  open: Map<string, Promise<FileHandle>>;
}

export class HostFiles {
  private constructor(
    private readonly stackDirs: readonly string[],
    private readonly temp: string,
    private readonly hardLinksProtected: boolean,
  ) {}

  /**
   * `stackDirs`: where the stack keeps its own data (data directory, task volumes, objects).
   * `hardLinksProtected`: whether the kernel lets a host user hard-link only files they own or may
   * write (`fs.protected_hardlinks` = 1, read from /proc unless given). Where it does not, a user
   * could link a file they cannot read (/etc/shadow) into their directory for the server to read, so
   * a file with other hard links is refused.
   */
  static async create(stackDirs: readonly string[], hardLinksProtected?: boolean): Promise<HostFiles> {
    const real = await Promise.all(stackDirs.map((dir) => realpath(dir).catch(() => dir)));
    const protectedLinks = hardLinksProtected ?? (await readFile('/proc/sys/fs/protected_hardlinks', 'utf8').then((text) => text.trim() === '1', () => false));
    return new HostFiles(real, await realpath(tmpdir()), protectedLinks);
  }

  private ours(real: string): string | undefined {
    return this.stackDirs.find((dir) => inside(real, dir) || inside(dir, real));
  }

  /**
   * The real path of a caller's directory. Only its configured part up to `{owner}` (the anchor) may
   * lead elsewhere through links, as the operator laid it out; below it, every directory must be a
   * real one (a user's directory made a link to another user's is refused). It must not hold the
   * system's temporary directory or any of the stack's own.
   */
  private async root(scope: DirectoryScope): Promise<string> {
    const dir = scope.prefix.replace(/\/$/, '');
    let anchor: string;
    try {
      anchor = await realpath(scope.anchor);
    } catch (error) {
      throw new HostFileError(`the directory ${scope.anchor} ${why(error)}`);
    }
    const below = dir.slice(scope.anchor === '/' ? 1 : scope.anchor.length + 1);
    const segments = below === '' ? [] : below.split('/');
    const opened = await this.walk(anchor, segments).catch((error: unknown) => {
      throw new HostFileError(`the directory ${dir}: ${error instanceof HostFileError ? error.message : why(error)}`);
    });
    await opened.close();
    const real = segments.length === 0 ? anchor : `${anchor === '/' ? '' : anchor}/${segments.join('/')}`;
    if (inside(this.temp, real) || this.ours(real) !== undefined) throw new HostFileError(`the directory ${dir} holds the stack's own data`);
    return real;
  }

  /** Opens the directory `dirs` (components) below `root`, one at a time, following no symbolic link; `created` makes missing ones. */
  private async walk(root: string, dirs: readonly string[], created?: { root: string; dirs: string[] }[]): Promise<FileHandle> {
    let dir = await open(root, O_RDONLY | O_DIRECTORY);
    try {
      for (const [i, name] of dirs.entries()) {
        const shown = `${root}/${dirs.slice(0, i + 1).join('/')}`;
        let next: FileHandle | undefined;
        try {
          next = await open(at(dir, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        } catch (error) {
          if (code(error) !== 'ENOENT' || created === undefined) throw new HostFileError(`${shown} ${why(error)}`);
        }
        if (next === undefined) {
          try {
            await mkdir(at(dir, name), { mode: 0o755 });
            created?.push({ root, dirs: dirs.slice(0, i + 1) });
          } catch (error) {
            if (code(error) !== 'EEXIST') throw new HostFileError(`${shown} could not be made: ${why(error)}`);
          }
          try {
            next = await open(at(dir, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
          } catch (error) {
            throw new HostFileError(`${shown} ${why(error)}`);
          }
          // Whatever the server's umask: directories as a file server would make them.
          await next.chmod(0o755);
        }
        await dir.close();
        dir = next;
      }
      return dir;
    } catch (error) {
      await dir.close();
      throw error;
    }
  }

  /**
   * Reads the file, or every regular file below the directory, at `path` for a caller with `scopes`:
   * `each` is given each file in turn (symbolic links and anything but regular files are skipped,
   * each with a warning). Refuses a path its scopes do not allow to read, one whose real path lies
   * outside them, and more than `maxBytes` in all. Answers the warnings.
   */
  async read(scopes: readonly StorageScope[], path: string, type: 'FILE' | 'DIRECTORY', maxBytes: number, each: (file: HostFile) => Promise<void>): Promise<string[]> {
    const directory = type === 'DIRECTORY';
    const named = directoryScopesOf(scopes, 'read', directory ? directoryPrefix(path) : path)[0];
    if (named === undefined) throw new HostFileError(`${path} is outside the directories this task's owner may read`);
    // The directory it is named in must be sound itself (not, below its anchor, a link to another user's).
    await this.root(named);
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      throw new HostFileError(`${path} ${why(error)}`);
    }
    // Where it really is must be readable too: a symbolic link may lead only where its owner could name.
    // (Compared with each directory's own real path: a caller's directory may itself be a link the operator made.)
    let root: string | undefined;
    for (const scope of scopes) {
      if (scope.kind !== 'file') continue;
      const candidate = await this.root(scope).catch(() => undefined);
      if (candidate !== undefined && inside(real, candidate) && (directory || real !== candidate)) {
        root = candidate;
        break;
      }
    }
    if (root === undefined) throw new HostFileError(`${path} leads out of the directories this task's owner may read (a symbolic link)`);
    if (this.ours(real) !== undefined) throw new HostFileError(`${path} holds the stack's own data`);
    const segments = real === root ? [] : real.slice(root.length + 1).split('/');
    const warnings: string[] = [];
    let total = 0;
    const readFile = async (dir: FileHandle, name: string, relative: string, shown: string): Promise<void> => {
      let file: FileHandle;
      try {
        // O_NONBLOCK: a FIFO put there meanwhile must not hang the server; a regular file ignores it.
        file = await open(at(dir, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      } catch (error) {
        throw new HostFileError(`${shown} ${why(error)}`);
      }
      try {
        const info = await file.stat();
        if (!info.isFile()) throw new HostFileError(`${shown} is not a regular file`);
        if (!this.hardLinksProtected && info.nlink > 1) {
          throw new HostFileError(`${shown} has other hard links, which this machine does not restrict (fs.protected_hardlinks is not 1): not staged`);
        }
        total += info.size;
        if (total > maxBytes) throw new HostFileError(`${path} holds more than the task's disk (${maxBytes} bytes)`);
        const body = info.size === 0 ? Readable.from([]) : file.createReadStream({ start: 0, end: info.size - 1, autoClose: false });
        await each({ relative, size: info.size, body });
      } finally {
        await file.close();
      }
    };
    const visit = async (dir: FileHandle, relative: string): Promise<void> => {
      const entries = (await readdir(`/proc/self/fd/${dir.fd}`, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const entry of entries) {
        const below = relative === '' ? entry.name : `${relative}/${entry.name}`;
        const shown = `${path}/${below}`;
        if (entry.isSymbolicLink()) warnings.push(`${shown} is a symbolic link; not staged`);
        else if (entry.isFile()) await readFile(dir, entry.name, below, shown);
        else if (entry.isDirectory()) {
          let sub: FileHandle;
          try {
            sub = await open(at(dir, entry.name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
          } catch (error) {
            warnings.push(`${shown} ${why(error)}; not staged`);
            continue;
          }
          try {
            await visit(sub, below);
          } finally {
            await sub.close();
          }
        } else warnings.push(`${shown} is not a regular file; not staged`);
      }
    };
    if (directory) {
      const dir = await this.walk(root, segments);
      try {
        await visit(dir, '');
      } finally {
        await dir.close();
      }
      return warnings;
    }
    const dir = await this.walk(root, segments.slice(0, -1));
    try {
      await readFile(dir, segments.at(-1) as string, '', path);
    } finally {
      await dir.close();
    }
    return warnings;
  }

  /**
   * Writes every file or none: each into a new file beside its target, renamed over the target once
   * all are written (a symbolic link there is replaced, never followed). Directories below the
   * caller's directory are made as needed (0755); an existing one that is a symbolic link or no
   * directory is refused. Files are 0644, owned by the server's user. Refuses a path no scope of
   * the caller allows to write. Each directory stays open from its check to the rename, so the
   * file lands in the directory that was checked, whatever is renamed or linked meanwhile.
   */
  async writeAll(scopes: readonly StorageScope[], files: readonly HostWrite[]): Promise<void> {
    const batch: Batch = { pending: [], created: [], open: new Map() };
    let failure: Error | undefined;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < files.length) {
        const file = files[next] as HostWrite;
        next += 1;
        try {
          await this.writeOne(scopes, file, batch);
        } catch (error) {
          failure ??= new HostFileError(`${file.what} could not be written: ${error instanceof HostFileError ? error.message : why(error)}`);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
      if (failure === undefined) {
        try {
          for (const p of batch.pending) await this.inDirectory(p, (dir) => rename(at(dir, p.temp), at(dir, p.name)));
          return;
        } catch (error) {
          failure = new HostFileError(`the outputs could not be put in place: ${error instanceof HostFileError ? error.message : why(error)}`);
        }
      }
      // Nothing of a failed delivery stays: its new files, then the directories it made, deepest first.
      for (const p of batch.pending) await this.inDirectory(p, (dir) => unlink(at(dir, p.temp))).catch(() => undefined);
      for (const made of batch.created.sort((a, b) => b.dirs.length - a.dirs.length)) {
        const parent = { root: made.root, dirs: made.dirs.slice(0, -1) };
        await this.inDirectory(parent, (dir) => rmdir(at(dir, made.dirs.at(-1) as string))).catch(() => undefined);
      }
      throw failure;
    } finally {
      for (const dir of batch.open.values()) await dir.then((d) => d.close()).catch(() => undefined);
    }
  }

  /** Runs `work` on the open directory of a pending file, or opened again where too many were open. */
  private async inDirectory<T>(where: { root: string; dirs: string[]; dir?: FileHandle }, work: (dir: FileHandle) => Promise<T>): Promise<T> {
    if (where.dir !== undefined) return work(where.dir);
    const dir = await this.walk(where.root, where.dirs);
    try {
      return await work(dir);
    } finally {
      await dir.close();
    }
  }

  private async writeOne(scopes: readonly StorageScope[], file: HostWrite, batch: Batch): Promise<void> {
    const scope = directoryScopesOf(scopes, 'readwrite', file.path)[0];
    if (scope === undefined) throw new HostFileError(`${file.path} is outside the directories this task's owner may write`);
    const root = await this.root(scope);
    const segments = file.path.slice(scope.prefix.length).split('/');
    const name = segments.pop() as string;
    if (this.ours(`${root}/${[...segments, name].join('/')}`) !== undefined) throw new HostFileError(`${file.path} is in the stack's own data`);
    const key = `${root}/${segments.join('/')}`;
    let opening = batch.open.get(key);
    if (opening === undefined && batch.open.size < MAX_OPEN_DIRECTORIES) {
      opening = this.walk(root, segments, batch.created);
      batch.open.set(key, opening);
    }
    const held = await opening;
    const dir = held ?? (await this.walk(root, segments, batch.created));
    try {
      const there = await lstat(at(dir, name)).catch(() => undefined);
      if (there?.isDirectory() === true) throw new HostFileError(`${file.path} is a directory`);
      const temp = `.tes-${randomBytes(9).toString('hex')}.part`;
      const out = await open(at(dir, temp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      batch.pending.push({ root, dirs: segments, name, temp, ...(held === undefined ? {} : { dir: held }) });
      let body: Readable;
      try {
        await out.chmod(0o644);
        body = await file.body();
      } catch (error) {
        await out.close();
        throw error;
      }
      // The write stream owns the handle from here and closes it when done or destroyed.
      await pipeline(body, exactly(file.size), out.createWriteStream());
    } finally {
      if (held === undefined) await dir.close();
    }
  }
}
