/**
 * The local stack: the same handlers as in AWS behind a stand-in for API Gateway, with embedded
 * DynamoDB (dynalite) and S3 (s3rver). Tasks persist under the data directory across restarts,
 * or live in memory when no directory is given.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { s3Client, type AwsConfig } from '../adapters/aws-clients.js';
import type { TaskStore } from '../ports/task-store.js';
import { S3ObjectStore } from '../adapters/s3-object-store.js';
import { StagingTokens } from '../domain/staging-token.js';
import type { ExecutorPlatform } from '../domain/task-definition.js';
import type { WorkflowDeps } from '../workflow/deps.js';
import { httpInputAllow } from '../workflow/config.js';
import { executorStarted } from '../workflow/finalize.js';
import { reconcile, type ReconcileOutcome } from '../workflow/reconcile.js';
import { systemClock } from '../adapters/system-clock.js';
import { ulidIds } from '../adapters/ulid-ids.js';
import { serviceInfoFromEnv } from '../api/config.js';
import { admissionFromEnv } from '../domain/admission.js';
import { fargatePricesFromEnv } from '../domain/fargate.js';
import { storagePolicyFromEnv } from '../domain/storage-policy.js';
import { parseAdminClaim } from '../domain/caller.js';
import { logger } from '../api/http.js';
import type { Wiring } from '../api/wiring.js';
import { PageTokens } from '../domain/page-token.js';
import type { WorkflowPort } from '../ports/workflow.js';
import type { LogStore } from '../ports/log-store.js';
import { ServiceUnavailableError } from '../domain/errors.js';
import type { TesDeps } from '../usecases/deps.js';
import { SqliteTaskStore } from './sqlite-task-store.js';
import { createApiServer } from './http-adapter.js';
import { dashboardSite } from './dashboard-site.js';
import { BASE_PATHS } from '../api/routes.js';
import type { MachineCapacity } from './capacity.js';
import { LocalEcsRunner } from './ecs-runner.js';
import { localIssuer, type LocalIssuer } from './local-issuer.js';
import { LocalStepFunctions, UNBOUNDED_TASK_SECONDS } from './local-step-functions.js';
import { chooseRuntime, type ChosenRuntime } from './runtimes.js';
import { BubblewrapSandbox } from './bubblewrap.js';
import { StagingSandbox } from './staging-sandbox.js';
import { startStagingServer } from './staging-server.js';
import { LocalTaskDefinitions } from './task-definitions.js';
import { closeServer, listen } from './net.js';
import { alive, claim, removeOrphans } from './ownership.js';
import { ContainerSandbox } from './container-runtime.js';
import { HostFileStagingBroker } from './host-file-broker.js';
import { HostFiles, localFileDirsFromEnv } from './host-files.js';
import { localS3Credentials, startS3rver } from './s3-local.js';
import type { Credentials } from './sigv4.js';

export const LOCAL_OWNER = 'local';
export const LOCAL_BUCKET = 'tes-local';
const TABLE_NAME = 'tes-tasks';
const WORK_ROOT_PREFIX = 'tes-work-';

/** The executor platform as the local runner sees it: images are not pulled, the host stands in. */
const LOCAL_PLATFORM: ExecutorPlatform = {
  runtimeImage: 'local',
  executorUser: '1000:1000',
  logGroup: 'local',
  region: 'local',
  cluster: 'local',
  subnets: [],
  securityGroups: [],
  // The local interpreter's timers hold at most this long (Node.js setTimeout).
  longestRunSeconds: UNBOUNDED_TASK_SECONDS,
};

