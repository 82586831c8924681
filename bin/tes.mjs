#!/usr/bin/env node
/**
 * `tes` (`npx tes` in this repository): runs the command line (cli/main.ts) from one bundle, built
 * with esbuild the first time and again only when its sources (cli/, the lambdas/domain and
 * lambdas/ports modules it shares with the server), the lockfile or this file changed; kept under
 * node_modules/.cache/tes-cli/. Its packages (commander, ora) are in the bundle, so a call loads one
 * file and its compiled code from V8's cache.
 */
/* global process */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cachedBundle, useCompileCache } from '../scripts/cached-bundle.mjs';

const built = await cachedBundle({
  name: 'tes-cli',
  entries: ['cli/main.ts'],
  watch: ['cli', 'lambdas/domain', 'lambdas/ports'],
  launcher: import.meta.filename,
  what: 'the tes command',
  // --quiet means no notes on stderr, this one included (options come before `--` and the task's command).
  quiet: process.argv.slice(2, process.argv.includes('--') ? process.argv.indexOf('--') : undefined).some((arg) => arg === '-q' || arg === '--quiet'),
});
useCompileCache(built);
await import(pathToFileURL(join(built, 'main.mjs')).href);
