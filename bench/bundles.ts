/**
 * Lambda bundle sizes and cold starts: every function's entry bundled as CDK bundles it (esbuild,
 * minified ESM for Node.js 22), then run as a fresh Node.js process that imports the bundle and
 * serves one event against local stand-ins (dynalite, s3rver).
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { LAMBDA_ESBUILD } from '../cdk/constructs/functions.js';
import { DEFAULT_ROUTE, ROUTES } from '../lambdas/api/routes.js';
import { startLocalStack } from '../lambdas/local/stack.js';
import { apiEvent } from '../lambdas/testing/events.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
/** Measured cold starts per function; the median is reported. */
const COLD_RUNS = 5;

interface Bundle {
  name: string;
  entry: string;
  handler: string;
  event: unknown;
  /** Each run gets a new task in this state, named BENCH_TASK in the event. */
  fresh?: 'RUNNING' | 'INITIALIZING';
}

/** Every function with one event: the API's on a task of the caller's own (success paths). */
const bundlesFor = (taskId: string): Bundle[] => [
  ...ROUTES.map((r) => ({
    name: r.endpoint.name,
    entry: r.entry,
    handler: 'handler',
    event: apiEvent(r.method, `/ga4gh/tes/v1${r.path.replace('{id}', taskId)}`, {
      sub: 'bench',
      ...(r.path.includes('{id}') ? { pathId: r.method === 'POST' ? `${taskId}:cancel` : taskId } : {}),
      ...(r.method === 'POST' && !r.path.includes('{id}') ? { body: JSON.stringify({ executors: [{ image: 'alpine', command: ['true'] }] }) } : {}),
    }),
  })),
  { name: DEFAULT_ROUTE.endpoint.name, entry: DEFAULT_ROUTE.entry, handler: 'handler', event: apiEvent('GET', '/nothing', { sub: 'bench' }) },
  ...['prepareHandler', 'recordHandler'].map((handler) => ({
    name: handler.replace('Handler', ''),
    entry: 'lambdas/workflow/lambda.ts',
    handler,
    event: { taskId: 'nope' },
  })),
  // On a task of their own for each run (BENCH_TASK), which they move on as in a real workflow.
  { name: 'finalize', entry: 'lambdas/workflow/lambda.ts', handler: 'finalizeHandler', fresh: 'RUNNING', event: { taskId: 'BENCH_TASK', index: 1, runs: [], outcome: {} } },
  { name: 'recordFailure', entry: 'lambdas/workflow/lambda.ts', handler: 'recordFailureHandler', fresh: 'RUNNING', event: { taskId: 'BENCH_TASK', failure: { Error: 'States.TaskFailed', Cause: 'bench' } } },
  { name: 'ecsEvents', entry: 'lambdas/workflow/lambda.ts', handler: 'ecsEventHandler', fresh: 'INITIALIZING', event: { detail: { group: 'tes:BENCH_TASK', lastStatus: 'RUNNING' } } },
  { name: 'broker', entry: 'lambdas/workflow/broker-lambda.ts', handler: 'handler', event: { path: '/staging/plan', headers: {} } },
  { name: 'reconciler', entry: 'lambdas/workflow/reconcile-lambda.ts', handler: 'reconcileHandler', event: {} },
];

/**
 * A stand-in for the Step Functions API at a port (no stand-in of it runs here): StartExecution,
 * StopExecution and DescribeExecution answer as for a running execution.
 */