/** A positive number from the local stack's environment, or undefined when unset; throws naming the variable. */
function envNumber(env: Readonly<Record<string, string | undefined>>, name: string, options: { integer?: boolean; least?: number } = {}): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  const least = options.least ?? 0;
  if (!(value > 0 && value >= least) || (options.integer === true && !Number.isInteger(value))) {
    throw new Error(`${name} must be ${options.integer === true ? 'an integer' : 'a positive number'}${least > 0 ? ` of at least ${least}` : ''}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * TES_LOCAL_DISK_GB: the most disk one executor's volumes may use on this machine;
 * TES_LOCAL_PIDS_LIMIT: the most processes and threads one executor may have at once.
 */
function localLimits(env: Readonly<Record<string, string | undefined>>): { maxDiskGiB?: number; pidsLimit?: number } {
  const maxDiskGiB = envNumber(env, 'TES_LOCAL_DISK_GB');
  const pidsLimit = envNumber(env, 'TES_LOCAL_PIDS_LIMIT', { integer: true, least: 8 });
  return { ...(maxDiskGiB === undefined ? {} : { maxDiskGiB }), ...(pidsLimit === undefined ? {} : { pidsLimit }) };
}

/** How many executions may be live (running, or waiting for room in INITIALIZING) per run the machine allows. */
const LIVE_EXECUTIONS_PER_RUN = 2;

/** How many runs at most at once, by default, for each vCPU executors share. */
const RUNS_PER_CPU = 16;

/**
 * What executors may use at once here: TES_LOCAL_CPUS and TES_LOCAL_MEMORY_GB, by default this
 * machine's CPUs and its memory less 1 GiB for the stack itself; TES_LOCAL_MAX_RUNS runs at most,
 * by default 16 per vCPU (runs of tasks that asked for no resources share the CPUs).
 */
export function localCapacity(env: Readonly<Record<string, string | undefined>>): MachineCapacity {
  const cpus = envNumber(env, 'TES_LOCAL_CPUS') ?? availableParallelism();
  return {
    cpus,
    memoryMiB: (envNumber(env, 'TES_LOCAL_MEMORY_GB') ?? Math.max(1, totalmem() / 1024 ** 3 - 1)) * 1024,
    maxRuns: envNumber(env, 'TES_LOCAL_MAX_RUNS', { integer: true }) ?? Math.max(1, Math.round(RUNS_PER_CPU * cpus)),
  };
}

export interface LocalStackOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Where tasks and objects persist; undefined keeps everything in memory. */
  dataDir?: string;
  /** Replaces the local task runner (tests that only need the API). */
  workflow?: WorkflowPort;
  /** `jwt`: bearer tokens from the local issuer are required, as in the cloud; `none` (default): one local user. */
  auth?: 'none' | 'jwt';
  env?: Readonly<Record<string, string | undefined>>;
  /** Replaces how the runtime that runs executors is chosen (tests that hold it back). */
  chooseRuntime?: typeof chooseRuntime;
  /** A dashboard build to serve at `/` (npm start builds one beside its bundle); none when unset or not there. */
  dashboardDir?: string;
}

export interface LocalRuntime {
  /** What executors run in (podman, docker, bubblewrap), or none and why. */
  sandbox: string;
  /** What that runtime does not enforce here. */
  sandboxLacks: readonly string[];
  runner: LocalEcsRunner;
  /** The local Step Functions, unless the stack was given a workflow of its own. */
  workflow?: LocalStepFunctions;
}

export interface LocalStack {
  /** Base URL of the TES API, e.g. http://127.0.0.1:8000/ga4gh/tes/v1 */
  url: string;
  port: number;
  /** The local S3 and the only credentials it (and the local DynamoDB) accepts. */
  s3: { endpoint: string; bucket: string; credentials: Credentials };
  /** The token issuer, when auth is `jwt`. */
  issuer?: LocalIssuer;
  /** Where tasks are kept: SQLite in the server process, or the DynamoDB adapter on dynalite (TES_LOCAL_STORE). */
  store: 'sqlite' | 'dynamodb';
  /** The embedded DynamoDB's endpoint (table `tes-tasks`), when tasks are kept there. */
  dynamodbEndpoint?: string;
  deps: TesDeps;
  /** What the start-up reconciliation did with tasks a previous run left unfinished (it runs while the API answers). */
  reconciled: Promise<ReconcileOutcome>;
  /** What runs tasks, set up while the API already answers. */
  runtime: Promise<LocalRuntime>;
  /** The vCPUs and memory executors share here, and how many runs at most at once. */
  capacity: MachineCapacity;
  /** The dashboard's URL, when one is served. */
  dashboardUrl?: string;
  close(): Promise<void>;
}

/** Where the local issuer's key lives in a data directory. */
export function issuerKeyFile(dataDir: string): string {
  return join(dataDir, 'local-issuer.jwk');
}

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} on 127.0.0.1 is already in use; choose another with PORT (for example PORT=${port + 1} npm start)`);
    this.name = 'PortInUseError';
  }
}

