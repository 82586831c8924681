/**
 * The bundle `npm start` and `tes` run from is built once and again only when what goes into it
 * changed: here on a repository of three files, so each build takes milliseconds.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cachedBundle } from './cached-bundle.mjs';

let repo: string;
const name = `tes-bundle-test-${process.pid}`;
const options = () => ({ name, entries: ['src/main.ts'], watch: ['src'], launcher: join(repo, 'launcher.mjs'), what: 'the test bundle', repo });

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'tes-bundle-repo-'));
  await mkdir(join(repo, 'src'));
  await mkdir(join(repo, 'docs'));
  await writeFile(join(repo, 'src', 'main.ts'), "import { greeting } from './greeting.js';\nconsole.log(greeting);\n");
  await writeFile(join(repo, 'src', 'greeting.ts'), "export const greeting: string = 'hello';\n");
  await writeFile(join(repo, 'docs', 'notes.ts'), 'export {};\n');
  await writeFile(join(repo, 'package-lock.json'), '{}\n');
  await writeFile(join(repo, 'tsconfig.json'), '{}\n');
  await writeFile(join(repo, 'launcher.mjs'), '// launches\n');
});
afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
  await rm(join(tmpdir(), `${name}-build-${process.getuid?.() ?? 'user'}`), { recursive: true, force: true });
});

async function output(built: string): Promise<string> {
  return (await promisify(execFile)(process.execPath, [join(built, 'main.mjs')])).stdout;
}

describe('the cached bundle', () => {
  it('is built on first use under node_modules/.cache, and runs', async () => {
    const built = await cachedBundle(options());
    expect(built.startsWith(join(repo, 'node_modules', '.cache', name))).toBe(true);
    expect(await output(built)).toBe('hello\n');
  });

  it('is used again, without building, while nothing it depends on changed', async () => {
    const first = await cachedBundle(options());
    const said = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      // A file outside the watched directories changes nothing.
      await writeFile(join(repo, 'docs', 'notes.ts'), 'export const changed = true;\n');
      expect(await cachedBundle(options())).toBe(first);
      expect(said).not.toHaveBeenCalled();
    } finally {
      said.mockRestore();
    }
  });

  it('is built again when a source, the lockfile or the launcher changed', async () => {
    const before = await cachedBundle(options());
    await writeFile(join(repo, 'src', 'greeting.ts'), "export const greeting: string = 'hello again';\n");
    const afterSource = await cachedBundle(options());
    expect(afterSource).not.toBe(before);
    expect(await output(afterSource)).toBe('hello again\n');
    await writeFile(join(repo, 'package-lock.json'), '{"lockfileVersion":3}\n');
    const afterLock = await cachedBundle(options());
    expect(afterLock).not.toBe(afterSource);
    await writeFile(join(repo, 'launcher.mjs'), '// launches differently\n');
    const afterLauncher = await cachedBundle(options());
    expect(afterLauncher).not.toBe(afterLock);
  });

  it('says it builds unless asked to be quiet, and builds what `also` adds into the same directory', async () => {
    await writeFile(join(repo, 'src', 'greeting.ts'), "export const greeting: string = 'hello, quietly';\n");
    const said = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const built = await cachedBundle({
        ...options(),
        quiet: true,
        also: async (_esbuild, outdir) => writeFile(join(outdir, 'extra.txt'), 'also built\n'),
      });
      expect(said).not.toHaveBeenCalled();
      expect(await readFile(join(built, 'extra.txt'), 'utf8')).toBe('also built\n');
      await writeFile(join(repo, 'src', 'greeting.ts'), "export const greeting: string = 'hello, loudly';\n");
      await cachedBundle(options());
      expect(said).toHaveBeenCalledWith(expect.stringMatching(/^building .* \(once after each change to its sources\)\.\.\.$/));
    } finally {
      said.mockRestore();
    }
  });

  it('keeps the three builds used last and removes older ones', async () => {
    const built: string[] = [];
    for (const word of ['a', 'bb', 'ccc', 'dddd']) {
      await writeFile(join(repo, 'src', 'greeting.ts'), `export const greeting: string = '${word}';\n`);
      built.push(await cachedBundle(options()));
    }
    expect(built.slice(1).every((dir) => existsSync(dir))).toBe(true);
    expect(existsSync(built[0] as string)).toBe(false);
  });
});
