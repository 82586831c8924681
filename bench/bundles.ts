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
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../lambdas/adapters/aws-clients.js';
import { sealReport } from '../lambdas/adapters/s3-staging-broker.js';
import { reportKey } from '../lambdas/domain/output-list.js';
import { StagingTokens } from '../lambdas/domain/staging-token.js';
import type { StageReport } from '../lambdas/ports/staging.js';
import type { WorkflowState } from '../lambdas/workflow/state.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const STAGING_SECRET = Buffer.alloc(32, 2);
/** Measured cold starts per function; the median is reported. */
const COLD_RUNS = 5;

interface Bundle {
  name: string;
  entry: string;
  handler: string;
  event: unknown;
  /** Each run gets a new task in this state, named BENCH_TASK in the event. */
  fresh?: 'QUEUED' | 'RUNNING' | 'INITIALIZING';
  /** What each run's task has besides (Record: the stage reports its run left in the bucket). */
  setup?: (taskId: string) => Promise<void>;
  /** What the function worked on, said after its figure. */
  note?: () => Promise<string>;
}

/** Every function with one event: the API's on a task of the caller's own (success paths). */
const bundlesFor = (taskId: string, reports: (taskId: string) => Promise<void>, active: () => Promise<number>): Bundle[] => [
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
  // On a task of their own for each run (BENCH_TASK), which they move on as in a real workflow:
  // Prepare starts a QUEUED task (its task definition is found in ECS); Record records a run that
  // ended (its stage reports in the bucket, its stdout and stderr in CloudWatch Logs).
  { name: 'prepare', entry: 'lambdas/workflow/lambda.ts', handler: 'prepareHandler', fresh: 'QUEUED', event: { taskId: 'BENCH_TASK' } },
  { name: 'record', entry: 'lambdas/workflow/lambda.ts', handler: 'recordHandler', fresh: 'RUNNING', setup: reports, event: recordEvent() },
  { name: 'finalize', entry: 'lambdas/workflow/lambda.ts', handler: 'finalizeHandler', fresh: 'RUNNING', event: { taskId: 'BENCH_TASK', index: 1, runs: [], outcome: {} } },
  { name: 'recordFailure', entry: 'lambdas/workflow/lambda.ts', handler: 'recordFailureHandler', fresh: 'RUNNING', event: { taskId: 'BENCH_TASK', failure: { Error: 'States.TaskFailed', Cause: 'bench' } } },
  { name: 'ecsEvents', entry: 'lambdas/workflow/lambda.ts', handler: 'ecsEventHandler', fresh: 'INITIALIZING', event: { detail: { group: 'tes:BENCH_TASK', lastStatus: 'RUNNING' } } },
  // The broker trades a run's ticket (BENCH_TICKET) for its session and plan, as stage-in asks it to.
  { name: 'broker', entry: 'lambdas/workflow/broker-lambda.ts', handler: 'handler', fresh: 'INITIALIZING', event: { path: '/staging/session', headers: { authorization: 'Bearer BENCH_TICKET' } } },
  { name: 'reconciler', entry: 'lambdas/workflow/reconcile-lambda.ts', handler: 'reconcileHandler', event: {}, note: async () => `; it read ${await active()} tasks not yet ended` },
];

/** Record's input after a run of `true` that ended well, as the workflow hands it over. */
function recordEvent(): WorkflowState {
  const plan = {
    cluster: CLUSTER,
    taskDefinition: TASK_DEFINITION,
    group: 'tes:BENCH_TASK',
    capacityProviderStrategy: [{ CapacityProvider: 'FARGATE' as const, Weight: 1 }],
    timeoutSeconds: 3600,
    networkConfiguration: { AwsvpcConfiguration: { Subnets: [], SecurityGroups: [], AssignPublicIp: 'DISABLED' as const } },
    overrides: { Cpu: '1024', Memory: '2048', ContainerOverrides: [] },
  };
  const started = new Date(Date.now() - 5000).toISOString();
  return {
    taskId: 'BENCH_TASK',
    index: 0,
    runs: [plan],
    run: plan,
    outcome: { runSeconds: 0 },
    ecs: {
      TaskArn: `arn:aws:ecs:us-east-1:000000000000:task/tes/0123456789abcdef0123456789abcdef`,
      StopCode: 'EssentialContainerExited',
      StoppedReason: 'Essential container in task exited',
      StartedAt: started,
      StoppedAt: new Date().toISOString(),
      Containers: [
        { Name: 'stage-in', ExitCode: 0 },
        { Name: 'executor', ExitCode: 0 },
        { Name: 'stage-out', ExitCode: 0 },
      ],
    },
  };
}

const CLUSTER = 'arn:aws:ecs:us-east-1:000000000000:cluster/tes';
const TASK_DEFINITION = 'arn:aws:ecs:us-east-1:000000000000:task-definition/tes-executor:1';

/**
 * A stand-in at a port for the AWS APIs no stand-in of runs here, answering as AWS does on the
 * success path: Step Functions (StartExecution, StopExecution, DescribeExecution of a running
 * execution), ECS (DescribeTaskDefinition: an active revision) and CloudWatch Logs (GetLogEvents:
 * an executor's few lines).
 */