/** A signing key, kept in the data directory so what it signed outlives a restart. */
async function secret(dataDir: string | undefined, name: string): Promise<Buffer> {
  if (dataDir === undefined) return randomBytes(32);
  const file = join(dataDir, name);
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  } catch {
    const secret = randomBytes(32);
    await writeFile(file, secret.toString('base64'), { mode: 0o600 });
    return secret;
  }
}

/** The local task store's file in the data directory. */
const SQLITE_FILE = 'tasks.sqlite';

/**
 * TES_LOCAL_STORE: `sqlite` (Node's SQLite in the server process; the default) or `dynamodb` (the
 * cloud's DynamoDB adapter on dynalite). A data directory that already holds dynalite's tasks and no
 * SQLite file keeps using dynalite, so an upgrade loses no task.
 */
async function chooseStore(env: Readonly<Record<string, string | undefined>>, dataDir: string | undefined): Promise<'sqlite' | 'dynamodb'> {
  const asked = env['TES_LOCAL_STORE'];
  if (asked === 'sqlite' || asked === 'dynamodb') return asked;
  if (asked !== undefined && asked !== '') throw new Error(`TES_LOCAL_STORE must be sqlite or dynamodb, not ${JSON.stringify(asked)}`);
  if (dataDir === undefined) return 'sqlite';
  const had = async (name: string) => (await stat(join(dataDir, name)).catch(() => undefined)) !== undefined;
  return (await had('dynamodb')) && !(await had(SQLITE_FILE)) ? 'dynamodb' : 'sqlite';
}

/**
 * The cloud's DynamoDB adapter on dynalite: the table brought up to date and, after a run that was
 * killed (no `closed-cleanly` mark), the index entries dynalite does not write atomically mended.
 */