async function stepFunctionsStandIn(): Promise<{ endpoint: string; close: () => void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const arn = 'arn:aws:states:us-east-1:000000000000:execution:tes:bench';
      const body = target.endsWith('StartExecution')
        ? { executionArn: arn, startDate: Date.now() / 1000 }
        : target.endsWith('StopExecution')
          ? { stopDate: Date.now() / 1000 }
          : { executionArn: arn, stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:tes', status: 'RUNNING', startDate: Date.now() / 1000 };
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

export async function bundleFigures(report: (line: string) => void): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'tes-bundles-'));
  // The Lambda bundles speak DynamoDB: tasks on dynalite here.
  const stack = await startLocalStack({ port: 0, env: { TES_LOCAL_STORE: 'dynamodb' } });
  const stepFunctions = await stepFunctionsStandIn();
  const created = new Date();
  const taskId = stack.deps.ids.next(created);
  await stack.deps.store.create({ id: taskId, owner: 'bench', state: 'QUEUED', version: 1, creationTime: created.toISOString(), task: { executors: [{ image: 'alpine', command: ['true'] }] }, logs: [] });
  const bundles = bundlesFor(taskId);
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
    TES_STEPFUNCTIONS_ENDPOINT: stepFunctions.endpoint,
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
        await build({ ...LAMBDA_ESBUILD, entryPoints: [join(root, bundle.entry)], outfile: file, logLevel: 'silent' });
        seen.set(file, (await stat(file)).size);
      }
      const runner = join(out, `run-${bundle.name}.mjs`);
      await writeFile(
        runner,
        `const t0 = performance.now();
const m = await import(${JSON.stringify(file)});
const t1 = performance.now();
const ctx = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 30000, functionName: 'bench' };
let outcome;
const event = JSON.parse(${JSON.stringify(JSON.stringify(bundle.event))}.replaceAll('BENCH_TASK', process.env.BENCH_TASK ?? ''));
try { const result = await m[${JSON.stringify(bundle.handler)}](event, ctx); outcome = result?.statusCode ?? result?.state ?? 'ok'; } catch (error) { outcome = 'failed: ' + error.name; }
const t2 = performance.now();
console.log(JSON.stringify({ load: t1 - t0, serve: t2 - t1, outcome }));
process.exit(0);`,
      );
      // A first run warms the file cache and the stand-ins; the next COLD_RUNS are measured, and the median kept.
      const taskFor = async (): Promise<Record<string, string>> => {
        if (bundle.fresh === undefined) return {};
        const at = new Date();
        const id = stack.deps.ids.next(at);
        const logs = [{ logs: [], outputs: [], start_time: at.toISOString() }];
        await stack.deps.store.create({ id, owner: 'bench', state: bundle.fresh, version: 1, creationTime: at.toISOString(), task: { executors: [{ image: 'alpine', command: ['true'] }] }, logs });
        return { BENCH_TASK: id };
      };
      await run(process.execPath, [runner], { env: { ...env, ...(await taskFor()) }, timeout: 60_000 });
      const measured: { total: number; load: number; serve: number; outcome: string | number }[] = [];
      for (let i = 0; i < COLD_RUNS; i += 1) {
        const own = await taskFor();
        const started = performance.now();
        const { stdout } = await run(process.execPath, [runner], { env: { ...env, ...own }, timeout: 60_000 });
        const total = performance.now() - started;
        measured.push({ total, ...(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { load: number; serve: number; outcome: string | number }) });
      }
      measured.sort((a, b) => a.total - b.total);
      const { total, load, serve, outcome } = measured[Math.floor(measured.length / 2)] as (typeof measured)[number];
      const range = `${(measured[0] as { total: number }).total.toFixed(0)}–${(measured.at(-1) as { total: number }).total.toFixed(0)}`;
      rows.push(
        `  ${bundle.name.padEnd(16)} ${(((seen.get(file) ?? 0) / 1024).toFixed(0) + ' KB').padStart(7)}   cold start ${total.toFixed(0).padStart(4)} ms (${range}; import ${load.toFixed(0)} ms, first event ${serve.toFixed(0)} ms: ${outcome})`,
      );
    }
    report(`Lambda bundles (minified) and cold starts (a fresh Node.js 22 process importing the bundle and serving one event: the median of ${COLD_RUNS} runs after one warm-up, and their range; the API on a task of the caller, Finalize, RecordFailure and the ECS events on a task of their own, the other workflow functions on a task that does not exist):`);
    for (const row of rows) report(row);
  } finally {
    stepFunctions.close();
    await stack.close();
    await rm(out, { recursive: true, force: true });
  }
}
