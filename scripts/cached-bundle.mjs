/**
 * One bundle of TypeScript entry points, built with esbuild the first time and again only when a
 * source file, the lockfile, tsconfig.json, the launcher or this file has changed since. What runs
 * from it is the same code the tests run from source. `npm start` (lambdas/local/start.mjs) and the
 * `tes` command (bin/tes.mjs) start this way instead of compiling TypeScript module by module.
 *
 * Builds are kept under node_modules/.cache/<name>/, or under the system temporary directory when
 * that cannot be written. In a bundle, `import.meta.dirname` still names the directory of the source
 * file it is written in, while `import.meta.url` names the bundle.
 */
/* global process, console */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { privateDirectory } from '../lambdas/local/private-dir.mjs';

/** This repository: where sources are read and node_modules is. */
export const REPO = join(import.meta.dirname, '..');
/** How many builds are kept: a running process may still load lazy chunks of the one it started from. */
const KEEP = 3;

/** Every file under `dirs` whose change changes the bundle, with its size and modification time. */
function sources(repo, dirs) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|json|html|css|svg)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) found.push(path);
    }
  };
  for (const dir of dirs) walk(join(repo, dir));
  found.push(join(repo, 'package-lock.json'), join(repo, 'tsconfig.json'));
  return found.sort().map((path) => {
    const { size, mtimeMs } = statSync(path);
    return `${relative(repo, path)} ${size} ${mtimeMs}`;
  });
}

/**
 * Packages left out of the bundle are imported from the repository's node_modules by absolute
 * path, wherever the bundle is kept.
 */
function fromRepository(repo, external) {
  return {
    name: 'from-repository',
    setup(build) {
      if (external.length === 0) return;
      const require = nodeModule.createRequire(join(repo, 'package.json'));
      const filter = new RegExp(`^(${external.join('|')})(/|$)`);
      build.onResolve({ filter }, (args) => ({ path: pathToFileURL(require.resolve(args.path)).href, external: true }));
    },
  };
}

/** Replaces `import.meta.dirname` with the source file's own directory. */
const sourceDirname = {
  name: 'source-dirname',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.dirname')) return undefined;
      return { contents: text.replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path))), loader: 'ts' };
    });
  },
};

async function build(repo, entries, external, outdir, also) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    absWorkingDir: repo,
    entryPoints: entries,
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // ES module builds first, as the Lambda bundles take them: what is not used is left out.
    mainFields: ['module', 'main'],
    outdir,
    outExtension: { '.js': '.mjs' },
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    // CommonJS dependencies bundled into ESM need require() back.
    banner: { js: "import { createRequire as __tesRequire } from 'node:module'; const require = __tesRequire(import.meta.url);" },
    plugins: [fromRepository(repo, external), sourceDirname],
    logLevel: 'warning',
  });
  // What else the build holds (npm start's: the dashboard's page, served from beside main.mjs).
  if (also !== undefined) await also(esbuild, outdir);
  // esbuild's service process would otherwise live as long as the process that asked for the build.
  await esbuild.stop();
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * The directory holding the bundle of `entries` (each `<dir>/<name>.ts` becomes `<name>.mjs` there),
 * built now if these sources have not been built yet.
 *
 *   await cachedBundle({ name: 'tes-cli', entries: ['cli/main.ts'], watch: ['cli'], launcher: import.meta.filename, what: 'the tes command' })
 *
 * @param {object} options
 * @param {string} options.name the cache's name: node_modules/.cache/<name>/
 * @param {string[]} options.entries entry points, relative to the repository
 * @param {string[]} options.watch directories whose files go into the bundle or are read beside it
 * @param {string[]} [options.external] packages loaded from node_modules at run time instead of bundled
 * @param {string} options.launcher the file that asks for the bundle (its change rebuilds it)
 * @param {string} options.what what is being built, for the line printed while it builds
 * @param {string} [options.repo] the repository (this one unless a test says otherwise)
 * @param {(esbuild: unknown, outdir: string) => Promise<void>} [options.also] builds more into the same directory
 * @param {boolean} [options.quiet] says nothing while it builds
 * @returns {Promise<string>}
 */
export async function cachedBundle({ name, entries, watch, external = [], launcher, what, repo = REPO, also, quiet = false }) {
  const stamp = createHash('sha256')
    .update(repo)
    .update(readFileSync(launcher))
    .update(readFileSync(import.meta.filename))
    .update(entries.join('\n'))
    .update(sources(repo, watch).join('\n'))
    .digest('hex')
    .slice(0, 16);
  // The temporary directory is shared: a build is kept there only in a directory this user alone can
  // write, or else made afresh, so that no other local user can plant what runs from it.
  const ownPath = join(tmpdir(), `${name}-build-${process.getuid?.() ?? 'user'}`);
  const own = privateDirectory(ownPath);
  if (own === undefined) console.error(`${ownPath} is not this user's alone: building into a fresh directory`);
  const roots = [join(repo, 'node_modules', '.cache', name), own ?? mkdtempSync(join(tmpdir(), `${name}-build-`))];
  const first = entries[0].replace(/^.*\//, '').replace(/\.ts$/, '.mjs');
  for (const root of roots) {
    if (!existsSync(join(root, stamp, first))) continue;
    try {
      writeFileSync(join(root, stamp, '.used'), '');
    } catch {
      // a build another user made: used as it is
    }
    return join(root, stamp);
  }
  for (const root of roots) {
    const building = join(root, `${stamp}.${process.pid}.tmp`);
    try {
      if (root === roots[0]) mkdirSync(root, { recursive: true, mode: 0o755 });
      if (!quiet) console.error(`building ${what} (once after each change to its sources)...`);
      await build(repo, entries, external, building, also);
    } catch (error) {
      rmSync(building, { recursive: true, force: true });
      if (root === roots.at(-1)) throw error;
      continue;
    }
    try {
      renameSync(building, join(root, stamp));
    } catch {
      // Another process built the same sources meanwhile: its build is as good as this one.
      rmSync(building, { recursive: true, force: true });
    }
    writeFileSync(join(root, stamp, '.used'), '');
    for (const entry of readdirSync(root)) {
      const pid = /^\w+\.(\d+)\.tmp$/.exec(entry)?.[1];
      // What a process that was killed while building left behind.
      if (pid !== undefined && !alive(Number(pid))) rmSync(join(root, entry), { recursive: true, force: true });
    }
    const builds = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.endsWith('.tmp'))
      .map((entry) => ({ path: join(root, entry.name), at: statSync(join(root, entry.name, '.used'), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
      .sort((a, b) => b.at - a.at);
    for (const old of builds.slice(KEEP)) rmSync(old.path, { recursive: true, force: true });
    return join(root, stamp);
  }
  throw new Error('unreachable');
}

/**
 * Keeps V8's compiled code beside the bundle, so later starts do not parse and compile it again.
 * True when it is on (false where it cannot be written, or on a Node.js without it).
 */
export function useCompileCache(built) {
  if (typeof nodeModule.enableCompileCache !== 'function') return false;
  const { status } = nodeModule.enableCompileCache(join(built, '.compile-cache'));
  const { ENABLED, ALREADY_ENABLED } = nodeModule.constants.compileCacheStatus;
  return status === ENABLED || status === ALREADY_ENABLED;
}