async function startDynamoDbStore(dataDir: string | undefined, credentials: { accessKeyId: string; secretAccessKey: string }, cleanups: (() => Promise<void>)[]): Promise<{ store: TaskStore; endpoint: string }> {
  // Written once everything has closed (the first cleanup runs last): its absence at start means
  // the last run was killed, maybe in the middle of a write that dynalite does not make atomic.
  const closedCleanly = dataDir === undefined ? undefined : join(dataDir, 'closed-cleanly');
  let indexesAgree = false;
  // Right after the data directory's claim, so it runs last but for the claim's release.
  if (closedCleanly !== undefined) cleanups.splice(1, 0, async () => (indexesAgree ? writeFile(closedCleanly, '') : undefined));
  // Loaded only when asked for: dynalite and the DynamoDB client cost start-up time and memory.
  // Our own modules only: npm start's bundle gives a package loaded this way no named exports.
  const [{ dynamoDbClient, dynamoDbDocumentClient }, { DynamoDbTaskStore }, { ensureTaskTable, repairIndexes, startDynalite }] = await Promise.all([
    import('../adapters/aws-clients.js'),
    import('../adapters/dynamodb-task-store.js'),
    import('./dynamodb-local.js'),
  ]);
  const dynamo = await startDynalite(credentials, dataDir === undefined ? undefined : join(dataDir, 'dynamodb'));
  cleanups.push(() => dynamo.close());
  const aws: AwsConfig = { region: 'us-east-1', endpoints: { dynamodb: dynamo.endpoint }, credentials };
  const dynamoClient = dynamoDbClient(aws);
  const upgraded = await ensureTaskTable(dynamoClient, TABLE_NAME);
  if (upgraded > 0) logger.info('brought the task table of an older version up to date', { tasks: upgraded });
  if (closedCleanly !== undefined) {
    const wasClean = await rm(closedCleanly).then(() => true, () => false);
    if (!wasClean) {
      const repaired = await repairIndexes(dynamoClient, TABLE_NAME);
      if (repaired.length > 0) logger.warn('repaired the index entries of tasks the last run was killed while writing', { tasks: repaired });
    }
    indexesAgree = true;
  }
  return { store: new DynamoDbTaskStore(dynamoDbDocumentClient(aws), TABLE_NAME), endpoint: dynamo.endpoint };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const cleanups: (() => Promise<void>)[] = [];
  let runtimeStarting: Promise<unknown> | undefined;
  const closeAll = async (): Promise<void> => {
    // What the runner set up is closed with the rest, once it is set up.
    await runtimeStarting?.catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    if (options.dataDir !== undefined) {
      await mkdir(join(options.dataDir, 's3'), { recursive: true, mode: 0o700 });
      // Tasks, objects and the stand-ins' key: the user who runs the stack, and nobody else, reads them.
      await chmod(options.dataDir, 0o700);
      cleanups.push(await claim(options.dataDir));
    }
    // One key for both stand-ins, readable only by whoever runs the stack: nobody else gets in.
    const credentials = await localS3Credentials(options.dataDir);
    const storeKind = await chooseStore(options.env ?? {}, options.dataDir);
    let s3Dir = options.dataDir === undefined ? undefined : join(options.dataDir, 's3');
    if (s3Dir === undefined) {
      const tmp = await mkdtemp(join(tmpdir(), 'tes-s3-'));
      cleanups.push(() => rm(tmp, { recursive: true, force: true }));
      s3Dir = tmp;
    }
    // The S3 endpoint is ready at once (its process starts with the first connection); the runtime
    // probe takes a few hundred milliseconds, awaited when needed, while the task store opens.
    const s3Starting = startS3rver(s3Dir, LOCAL_BUCKET, credentials);
    cleanups.push(async () => (await s3Starting.catch(() => undefined))?.close());
    // A stack with a workflow of its own runs no task: it looks for no runtime.
    const choosing: Promise<ChosenRuntime> = options.workflow === undefined ? (options.chooseRuntime ?? chooseRuntime)(options.env ?? {}) : Promise.resolve({ sandbox: new BubblewrapSandbox() });
    choosing.catch(() => undefined);
    let store: TaskStore;
    let dynamodbEndpoint: string | undefined;
    if (storeKind === 'sqlite') {
      const sqlite = new SqliteTaskStore(options.dataDir === undefined ? ':memory:' : join(options.dataDir, SQLITE_FILE));
      cleanups.push(() => Promise.resolve(sqlite.close()));
      store = sqlite;
    } else {
      const dynamo = await startDynamoDbStore(options.dataDir, credentials, cleanups);
      dynamodbEndpoint = dynamo.endpoint;
      store = dynamo.store;
    }
    const s3 = await s3Starting;
    const aws: AwsConfig = { region: 'us-east-1', endpoints: { s3: s3.endpoint }, credentials };
    const objects = new S3ObjectStore(s3Client(aws), LOCAL_BUCKET);
    const stagingTokens = new StagingTokens(await secret(options.dataDir, 'staging.key'));
    // Host directories tasks may name with file:// URLs (TES_LOCAL_FILE_DIRS), never the stack's own.
    const stackDirs = [...(options.dataDir === undefined ? [] : [options.dataDir]), s3Dir];
    const storage = { ...storagePolicyFromEnv(options.env ?? {}, LOCAL_BUCKET), localDirs: await localFileDirsFromEnv(options.env ?? {}, stackDirs) };
    const capacity = localCapacity(options.env ?? {});
    // What runs tasks is set up while the API already answers: asking the container runtime about
    // this host takes a few hundred milliseconds. Until it is ready, starting a task waits for it.
    const runtime = (async (): Promise<LocalRuntime> => {
      // Task volumes and logs are scratch space: a fresh directory under the system temporary
      // directory, which every task's unprivileged uid can traverse (unlike a data directory under
      // a user's home), removed when the stack stops.
      // A stack that was killed left its own behind: removed here once its process is gone.
      const orphans = await removeOrphans(tmpdir(), WORK_ROOT_PREFIX);
      if (orphans.length > 0) logger.info('removed the scratch directories of local stacks that were killed', { directories: orphans });
      const chosen = await choosing;
      if (chosen.problem === undefined && chosen.sandbox instanceof ContainerSandbox) {
        const removed = await chosen.sandbox.removeOrphans(alive);
        if (removed.length > 0) logger.info('removed the containers of local stacks that were killed', { containers: removed });
      }
      const workRoot = await mkdtemp(join(tmpdir(), WORK_ROOT_PREFIX));
      cleanups.push(() => rm(workRoot, { recursive: true, force: true }));
      cleanups.push(await claim(workRoot));
      await mkdir(workRoot, { recursive: true, mode: 0o711 });
      await chmod(workRoot, 0o711);
      if (chosen.sandbox instanceof ContainerSandbox) await chosen.sandbox.useWorkDirectory(workRoot);
      const registry = new LocalTaskDefinitions();
      const broker = new HostFileStagingBroker(
        { store, s3: s3Client(aws), bucket: LOCAL_BUCKET, tokens: stagingTokens, clock: systemClock, storage },
        { files: await HostFiles.create([...stackDirs, workRoot]), maxDiskGiB: localLimits(options.env ?? {}).maxDiskGiB },
      );
      // Staging reaches the broker over HTTP, as from a Fargate task; it runs in bubblewrap whatever runs executors.
      const stagingServer = await startStagingServer(broker);
      cleanups.push(() => stagingServer.close());
      if (options.workflow === undefined && chosen.problem === undefined && chosen.sandbox.kind !== 'bubblewrap') {
        const staging = await BubblewrapSandbox.detect();
        if (staging !== undefined) chosen.problem = `staging runs in bubblewrap, and ${staging}`;
      }
      const runner = new LocalEcsRunner({
        definitions: registry,
        sandbox: chosen.sandbox,
        workRoot,
        onExecutorStarted: (taskId, index, at) => executorStarted({ store }, taskId, { index, at }),
        capacity,
        objects,
        ...localLimits(options.env ?? {}),
        staging: new StagingSandbox(workRoot),
        describeTask: async (taskId) => {
          const task = (await store.get(taskId))?.task;
          if (task === undefined) return { nothingToStage: false, bestEffort: false };
          return {
            nothingToStage: (task.inputs ?? []).length === 0 && (task.outputs ?? []).length === 0 && task.executors.length === 1,
            bestEffort: task.resources?.cpu_cores === undefined && task.resources?.ram_gb === undefined,
          };
        },
        stagingServer,
        broker,
      });
      const workflowDeps: WorkflowDeps = {
        store,
        objects,
        registry,
        stagingTokens,
        platform: LOCAL_PLATFORM,
        sizing: { spotAllowed: true },
        prices: fargatePricesFromEnv(options.env?.['TES_FARGATE_PRICES']),
        clock: systemClock,
        logs: runner,
        stopExecutors: (taskId) => runner.stop(taskId),
        brokerUrl: stagingServer.brokerUrl,
        ...httpInputAllow(options.env ?? {}),
      };
      const workflow = options.workflow === undefined ? new LocalStepFunctions(workflowDeps, runner, chosen.problem, LIVE_EXECUTIONS_PER_RUN * capacity.maxRuns) : undefined;
      if (workflow !== undefined) cleanups.push(() => workflow.shutdown());
      return {
        sandbox: chosen.problem === undefined ? chosen.sandbox.kind : `none: ${chosen.problem}`,
        sandboxLacks: chosen.sandbox.lacks,
        runner,
        ...(workflow === undefined ? {} : { workflow }),
      };
    })();
    runtimeStarting = runtime;
    runtime.catch((error: unknown) => logger.error('the local task runner could not start', { error: error as Error }));
    const runnerReady = (): Promise<LocalRuntime> =>
      runtime.catch((error: unknown) => {
        throw new ServiceUnavailableError(`tasks cannot run on this machine: the local task runner could not start (${(error as Error).message})`);
      });
    let readyRunner: LocalEcsRunner | undefined;
    void runtime.then((ready) => (readyRunner = ready.runner), () => undefined);
    const local = async (): Promise<LocalStepFunctions> => (await runnerReady()).workflow as LocalStepFunctions;
    const workflow: WorkflowPort = options.workflow ?? {
      ensureReady: async () => (await local()).ensureReady(),
      start: async (taskId) => (await local()).start(taskId),
      stop: async (taskId) => (await local()).stop(taskId),
      status: async (taskId) => (await local()).status(taskId),
    };
    // No task runs before the runner is ready, so until then there is no log to tail.
    const logs: LogStore = {
      tail: async (taskId, executorIndex, stream, bytes) => readyRunner?.tail(taskId, executorIndex, stream, bytes),
      location: (taskId, executorIndex, stream) => readyRunner?.location(taskId, executorIndex, stream),
    };
    const deps: TesDeps = {
      store,
      objects,
      logs,
      workflow,
      clock: systemClock,
      ids: ulidIds,
      pageTokens: new PageTokens(await secret(options.dataDir, 'page-token.key')),
      admission: admissionFromEnv(options.env ?? {}),
      serviceInfo: serviceInfoFromEnv({ TES_SERVICE_ENVIRONMENT: 'local', ...(options.env ?? {}) }),
      storage,
    };
    const startedAt = systemClock.now();
    let issuer: LocalIssuer | undefined;
    if (options.auth === 'jwt') {
      let keyDir = options.dataDir;
      if (keyDir === undefined) {
        keyDir = await mkdtemp(join(tmpdir(), 'tes-issuer-'));
        const dir = keyDir;
        cleanups.push(() => rm(dir, { recursive: true, force: true }));
      }
      issuer = await localIssuer(issuerKeyFile(keyDir));
    }
    // With auth on, TES_ADMIN_CLAIM (default groups=tes-admins) makes admins, as in the cloud.
    const adminClaim = issuer === undefined ? undefined : parseAdminClaim(options.env?.['TES_ADMIN_CLAIM']);
    const wiring: Wiring = { deps, caller: issuer === undefined ? { anonymousOwner: LOCAL_OWNER } : adminClaim === undefined ? {} : { adminClaim } };
    // The page calls this same origin's API; with tokens required, the user pastes one (npm run token).
    const site = options.dashboardDir === undefined ? undefined : dashboardSite(options.dashboardDir, { apiUrl: BASE_PATHS[0], auth: issuer === undefined ? 'none' : 'token' });
    const server = createApiServer(() => wiring, issuer === undefined ? undefined : (token) => issuer.verify(token), site);
    try {
      await listen(server, options.port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(options.port);
      throw error;
    }
    cleanups.push(() => closeServer(server));
    const port = (server.address() as AddressInfo).port;
    // Tasks the last run of the stack left unfinished: resume the queued ones, end the others. The
    // API answers meanwhile (however many there are); tasks created since the start are not touched.
    const stopReconciling = new AbortController();
    const reconciled = reconcile({ store, workflow: deps.workflow, clock: systemClock }, { graceSeconds: 0, createdBefore: startedAt, signal: stopReconciling.signal });
    reconciled.catch((error: unknown) => logger.error('the start-up reconciliation failed', { error: error as Error }));
    cleanups.push(async () => {
      stopReconciling.abort();
      await reconciled.catch(() => undefined);
    });
    return {
      url: `http://127.0.0.1:${port}/ga4gh/tes/v1`,
      port,
      s3: { endpoint: s3.endpoint, bucket: LOCAL_BUCKET, credentials },
      ...(dynamodbEndpoint === undefined ? {} : { dynamodbEndpoint }),
      store: storeKind,
      ...(issuer === undefined ? {} : { issuer }),
      deps,
      reconciled,
      runtime,
      capacity,
      ...(site === undefined ? {} : { dashboardUrl: `http://127.0.0.1:${port}/` }),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
