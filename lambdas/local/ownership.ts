/**
 * What one local stack owns on the machine, marked with its process id: the data directory (one
 * stack at a time: dynalite's LevelDB cannot be shared, and fails obscurely when it is) and its
 * scratch directory under the system temporary directory (left behind when a stack is killed,
 * and removed by the next stack that starts).
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const OWNER_FILE = 'stack.pid';

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`another local stack (process ${pid}) is using ${dataDir}; stop it, or start this one with another TES_DATA_DIR`);
    this.name = 'DataDirInUseError';
  }
}

/** Whether a process lives (one of another user's counts). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownerOf(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
  const pid = Number(text?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** What stacks in this process hold (another stack here is as much in the way as another process). */
const claimed = new Set<string>();

/** Marks `dir` as this process's; throws DataDirInUseError if a live stack holds it. Returns the release. */
export async function claim(dir: string): Promise<() => Promise<void>> {
  const path = resolve(dir);
  if (claimed.has(path)) throw new DataDirInUseError(dir, process.pid);
  const owner = await ownerOf(path);
  if (owner !== undefined && owner !== process.pid && alive(owner)) throw new DataDirInUseError(dir, owner);
  claimed.add(path);
  await writeFile(join(path, OWNER_FILE), String(process.pid), { mode: 0o600 });
  return async () => {
    claimed.delete(path);
    if ((await ownerOf(path)) === process.pid) await rm(join(path, OWNER_FILE), { force: true });
  };
}

/** Removes the `prefix*` directories under `parent` whose owning process is gone; returns them. */
export async function removeOrphans(parent: string, prefix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(parent, name);
    // A directory without an owner may be one another stack is creating this very moment: kept.
    const owner = await ownerOf(dir);
    if (owner === undefined || alive(owner)) continue;
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    removed.push(dir);
  }
  return removed;
}