async function awsStandIn(): Promise<{ endpoint: string; close: () => void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const arn = 'arn:aws:states:us-east-1:000000000000:execution:tes:bench';
      const now = Date.now() / 1000;
      let body: unknown;
      if (target.endsWith('StartExecution')) body = { executionArn: arn, startDate: now };
      else if (target.endsWith('StopExecution')) body = { stopDate: now };
      else if (target.endsWith('DescribeExecution')) body = { executionArn: arn, stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:tes', status: 'RUNNING', startDate: now };
      else if (target.endsWith('DescribeTaskDefinition')) body = { taskDefinition: { taskDefinitionArn: TASK_DEFINITION, status: 'ACTIVE' } };
      else if (target.endsWith('GetLogEvents')) body = { events: [{ timestamp: Date.now(), message: 'hello', ingestionTime: Date.now() }], nextForwardToken: 'f/1', nextBackwardToken: 'b/1' };
      else {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'UnknownOperationException', message: target }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

export async function bundleFigures(report: (line: string) => void): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'tes-bundles-'));
  // The Lambda bundles speak DynamoDB: tasks on dynalite here.
  const stack = await startLocalStack({ port: 0, env: { TES_LOCAL_STORE: 'dynamodb' } });
  const aws = await awsStandIn();
  const tokens = new StagingTokens(STAGING_SECRET);
  const s3 = s3Client({ region: 'us-east-1', endpoints: { s3: stack.s3.endpoint }, credentials: stack.s3.credentials });
  // The stage reports a run of `true` leaves, sealed by the broker.
  const reports = async (id: string): Promise<void> => {
    const runReports: ['stage-in' | 'stage-out', StageReport][] = [
      ['stage-in', { ok: true, warnings: [] }],
      ['stage-out', { ok: true, warnings: [], outputs: [], outputCount: 0, outputBytes: 0, exitCode: 0 }],
    ];
    for (const [name, report] of runReports) {
      const body = sealReport(tokens, id, 0, name, report);
      await s3.send(new PutObjectCommand({ Bucket: stack.s3.bucket, Key: reportKey(id, 0, name), Body: body }));
    }
  };
  const created = new Date();
  const taskId = stack.deps.ids.next(created);
  await stack.deps.store.create({ id: taskId, owner: 'bench', state: 'QUEUED', version: 1, creationTime: created.toISOString(), task: { executors: [{ image: 'alpine', command: ['true'] }] }, logs: [] });
  const active = async (): Promise<number> => {
    let count = 0;
    let after: string | undefined;
    for (;;) {
      const page = await stack.deps.store.listActive(after);
      count += page.ids.length;
      after = page.ids.at(-1);
      if (!page.more) return count;
    }
  };
  const bundles = bundlesFor(taskId, reports, active);
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
    TES_STEPFUNCTIONS_ENDPOINT: aws.endpoint,
    TES_ECS_ENDPOINT: aws.endpoint,
    TES_LOGS_ENDPOINT: aws.endpoint,
    TES_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:tes',
    TES_PAGE_TOKEN_SECRET: Buffer.alloc(32, 1).toString('base64'),
    TES_STAGING_SECRET: STAGING_SECRET.toString('base64'),
    TES_RUNTIME_IMAGE: 'runtime',
    TES_EXECUTOR_LOG_GROUP: 'executors',
    TES_CLUSTER_ARN: CLUSTER,
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
const event = JSON.parse(${JSON.stringify(JSON.stringify(bundle.event))}.replaceAll('BENCH_TASK', process.env.BENCH_TASK ?? '').replaceAll('BENCH_TICKET', process.env.BENCH_TICKET ?? ''));
try { const result = await m[${JSON.stringify(bundle.handler)}](event, ctx); outcome = result?.statusCode ?? result?.state ?? (result?.outcome?.systemError ? 'system error: ' + result.outcome.systemError : 'ok'); } catch (error) { outcome = 'failed: ' + error.name; }
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
        await stack.deps.store.create({ id, owner: 'bench', state: bundle.fresh, version: 1, creationTime: at.toISOString(), task: { executors: [{ image: 'alpine', command: ['true'] }] }, logs: bundle.fresh === 'QUEUED' ? [] : logs });
        await bundle.setup?.(id);
        return { BENCH_TASK: id, BENCH_TICKET: tokens.ticket(id, 0, Math.floor(Date.now() / 1000) + 3600) };
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
        `  ${bundle.name.padEnd(16)} ${(((seen.get(file) ?? 0) / 1024).toFixed(0) + ' KB').padStart(7)}   cold start ${total.toFixed(0).padStart(4)} ms (${range}; import ${load.toFixed(0)} ms, first event ${serve.toFixed(0)} ms: ${outcome}${(await bundle.note?.()) ?? ''})`,
      );
    }
    report(`Lambda bundles (minified) and cold starts (a fresh Node.js 22 process importing the bundle and serving one event: the median of ${COLD_RUNS} runs after one warm-up, and their range; every one on its success path: the API on a task of the caller, the workflow functions and the broker each on a task of their own, the reconciler on the tasks the runs before it left, all too young to act on):`);
    for (const row of rows) report(row);
  } finally {
    aws.close();
    await stack.close();
    await rm(out, { recursive: true, force: true });
  }
}
