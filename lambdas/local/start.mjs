/**
 * `npm start`: runs the local stack (main.ts) from one bundle instead of compiling TypeScript module
 * by module at each start. The bundle (scripts/cached-bundle.mjs) is built with esbuild the first
 * time and again only when a source file, the lockfile or this file has changed since; it is kept
 * under node_modules/.cache/tes-local/, or under the system temporary directory when that cannot be
 * written. Everything it runs is the same code the tests run from source.
 *
 * In the bundle, `import.meta.dirname` still names the directory of the source file it is written
 * in (the state-machine definition and the staging runtime are found beside their sources), while
 * `import.meta.url` names the bundle (the S3 process runs its bundled twin, s3-process.mjs, and the
 * server serves the dashboard from dashboard/ beside main.mjs, which each build holds).
 */
/* global process */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildDashboard } from '../../dashboard/build.mjs';
import { cachedBundle, useCompileCache } from '../../scripts/cached-bundle.mjs';

const built = await cachedBundle({
  name: 'tes-local',
  entries: ['lambdas/local/main.ts', 'lambdas/local/s3-process.ts'],
  watch: ['lambdas', 'statemachine', 'dashboard'],
  // Loaded from node_modules at run time: native code (dynalite's store, esbuild) or run in a process of its own.
  external: ['dynalite', 'esbuild', 's3rver', 'tsx'],
  launcher: import.meta.filename,
  what: 'the local stack',
  // The dashboard's page, which the server serves from beside main.mjs.
  also: (esbuild, outdir) => buildDashboard(esbuild, join(outdir, 'dashboard')),
});
// The S3 process, started from here, uses the compile cache too.
if (useCompileCache(built)) process.env.NODE_COMPILE_CACHE = join(built, '.compile-cache');
await import(pathToFileURL(join(built, 'main.mjs')).href);
