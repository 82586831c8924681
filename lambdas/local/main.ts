/**
 * `npm start`: the TES API on http://127.0.0.1:$PORT with embedded DynamoDB and S3.
 *   PORT            TCP port (default 8000)
 *   TES_DATA_DIR    where tasks persist across restarts (default ./.tes-data)
 *   TES_IN_MEMORY=1 keep everything in memory instead
 *   TES_AUTH=jwt    require bearer tokens from the local issuer (`npm run token -- <subject>`)
 * The dashboard is served at / when a build of it lies beside this module (start.mjs puts one there).
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger } from '../api/http.js';
import { DataDirInUseError } from './ownership.js';
import { PortInUseError, startLocalStack } from './stack.js';

const DEFAULT_PORT = 8000;

function readPort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a TCP port number (0-65535), got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

const auth = process.env['TES_AUTH'] ?? 'none';
if (auth !== 'none' && auth !== 'jwt') {
  console.error(`TES_AUTH must be none or jwt, not ${JSON.stringify(auth)}`);
  process.exit(2);
}
const inMemory = ['1', 'true', 'yes'].includes((process.env['TES_IN_MEMORY'] ?? '').toLowerCase());
const dataDir = inMemory ? undefined : resolve(process.env['TES_DATA_DIR'] ?? '.tes-data');

try {
  // npm start (start.mjs) builds the dashboard beside the bundle this runs from.
  const dashboardDir = fileURLToPath(new URL('./dashboard/', import.meta.url));
  const stack = await startLocalStack({ port: readPort(process.env['PORT']), dataDir, env: process.env, auth, dashboardDir });
  console.log(`TES 1.1 API listening on ${stack.url} (also at http://127.0.0.1:${stack.port}/v1)`);
  console.log(`  tasks:  ${dataDir === undefined ? 'in memory (TES_IN_MEMORY=1)' : `persisted under ${dataDir}`}`);
  console.log(
    `  S3:     ${stack.s3.endpoint} bucket ${stack.s3.bucket} (path-style; access key ${stack.s3.credentials.accessKeyId}, secret ${stack.s3.credentials.secretAccessKey}${dataDir === undefined ? '' : `, kept in ${join(dataDir, 's3-credentials.json')}`})`,
  );
  const dirs = stack.deps.storage?.localDirs ?? [];
  console.log(
    dirs.length === 0
      ? '  files:  no host directories for file:// URLs and bare paths (TES_LOCAL_FILE_DIRS)'
      : `  files:  file:// URLs and bare paths in ${dirs.map((d) => `${d.path} (${d.access}${d.adminOnly ? ', admins' : ''})`).join(', ')}`,
  );
  if (stack.issuer === undefined) console.log('  auth:   off; every task belongs to the local user');
  else if (dataDir !== undefined) console.log('  auth:   bearer JWTs from the local issuer; get one with: npm run token -- <subject>');
  else console.log(`  auth:   bearer JWTs; in memory, so here is one for "local": ${await stack.issuer.issue('local')}`);
  if (stack.dashboardUrl !== undefined) console.log(`  dashboard: ${stack.dashboardUrl}${stack.issuer === undefined ? '' : ' (paste a token from npm run token -- <subject>)'}`);
  else console.log('  dashboard: not built here (npm start builds it)');
  // What runs tasks is ready a moment after the API answers.
  const runtime = await stack.runtime.catch((error: unknown) => ({ sandbox: `none: ${(error as Error).message}`, sandboxLacks: [] as readonly string[] }));
  console.log(`  tasks run in: ${runtime.sandbox}`);
  if (runtime.sandboxLacks.length > 0) console.log(`  it does not enforce: ${runtime.sandboxLacks.join('; ')}`);
  console.log(
    `  executors run while the vCPUs and memory they ask for fit in ${stack.capacity.cpus} vCPUs and ${(stack.capacity.memoryMiB / 1024).toFixed(1)} GiB, ${stack.capacity.maxRuns} at most (TES_LOCAL_CPUS, TES_LOCAL_MEMORY_GB, TES_LOCAL_MAX_RUNS); tasks that ask for no resources share the CPUs; staging runs in bubblewrap`,
  );
  // The API already answers; the tasks the last run left are resumed or ended meanwhile.
  void stack.reconciled.then(({ resumed, ended, canceled }) => {
    console.log(`  tasks left by the last run: ${resumed.length} resumed, ${ended.length} ended SYSTEM_ERROR, ${canceled.length} canceled`);
  }, () => undefined);
  const shutdown = (): void => {
    void stack.close().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
} catch (error) {
  if (error instanceof PortInUseError || error instanceof DataDirInUseError) {
    console.error(error.message);
  } else {
    logger.error('the local stack could not start', { error: error as Error });
    console.error(`the local stack could not start: ${(error as Error).message}`);
  }
  process.exit(1);
}
