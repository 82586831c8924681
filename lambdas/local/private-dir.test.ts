/**
 * Where npm start keeps its bundle when node_modules cannot be written: in the shared temporary
 * directory, so another local user could try to plant the code it runs there first.
 */
import { chmod, chown, lstat, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateDirectory } from './private-dir.mjs';

let shared: string;
beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'tes-private-dir-'));
  await chmod(shared, 0o1777);
});
afterAll(async () => {
  await rm(shared, { recursive: true, force: true });
});

describe("npm start's directory in the temporary directory", () => {
  it('is made for this user alone, and used again', async () => {
    const dir = join(shared, 'fresh');
    expect(privateDirectory(dir)).toBe(dir);
    expect((await lstat(dir)).mode & 0o777).toBe(0o700);
    expect(privateDirectory(dir)).toBe(dir);
  });

  it('is refused when someone else made it, anyone else can write it, or it is a link', async () => {
    const open = join(shared, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    expect(privateDirectory(open)).toBeUndefined();
    const link = join(shared, 'link');
    await symlink(join(shared, 'fresh'), link);
    expect(privateDirectory(link)).toBeUndefined();
    if (process.getuid?.() === 0) {
      // Another user's, private to them: what they put there is not ours to run.
      const theirs = join(shared, 'theirs');
      await mkdir(theirs, { mode: 0o700 });
      await chown(theirs, 4242, 4242);
      expect(privateDirectory(theirs)).toBeUndefined();
    }
  });
});
