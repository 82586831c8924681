/**
 * `npm start`: runs the local stack (main.ts) from one bundle instead of compiling TypeScript module
 * by module at each start. The bundle is built with esbuild the first time and again only when a
 * source file, the lockfile or this file has changed since; it is kept under
 * node_modules/.cache/tes-local/, or under the system temporary directory when that cannot be
 * written. Everything it runs is the same code the tests run from source.
 *
 * In the bundle, `import.meta.dirname` still names the directory of the source file it is written
 * in (the state-machine definition and the staging runtime are found beside their sources), while
 * `import.meta.url` names the bundle (the S3 process runs its bundled twin, s3-process.mjs, and the
 * server serves the dashboard from dashboard/ beside main.mjs, which each build holds).
 */
/* global process, console */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { constants, createRequire, enableCompileCache } from 'node:module';
import { pathToFileURL } from 'node:url';
import { buildDashboard } from '../../dashboard/build.mjs';
import { privateDirectory } from './private-dir.mjs';

const REPO = join(import.meta.dirname, '..', '..');
const ENTRIES = ['lambdas/local/main.ts', 'lambdas/local/s3-process.ts'];
/** Loaded from node_modules at run time: native code (dynalite's store, esbuild) or run in a process of its own. */
const EXTERNAL = ['dynalite', 'esbuild', 's3rver', 'tsx'];
/** How many builds are kept: a running stack may still load lazy chunks of the one it started from. */
const KEEP = 3;

/** Every file whose change changes the bundle, with its size and modification time. */
function sources() {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|json|html|css|svg)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) found.push(path);
    }
  };
  for (const dir of ['lambdas', 'statemachine', 'dashboard']) walk(join(REPO, dir));
  found.push(join(REPO, 'package-lock.json'), join(REPO, 'tsconfig.json'));
  return found.sort().map((path) => {
    const { size, mtimeMs } = statSync(path);
    return `${relative(REPO, path)} ${size} ${mtimeMs}`;
  });
}

/**
 * Packages left out of the bundle are imported from this repository's node_modules by absolute
 * path, wherever the bundle is kept.
 */
const fromRepository = {
  name: 'from-repository',
  setup(build) {
    const require = createRequire(join(REPO, 'package.json'));
    const filter = new RegExp(`^(${EXTERNAL.join('|')})(/|$)`);
    build.onResolve({ filter }, (args) => ({ path: pathToFileURL(require.resolve(args.path)).href, external: true }));
  },
};

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

async function build(outdir) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    absWorkingDir: REPO,
    entryPoints: ENTRIES,
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // ES module builds first, as the Lambda bundles take them: what the stack does not use is left out.
    mainFields: ['module', 'main'],
    outdir,
    outExtension: { '.js': '.mjs' },
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    // CommonJS dependencies bundled into ESM need require() back.
    banner: { js: "import { createRequire as __tesRequire } from 'node:module'; const require = __tesRequire(import.meta.url);" },
    plugins: [fromRepository, sourceDirname],
    logLevel: 'warning',
  });
  // The dashboard's page, which the server serves from beside main.mjs.
  await buildDashboard(esbuild, join(outdir, 'dashboard'));
  // esbuild's service process would otherwise live as long as the stack.
  await esbuild.stop();
}

/** Where the bundle of these sources is, built now if it is not there yet. */
async function bundle() {
  const stamp = createHash('sha256').update(REPO).update(readFileSync(import.meta.filename)).update(sources().join('\n')).digest('hex').slice(0, 16);
  // The temporary directory is shared: a build is kept there only in a directory this user alone can
  // write, or else made afresh, so that no other local user can plant what this start runs.
  const ownPath = join(tmpdir(), `tes-local-build-${process.getuid?.() ?? 'user'}`);
  const own = privateDirectory(ownPath);
  if (own === undefined) console.error(`${ownPath} is not this user's alone: building into a fresh directory`);
  const roots = [join(REPO, 'node_modules', '.cache', 'tes-local'), own ?? mkdtempSync(join(tmpdir(), 'tes-local-build-'))];
  for (const root of roots) {
    if (!existsSync(join(root, stamp, 'main.mjs'))) continue;
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
      console.error('building the local stack (once after each change to its sources)...');
      await build(building);
    } catch (error) {
      rmSync(building, { recursive: true, force: true });
      if (root === roots.at(-1)) throw error;
      continue;
    }
    try {
      renameSync(building, join(root, stamp));
    } catch {
      // Another start built the same sources meanwhile: its build is as good as this one.
      rmSync(building, { recursive: true, force: true });
    }
    writeFileSync(join(root, stamp, '.used'), '');
    const alive = (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return error.code === 'EPERM';
      }
    };
    for (const entry of readdirSync(root)) {
      const pid = /^\w+\.(\d+)\.tmp$/.exec(entry)?.[1];
      // What a start that was killed while building left behind.
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

const built = await bundle();
// V8's compiled code is kept beside the bundle, so later starts do not parse and compile it again;
// the S3 process, started from here, uses it too. Where it cannot be written, nothing is kept.
const cache = join(built, '.compile-cache');
const { status } = enableCompileCache(cache);
if (status === constants.compileCacheStatus.ENABLED || status === constants.compileCacheStatus.ALREADY_ENABLED) process.env.NODE_COMPILE_CACHE = cache;
await import(pathToFileURL(join(built, 'main.mjs')).href);
