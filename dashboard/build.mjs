/**
 * Builds the dashboard into one directory: index.html, app.js (the page's TypeScript, bundled and
 * minified), app.css and icon.svg; config.json is added by whoever serves it. Plain JavaScript, so
 * that `npm start` (lambdas/local/start.mjs) can build it before anything is compiled; the CDK
 * construct builds it the same way at synth.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const HERE = import.meta.dirname;
/** Copied as they are. */
const STATIC = ['index.html', 'icon.svg'];

/** @param {string} outdir */
function options(outdir) {
  return {
    absWorkingDir: join(HERE, '..'),
    entryPoints: [
      { in: join(HERE, 'app', 'main.ts'), out: 'app' },
      { in: join(HERE, 'style.css'), out: 'app' },
    ],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // What browsers of the last few years run; nothing is transpiled down further.
    target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    outdir,
    logLevel: 'warning',
  };
}

function copyStatic(outdir) {
  for (const name of STATIC) copyFileSync(join(HERE, name), join(outdir, name));
}

/** Builds into `outdir` (made if missing) with the esbuild module given (`await import('esbuild')`). */
export async function buildDashboard(esbuild, outdir) {
  mkdirSync(outdir, { recursive: true });
  await esbuild.build(options(outdir));
  copyStatic(outdir);
}

/** The same, synchronously (CDK constructs are built synchronously). */
export function buildDashboardSync(esbuild, outdir) {
  mkdirSync(outdir, { recursive: true });
  esbuild.buildSync(options(outdir));
  copyStatic(outdir);
}
