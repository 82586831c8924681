import { execFile } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocalDirs, scopesOf, storagePolicyFromEnv, type StorageScope } from '../domain/storage-policy.js';
import { HostFiles, localFileDirsFromEnv, type HostWrite } from './host-files.js';

let base: string;
let users: string;
let outside: string;
let stackDir: string;
let files: HostFiles;
let alice: StorageScope[];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'tes-host-files-unit-'));
  users = join(base, 'users');
  outside = join(base, 'outside');
  stackDir = join(base, 'stack');
  for (const dir of [join(users, 'alice'), join(users, 'bob'), outside, join(stackDir, 'inner')]) await mkdir(dir, { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'secret\n');
  await writeFile(join(users, 'bob', 'b.txt'), 'bob\n');
  files = await HostFiles.create([stackDir]);
  const policy = { ...storagePolicyFromEnv({}, 'tes-local'), localDirs: parseLocalDirs(`${users}/{owner}=readwrite`) };
  alice = scopesOf(policy, { owner: 'alice', admin: false });
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Reads what `read` stages, by relative path. */
async function readAll(path: string, type: 'FILE' | 'DIRECTORY', maxBytes = 1 << 20): Promise<{ files: Record<string, string>; warnings: string[] }> {
  const found: Record<string, string> = {};
  const warnings = await files.read(alice, path, type, maxBytes, async (file) => {
    found[file.relative] = await text(file.body);
  });
  return { files: found, warnings };
}

const write = (path: string, body: string, onBody?: () => Promise<void>): HostWrite => ({
  path,
  size: Buffer.byteLength(body),
  what: `the output ${path}`,
  body: async () => {
    await onBody?.();
    return Readable.from([Buffer.from(body)]);
  },
});

describe('reading host inputs', () => {
  it('reads a regular file, and every regular file of a directory, skipping links and special files with a warning', async () => {
    const tree = join(users, 'alice', 'tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'a.txt'), 'a\n');
    await writeFile(join(tree, 'sub', 'b.txt'), 'b\n');
    await symlink(outside, join(tree, 'out'));
    await promisify(execFile)('mkfifo', [join(tree, 'fifo')]);
    expect(await readAll(join(tree, 'a.txt'), 'FILE')).toEqual({ files: { '': 'a\n' }, warnings: [] });
    const read = await readAll(tree, 'DIRECTORY');
    expect(read.files).toEqual({ 'a.txt': 'a\n', 'sub/b.txt': 'b\n' });
    expect(read.warnings).toEqual([`${tree}/fifo is not a regular file; not staged`, `${tree}/out is a symbolic link; not staged`]);
  });

  it('refuses a FIFO named as a FILE input at once, without waiting for a writer', async () => {
    await promisify(execFile)('mkfifo', [join(users, 'alice', 'pipe')]);
    await expect(readAll(join(users, 'alice', 'pipe'), 'FILE')).rejects.toThrow(/is not a regular file/);
  });

  it('follows a link that stays inside the directory, and refuses one that leads out', async () => {
    await writeFile(join(users, 'alice', 'data.txt'), 'data\n');
    await symlink('data.txt', join(users, 'alice', 'alias.txt'));
    await symlink(join(outside, 'secret.txt'), join(users, 'alice', 'leak.txt'));
    await symlink(join(users, 'bob', 'b.txt'), join(users, 'alice', 'bobs.txt'));
    expect((await readAll(join(users, 'alice', 'alias.txt'), 'FILE')).files).toEqual({ '': 'data\n' });
    await expect(readAll(join(users, 'alice', 'leak.txt'), 'FILE')).rejects.toThrow(/leads out of the directories this task's owner may read/);
    await expect(readAll(join(users, 'alice', 'bobs.txt'), 'FILE')).rejects.toThrow(/leads out/);
    await expect(readAll(join(users, 'bob', 'b.txt'), 'FILE')).rejects.toThrow(/is outside the directories this task's owner may read/);
  });

  it('refuses a file with other hard links where the kernel lets anyone link anything (a host user could link in /etc/shadow), and reads it where it does not', async () => {
    await writeFile(join(base, 'linked-secret.txt'), 'secret\n');
    await link(join(base, 'linked-secret.txt'), join(users, 'alice', 'hard.txt'));
    const unprotected = await HostFiles.create([stackDir], false);
    const read = (host: HostFiles) => host.read(alice, join(users, 'alice', 'hard.txt'), 'FILE', 1 << 20, async (file) => void (await text(file.body)));
    await expect(read(unprotected)).rejects.toThrow(/has other hard links, which this machine does not restrict/);
    // In a DIRECTORY input too.
    await expect(unprotected.read(alice, join(users, 'alice'), 'DIRECTORY', 1 << 20, async (file) => void (await text(file.body)))).rejects.toThrow(/hard\.txt has other hard links/);
    // With fs.protected_hardlinks = 1 only the file's owner (or whoever may write it) could have made the link.
    await expect(read(await HostFiles.create([stackDir], true))).resolves.toEqual([]);
    await rm(join(users, 'alice', 'hard.txt'));
  });

  it('refuses more than the task’s disk in all', async () => {
    await writeFile(join(users, 'alice', 'big.bin'), Buffer.alloc(4096));
    await expect(readAll(join(users, 'alice', 'big.bin'), 'FILE', 4095)).rejects.toThrow(/more than the task's disk \(4095 bytes\)/);
  });
});

describe('writing host outputs', () => {
  it('makes directories 0755 and files 0644 and leaves no temporary file', async () => {
    await files.writeAll(alice, [write(join(users, 'alice', 'w1', 'deep', 'x.txt'), 'x\n'), write(join(users, 'alice', 'w1', 'y.txt'), 'y\n')]);
    expect(await readFile(join(users, 'alice', 'w1', 'deep', 'x.txt'), 'utf8')).toBe('x\n');
    expect((await stat(join(users, 'alice', 'w1', 'deep'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(users, 'alice', 'w1', 'y.txt'))).mode & 0o7777).toBe(0o644);
    expect(await readdir(join(users, 'alice', 'w1'))).toEqual(['deep', 'y.txt']);
  });

  it('writes nothing when one output fails: no file, no temporary file, no directory it made', async () => {
    await writeFile(join(users, 'alice', 'blocker'), 'a file where a directory would go\n');
    await expect(files.writeAll(alice, [write(join(users, 'alice', 'w2', 'ok.txt'), 'ok\n'), write(join(users, 'alice', 'blocker', 'x.txt'), 'x\n')])).rejects.toThrow(
      /the output .*blocker\/x\.txt could not be written: .*blocker leads through a symbolic link or something that is not a directory/,
    );
    await expect(lstat(join(users, 'alice', 'w2'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a link on the way, and a directory at the target', async () => {
    await symlink(outside, join(users, 'alice', 'to-outside'));
    await mkdir(join(users, 'alice', 'taken'));
    await expect(files.writeAll(alice, [write(join(users, 'alice', 'to-outside', 'x.txt'), 'x\n')])).rejects.toThrow(/to-outside leads through a symbolic link/);
    await expect(files.writeAll(alice, [write(join(users, 'alice', 'taken'), 'x\n')])).rejects.toThrow(/is a directory/);
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it('refuses what is not the caller’s, and what a body says it is not', async () => {
    await expect(files.writeAll(alice, [write(join(users, 'bob', 'planted.txt'), 'x\n')])).rejects.toThrow(/outside the directories this task's owner may write/);
    await expect(files.writeAll(alice, [{ ...write(join(users, 'alice', 'short.txt'), 'abc'), size: 10 }])).rejects.toThrow(/ended after 3 of its 10 bytes/);
    await expect(lstat(join(users, 'alice', 'short.txt'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(join(users, 'bob'))).toEqual(['b.txt']);
  });

  it('writes into the directory it checked when that directory is swapped for a link while the output is written', async () => {
    const dir = join(users, 'alice', 'w3');
    await mkdir(dir);
    // The race an attacker would win against a check-then-open: the checked directory is moved away and a link to outside put in its place.
    const swap = async (): Promise<void> => {
      await rename(dir, `${dir}.moved`);
      await symlink(outside, dir);
    };
    await files.writeAll(alice, [write(join(dir, 'x.txt'), 'x\n', swap)]);
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect(await readFile(join(`${dir}.moved`, 'x.txt'), 'utf8')).toBe('x\n');
  });
});

describe('TES_LOCAL_FILE_DIRS at start', () => {
  it.each([
    [() => `${join(base, 'missing')}=read`, /TES_LOCAL_FILE_DIRS: ".*missing": .*missing does not exist/],
    [() => `${join(outside, 'secret.txt')}=read`, /is not a directory/],
    [() => `${join(base, 'nobody')}/{owner}=readwrite`, /nobody does not exist/],
    [() => `${stackDir}/inner=read`, /overlaps the stack's own data/],
    [() => `${base}=read`, /overlaps the stack's own data/],
    [() => `${stackDir}=read`, /overlaps the stack's own data/],
    [() => `${tmpdir()}=readwrite`, /holds the system's temporary directory/],
  ])('refuses %s', async (value, message) => {
    await expect(localFileDirsFromEnv({ TES_LOCAL_FILE_DIRS: value() }, [stackDir])).rejects.toThrow(message);
  });

  it('accepts existing directories, {owner} ones by the directory before it', async () => {
    expect(await localFileDirsFromEnv({ TES_LOCAL_FILE_DIRS: `${users}/{owner}=readwrite,${outside}` }, [stackDir])).toEqual([
      { path: `${users}/{owner}`, access: 'readwrite', adminOnly: false },
      { path: outside, access: 'read', adminOnly: false },
    ]);
    expect(await localFileDirsFromEnv({}, [stackDir])).toEqual([]);
  });
});
