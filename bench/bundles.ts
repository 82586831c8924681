/**
 * Lambda bundle sizes and cold starts: every function's entry bundled as CDK bundles it (esbuild,
 * minified ESM for Node.js 22), then run as a fresh Node.js process that imports the bundle and
 * serves one event against local stand-ins (dynalite, s3rver).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { LAMBDA_ALIASES } from '../cdk/constructs/functions.js';
import { DEFAULT_ROUTE, ROUTES } from '../lambdas/api/routes.js';
import { startLocalStack } from '../lambdas/local/stack.js';
import { apiEvent } from '../lambdas/testing/events.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

interface Bundle {
  name: string;
  entry: string;
  handler: string;
  event: unknown;
}

const bundles: Bundle[] = [
  ...ROUTES.map((r) => ({
    name: r.endpoint.name,
    entry: r.entry,
    handler: 'handler',
    event: apiEvent(r.method, `/ga4gh/tes/v1${r.path.replace('{id}', 'nope')}`, {
      sub: 'bench',
      ...(r.path.includes('{id}') ? { pathId: r.method === 'POST' ? 'nope:cancel' : 'nope' } : {}),
      ...(r.method === 'POST' && !r.path.includes('{id}') ? { body: JSON.stringify({ executors: [{ image: 'alpine', command: ['true'] }] }) } : {}),
    }),
  })),
  { name: DEFAULT_ROUTE.endpoint.name, entry: DEFAULT_ROUTE.entry, handler: 'handler', event: apiEvent('GET', '/nothing', { sub: 'bench' }) },
  ...['prepareHandler', 'recordHandler', 'finalizeHandler', 'recordFailureHandler'].map((handler) => ({
    name: handler.replace('Handler', ''),
    entry: 'lambdas/workflow/lambda.ts',
    handler,
    event: { taskId: 'nope' },
  })),
  { name: 'ecsEvents', entry: 'lambdas/workflow/lambda.ts', handler: 'ecsEventHandler', event: { detail: { group: 'tes:nope', lastStatus: 'RUNNING' } } },
  { name: 'broker', entry: 'lambdas/workflow/broker-lambda.ts', handler: 'handler', event: { path: '/staging/plan', headers: {} } },
];

export async function bundleFigures(report: (line: string) => void): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'tes-bundles-'));
  // The Lambda bundles speak DynamoDB: tasks on dynalite here.
  const stack = await startLocalStack({ port: 0, env: { TES_LOCAL_STORE: 'dynamodb' } });
  const env = {
    PATH: process.env['PATH'] ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: stack.s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.s3.credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    TES_TABLE_NAME: 'tes-tasks',
    TES_BUCKET: stack.s3.bucket,
    TES_DYNAMODB_ENDPOINT: stack.dynamodbEndpoint,
    TES_S3_ENDPOINT: stack.s3.endpoint,
    TES_STEPFUNCTIONS_ENDPOINT: 'http://127.0.0.1:9',
    TES_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:tes',
    TES_PAGE_TOKEN_SECRET: Buffer.alloc(32, 1).toString('base64'),
    TES_STAGING_SECRET: Buffer.alloc(32, 2).toString('base64'),
    TES_RUNTIME_IMAGE: 'runtime',
    TES_EXECUTOR_LOG_GROUP: 'executors',
    TES_CLUSTER_ARN: 'arn:aws:ecs:us-east-1:000000000000:cluster/tes',
  };
  try {
    const rows: string[] = [];
    const seen = new Map<string, number>();
    for (const bundle of bundles) {
      const file = join(out, `${bundle.entry.replaceAll('/', '_')}.mjs`);
      if (!seen.has(file)) {
        await build({
          entryPoints: [join(root, bundle.entry)],
          bundle: true,
          minify: true,
          format: 'esm',
          platform: 'node',
          target: 'node22',
          mainFields: ['module', 'main'],
          alias: { ...LAMBDA_ALIASES },
          outfile: file,
          banner: { js: "import { createRequire as __tesRequire } from 'module'; const require = __tesRequire(import.meta.url);" },
          logLevel: 'silent',
        });
        seen.set(file, (await stat(file)).size);
      }
      const runner = join(out, `run-${bundle.name}.mjs`);
      await writeFile(
        runner,
        `const t0 = performance.now();
const m = await import(${JSON.stringify(file)});
const t1 = performance.now();
const ctx = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 30000, functionName: 'bench' };
try { await m[${JSON.stringify(bundle.handler)}](${JSON.stringify(bundle.event)}, ctx); } catch {}
const t2 = performance.now();
console.log(JSON.stringify({ load: t1 - t0, serve: t2 - t1 }));
process.exit(0);`,
      );
      const started = performance.now();
      const { stdout } = await run(process.execPath, [runner], { env, timeout: 60_000 });
      const total = performance.now() - started;
      const { load, serve } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { load: number; serve: number };
      rows.push(
        `  ${bundle.name.padEnd(16)} ${(((seen.get(file) ?? 0) / 1024).toFixed(0) + ' KB').padStart(7)}   cold start ${total.toFixed(0).padStart(4)} ms (import ${load.toFixed(0)} ms, first event ${serve.toFixed(0)} ms)`,
      );
    }
    report('Lambda bundles (minified) and cold starts (a fresh Node.js 22 process importing the bundle and serving one event):');
    for (const row of rows) report(row);
  } finally {
    await stack.close();
    await rm(out, { recursive: true, force: true });
  }
}
