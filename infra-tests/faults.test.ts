/**
 * Faults: the local stack (`tsx lambdas/local/main.ts`, a child process) is killed with SIGKILL in
 * the middle of running tasks, twice, and started again on the same data directory. Every task
 * must survive and end: the ones done before a kill unchanged, the queued ones resumed and run, the
 * interrupted ones SYSTEM_ERROR with the reconciler's reason, the ones being canceled CANCELED. None
 * may disappear, none be listed twice or in two states, none gain executor logs twice, and no
 * sandboxed executor may outlive the stack that started it.
 *
 * Then the one fault a kill can leave in the data itself: dynalite writes an item's index entries
 * and the item separately, so a kill between them tears the two apart (forced here), and the next
 * start must mend them before the reconciler reads the `active` index.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteItemCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbDocumentClient } from '../lambdas/adapters/aws-clients.js';
import { DynamoDbTaskStore } from '../lambdas/adapters/dynamodb-task-store.js';
import type { TaskRecord } from '../lambdas/domain/task-record.js';
import type { TesState, TesTask } from '../lambdas/domain/tes.js';
import { ensureTaskTable, repairIndexes, startDynalite } from '../lambdas/local/dynamodb-local.js';
import type { WorkflowPort } from '../lambdas/ports/workflow.js';
import { STACK_LABEL } from '../lambdas/local/container-runtime.js';
import { chooseRuntime } from '../lambdas/local/runtimes.js';
import { launcherEnvironment } from '../lambdas/local/sandbox.js';
import { SqliteTaskStore } from '../lambdas/local/sqlite-task-store.js';
import { startTestStack } from './support/local-stack.js';
import { ensureTestImage, TEST_IMAGE } from './support/test-image.js';
import { descendants, startStackProcess, stillRunning, type ProcessInfo, type StackProcess } from './support/stack-process.js';
import { TesHttp, type Reply } from './support/target.js';
import { RUN_ID, task, TERMINAL_STATES } from './support/tasks.js';

const TABLE = 'tes-tasks';
/** What the test's own dynalite accepts (the stack's S3 accepts only the key in its data directory). */
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

let base: string;
let dataDir: string;
/** The task store the killed stacks keep their tasks in (both are killed in turn). */
let store: 'dynamodb' | 'sqlite' = 'dynamodb';
let tmpDir: string;
const started: StackProcess[] = [];

beforeAll(async () => {
  // The stack's scratch space (TMPDIR) lives here too, so what a kill leaves behind can be counted and removed.
  base = await mkdtemp(join(tmpdir(), 'tes-faults-'));
  await chmod(base, 0o711);
  dataDir = join(base, 'data');
  tmpDir = join(base, 'tmp');
  await mkdir(tmpDir, { mode: 0o711 });
  await chmod(tmpDir, 0o711);
});

afterAll(async () => {
  for (const stack of started) await stack.kill().catch(() => undefined);
  await rm(base, { recursive: true, force: true });
});

function client(stack: StackProcess): TesHttp {
  return new TesHttp({ url: stack.url, root: stack.url.replace(/\/ga4gh\/tes\/v1$/, ''), headers: {}, close: () => Promise.resolve() });
}

/** The runtime `npm start` picks here, with the test image built into it when it is a container runtime. */
const runtime = (await chooseRuntime(process.env)).sandbox.kind;
if (runtime === 'podman' || runtime === 'docker') await ensureTestImage(runtime);

/** The containers a stack process started that still exist. */
async function stackContainers(pid: number): Promise<string[]> {
  if (runtime !== 'podman' && runtime !== 'docker') return [];
  const { stdout } = await promisify(execFile)(runtime, ['ps', '--all', '--quiet', '--filter', `label=${STACK_LABEL}=${pid}`], { env: launcherEnvironment() });
  return stdout.split('\n').filter((line) => line.trim() !== '');
}

async function start(): Promise<StackProcess> {
  // Four executors at once whatever the machine (the kills should find several running).
  const stack = await startStackProcess({ dataDir, tmpDir, env: { TES_LOCAL_CPUS: '4', TES_LOCAL_STORE: store } });
  started.push(stack);
  return stack;
}

interface Submitted {
  id: string;
  kind: 'quick' | 'content' | 'multi' | 'sleep' | 'canceled' | 'burst';
  executors: number;
  cycle: number;
  /** The FULL view read before the kill, for tasks that had ended by then. */
  before?: TesTask;
  /** Its state in the data directory at the kill. */
  atKill?: TesState;
  output?: string;
}

/** The tasks' states as the data directory holds them while no stack runs, and whether the indexes agree with the items. */
async function inspect(): Promise<{ states: Map<string, TesState>; torn: string[] }> {
  if (store === 'sqlite') {
    // SQLite's own check of its tables and indexes, and every task read through its index and by key.
    const sqlite = new SqliteTaskStore(join(dataDir, 'tasks.sqlite'));
    try {
      const torn = sqlite.integrityProblems();
      const listed = (await sqlite.listSummaries({ limit: 100_000 })).entries;
      for (const entry of listed) if ((await sqlite.get(entry.id))?.state !== entry.state) torn.push(entry.id);
      return { states: new Map(listed.map((entry) => [entry.id, entry.state])), torn };
    } finally {
      sqlite.close();
    }
  }
  const dynamo = await startDynalite(credentials, join(dataDir, 'dynamodb'));
  try {
    const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials });
    const doc = DynamoDBDocumentClient.from(raw);
    const scan = async (indexName?: string): Promise<Record<string, unknown>[]> => {
      const all: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(new ScanCommand({ TableName: TABLE, ...(indexName ? { IndexName: indexName } : {}), ...(start ? { ExclusiveStartKey: start } : {}) }));
        all.push(...(out.Items ?? []));
        start = out.LastEvaluatedKey;
      } while (start !== undefined);
      return all;
    };
    const items = new Map((await scan()).map((item) => [item['pk'] as string, item]));
    const torn = new Set<string>();
    const { Table: table } = await raw.send(new DescribeTableCommand({ TableName: TABLE }));
    for (const index of table?.GlobalSecondaryIndexes ?? []) {
      const key = index.KeySchema?.[0]?.AttributeName as string;
      const seen = new Set<string>();
      for (const entry of await scan(index.IndexName)) {
        const item = items.get(entry['pk'] as string);
        if (item === undefined || item[key] !== entry[key] || ('state' in entry && item['state'] !== entry['state'])) torn.add(entry['pk'] as string);
        else seen.add(entry['pk'] as string);
      }
      for (const [id, item] of items) if (item[key] !== undefined && !seen.has(id)) torn.add(id);
    }
    return { states: new Map([...items].map(([id, item]) => [id, item['state'] as TesState])), torn: [...torn] };
  } finally {
    await dynamo.close();
  }
}

async function listAll(tes: TesHttp, query: string): Promise<TesTask[]> {
  const tasks: TesTask[] = [];
  let token: string | undefined;
  for (let page = 0; page < 1000; page += 1) {
    const reply: Reply<{ tasks: TesTask[]; next_page_token?: string }> = await tes.get(
      `/tasks?page_size=7&${query}${token === undefined ? '' : `&page_token=${encodeURIComponent(token)}`}`,
    );
    expect(reply.status, reply.text).toBe(200);
    tasks.push(...reply.body.tasks);
    token = reply.body.next_page_token;
    if (token === undefined || token === '') return tasks;
  }
  throw new Error('ListTasks never ended');
}

const QUICK = 4;
const SLEEPERS = 5;

describe.each(['dynamodb', 'sqlite'] as const)('killing the local stack (SIGKILL) in the middle of running tasks, tasks kept in %s', (kind) => {
  beforeAll(() => {
    store = kind;
    dataDir = join(base, `data-${kind}`);
  });

  it('loses no task, reports none twice, and ends or resumes every one', async () => {
    const began = Date.now();
    const submitted = new Map<string, Submitted>();
    const totals = { lost: 0, duplicated: 0, phantom: 0, twoStates: 0, sandboxed: 0, survivors: 0, containers: 0, torn: 0, kills: 0 };
    const atKills: Record<string, number>[] = [];

    const submit = async (tes: TesHttp, kind: Submitted['kind'], cycle: number, body: TesTask, extra: Partial<Submitted> = {}) => {
      const reply = await tes.post<{ id: string }>('/tasks', body);
      expect(reply.status, reply.text).toBe(200);
      const entry: Submitted = { id: reply.body.id, kind, cycle, executors: body.executors.length, ...extra };
      submitted.set(entry.id, entry);
      return entry;
    };
    const full = async (tes: TesHttp, id: string) => tes.get<TesTask>(`/tasks/${id}?view=FULL`);

    /** One cycle: tasks in every state, then SIGKILL with sandboxes running; returns what the data directory held at the kill. */
    const runAndKill = async (stack: StackProcess, cycle: number) => {
      const tes = client(stack);
      // Done before the kill: echoes, and content in → S3 out.
      const done: Submitted[] = [];
      for (let i = 0; i < QUICK; i += 1) {
        done.push(await submit(tes, 'quick', cycle, task({ name: `quick-${cycle}-${i}`, executors: [{ image: TEST_IMAGE, command: ['echo', `quick-${cycle}-${i}`] }] })));
      }
      for (let i = 0; i < 2; i += 1) {
        const output = `users/local/faults/${RUN_ID}/${cycle}-${i}.txt`;
        done.push(
          await submit(
            tes,
            'content',
            cycle,
            task({
              name: `content-${cycle}-${i}`,
              inputs: [{ path: '/data/in.txt', content: `hello faults ${cycle}-${i}\n`, type: 'FILE' }],
              outputs: [{ path: '/data/out.txt', url: `s3://tes-local/${output}`, type: 'FILE' }],
              executors: [{ image: TEST_IMAGE, command: ['sh', '-c', 'tr a-z A-Z < /data/in.txt > /data/out.txt'] }],
            }),
            { output },
          ),
        );
      }
      const deadline = Date.now() + 30_000;
      for (const entry of done) {
        for (;;) {
          const reply = await full(tes, entry.id);
          if (TERMINAL_STATES.includes(reply.body.state ?? '')) {
            expect(reply.body.state, reply.text).toBe('COMPLETE');
            entry.before = reply.body;
            break;
          }
          if (Date.now() > deadline) throw new Error(`task ${entry.id} did not end before the kill: ${reply.text}`);
          await sleep(100);
        }
      }
      // Running at the kill (the stack runs 4 executors at once here, TES_LOCAL_CPUS=4, so some wait in INITIALIZING).
      const sleepers: Submitted[] = [];
      for (let i = 0; i < SLEEPERS; i += 1) {
        sleepers.push(await submit(tes, 'sleep', cycle, task({ name: `sleep-${cycle}-${i}`, executors: [{ image: TEST_IMAGE, command: ['sleep', '30'] }] })));
      }
      for (let i = 0; i < 2; i += 1) {
        await submit(
          tes,
          'multi',
          cycle,
          task({
            name: `multi-${cycle}-${i}`,
            executors: [
              { image: TEST_IMAGE, command: ['echo', 'first'] },
              { image: TEST_IMAGE, command: ['sleep', '2'] },
              { image: TEST_IMAGE, command: ['echo', 'third'] },
            ],
          }),
        );
      }
      // Two sleepers running at the kill; on a busy machine they may take a while to get there.
      const runningBy = Date.now() + 90_000;
      let runningNow = 0;
      while (runningNow < 2) {
        const states = await Promise.all(sleepers.map(async (s) => (await tes.get<TesTask>(`/tasks/${s.id}`)).body.state));
        runningNow = states.filter((s) => s === 'RUNNING').length;
        if (Date.now() > runningBy) throw new Error(`no two sleepers were RUNNING within 90 s: ${states.join(', ')}`);
        if (runningNow < 2) await sleep(100);
      }
      // Being canceled at the kill: the cancel is sent, not waited for.
      const running = (await Promise.all(sleepers.map(async (s) => ({ s, state: (await tes.get<TesTask>(`/tasks/${s.id}`)).body.state }))))
        .filter((x) => x.state === 'RUNNING')
        .slice(0, 2);
      for (const { s } of running) s.kind = 'canceled';
      // What runs now, before the cancels, which may end the two sandboxes they aim at before the kill.
      const before = descendants(stack.pid);
      const cancels = running.map(({ s }) => tes.post(`/tasks/${s.id}:cancel`).catch(() => undefined));
      // Queued at the kill: created (the client has their ids) a moment before it.
      await Promise.all(
        [0, 1, 2].map((i) => submit(tes, 'burst', cycle, task({ name: `burst-${cycle}-${i}`, executors: [{ image: TEST_IMAGE, command: ['echo', `burst-${cycle}-${i}`] }] }))),
      );

      const processes = [...before, ...descendants(stack.pid).filter((p) => !before.some((b) => b.pid === p.pid))];
      const sandboxes = processes.filter((p) => p.command.includes('bwrap') || / run --name=tes-/.test(p.command));
      await stack.kill();
      totals.kills += 1;
      await Promise.all(cancels);

      // Nothing the stack started may run on: bubblewrap dies with its parent (--die-with-parent), and its PID namespace with it.
      let survivors: ProcessInfo[] = processes.filter(stillRunning);
      for (let i = 0; i < 50 && survivors.length > 0; i += 1) {
        await sleep(100);
        survivors = survivors.filter(stillRunning);
      }
      totals.sandboxed += sandboxes.length;
      totals.survivors += survivors.length;
      expect(sandboxes.length, 'sandboxes were running at the kill').toBeGreaterThan(0);
      expect(survivors.map((p) => `${p.pid} ${p.command}`)).toEqual([]);
      // Containers are the runtime's children, not the stack's: its sentinel removes them once the stack is gone.
      let containers = await stackContainers(stack.pid);
      for (let i = 0; i < 100 && containers.length > 0; i += 1) {
        await sleep(100);
        containers = await stackContainers(stack.pid);
      }
      totals.containers += containers.length;
      expect(containers, 'containers still running 10 s after the kill').toEqual([]);

      const { states, torn } = await inspect();
      totals.torn += torn.length;
      const counts: Record<string, number> = {};
      for (const entry of submitted.values()) {
        if (entry.cycle !== cycle) continue;
        const state = states.get(entry.id);
        if (state === undefined) continue;
        entry.atKill = state;
        counts[state] = (counts[state] ?? 0) + 1;
      }
      atKills.push(counts);
      return states;
    };

    /** After a restart: every task there, ending as its state at the kill says, listed once in one state. */
    const verify = async (stack: StackProcess, states: Map<string, TesState>) => {
      const tes = client(stack);
      // What the reconciler said it did matches what the data directory held.
      const expected = { resumed: 0, ended: 0, canceled: 0 };
      for (const state of states.values()) {
        if (state === 'QUEUED') expected.resumed += 1;
        else if (state === 'CANCELING') expected.canceled += 1;
        else if (!TERMINAL_STATES.includes(state)) expected.ended += 1;
      }
      expect(await stack.leftByLastRun()).toBe(
        `${expected.resumed} resumed, ${expected.ended} ended SYSTEM_ERROR, ${expected.canceled} canceled`,
      );

      const after = new Map<string, TesTask>();
      const deadline = Date.now() + 60_000;
      for (const entry of submitted.values()) {
        for (;;) {
          const reply = await full(tes, entry.id);
          if (reply.status === 404) {
            totals.lost += 1;
            break;
          }
          expect(reply.status, reply.text).toBe(200);
          if (TERMINAL_STATES.includes(reply.body.state ?? '')) {
            after.set(entry.id, reply.body);
            break;
          }
          if (Date.now() > deadline) throw new Error(`task ${entry.id} (${entry.kind}, ${entry.atKill} at the kill) never ended: ${reply.text}`);
          await sleep(100);
        }
      }

      for (const entry of submitted.values()) {
        const now = after.get(entry.id);
        if (now === undefined) continue;
        const context = `${entry.kind} task ${entry.id}, ${entry.atKill} at the kill: ${JSON.stringify(now)}`;
        // No executor ran twice, no attempt was logged twice.
        const executorLogs = (now.logs ?? []).reduce((sum, log) => sum + log.logs.length, 0);
        const reconcilerLines = (now.logs ?? []).flatMap((log) => log.system_logs ?? []).filter((line) => /reconciler/.test(line)).length;
        if ((now.logs ?? []).length > 1 || executorLogs > entry.executors || reconcilerLines > 1) totals.duplicated += 1;
        if (entry.before !== undefined) {
          expect(now, context).toEqual(entry.before);
        } else if (entry.atKill === 'QUEUED') {
          if (entry.kind === 'burst') expect(now.state, context).toBe('COMPLETE');
          expect(reconcilerLines, context).toBe(0);
        } else if (entry.atKill === 'CANCELING' || entry.atKill === 'CANCELED') {
          expect(now.state, context).toBe('CANCELED');
        } else if (entry.atKill !== undefined && !TERMINAL_STATES.includes(entry.atKill)) {
          expect(now.state, context).toBe('SYSTEM_ERROR');
          expect(now.logs?.at(-1)?.system_logs?.join('\n'), context).toMatch(/reconciler ended it/);
        }
        if (entry.kind === 'burst' && entry.atKill !== undefined && TERMINAL_STATES.includes(entry.atKill)) expect(now.state, context).toBe('COMPLETE');
        if (entry.kind === 'canceled') expect(['CANCELED', 'SYSTEM_ERROR'], context).toContain(now.state);
        if (entry.kind === 'quick' || entry.kind === 'burst') {
          if (now.state === 'COMPLETE') expect(now.logs?.[0]?.logs[0]?.stdout, context).toBe(`${now.name ?? ''}\n`);
        }
      }

      // Outputs uploaded before the kill are still in S3.
      const stackCredentials = JSON.parse(await readFile(join(dataDir, 's3-credentials.json'), 'utf8')) as typeof credentials;
      const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.s3Endpoint, forcePathStyle: true, credentials: stackCredentials });
      for (const entry of submitted.values()) {
        if (entry.output === undefined) continue;
        const object = await s3.send(new GetObjectCommand({ Bucket: 'tes-local', Key: entry.output }));
        expect(await object.Body?.transformToString('utf8')).toBe(`HELLO FAULTS ${entry.output.replace(/^.*\/(\d+-\d+)\.txt$/, '$1')}\n`);
      }

      // Listed exactly once, in the state GetTask reports, and under no other state.
      const listed = new Map<string, number>();
      for (const view of ['MINIMAL', 'BASIC']) {
        const seen = new Map<string, number>();
        for (const t of await listAll(tes, `view=${view}`)) {
          seen.set(t.id as string, (seen.get(t.id as string) ?? 0) + 1);
          const got = after.get(t.id as string);
          if (got === undefined) {
            if ((await tes.get(`/tasks/${t.id}`)).status === 404) totals.phantom += 1;
          } else if (t.state !== got.state) {
            totals.twoStates += 1;
          }
        }
        for (const [id, n] of seen) listed.set(id, Math.max(listed.get(id) ?? 0, n));
        for (const id of submitted.keys()) if (!seen.has(id)) totals.lost += 1;
      }
      for (const n of listed.values()) if (n > 1) totals.duplicated += 1;
      const underStates = new Map<string, TesState[]>();
      for (const state of ['QUEUED', 'INITIALIZING', 'RUNNING', 'CANCELING', ...TERMINAL_STATES] as TesState[]) {
        for (const t of await listAll(tes, `state=${state}`)) underStates.set(t.id as string, [...(underStates.get(t.id as string) ?? []), state]);
      }
      for (const [id, now] of after) {
        const under = underStates.get(id) ?? [];
        if (under.length !== 1 || under[0] !== now.state) totals.twoStates += 1;
      }
      // From now on these are ended tasks, which no later kill may change.
      for (const [id, now] of after) (submitted.get(id) as Submitted).before = now;
      return after;
    };

    let stack = await start();
    let states = await runAndKill(stack, 1);
    stack = await start();
    await verify(stack, states);
    states = await runAndKill(stack, 2);
    stack = await start();
    const final = await verify(stack, states);
    await stack.stop();
    // Stopped cleanly now: the indexes agree with the tasks (the restart mended any entry a kill tore).
    const { torn } = await inspect();
    expect(torn).toEqual([]);

    const leftovers = (await readdir(tmpDir)).filter((name) => name.startsWith('tes-work-')).length;
    const terminal = [...final.values()].filter((t) => TERMINAL_STATES.includes(t.state ?? '')).length;
    const byState = (counts: Record<string, number>) => Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ');
    console.log(
      `faults (${store}): ${submitted.size} tasks across ${totals.kills} kills; lost ${totals.lost}, duplicated ${totals.duplicated}, terminal ${terminal}` +
        `; in two states ${totals.twoStates}, phantoms ${totals.phantom}; at the kills: ${atKills.map((c, i) => `#${i + 1} ${byState(c)}`).join('; ')}` +
        `; sandbox processes at the kills ${totals.sandboxed}, still running after ${totals.survivors}, containers left ${totals.containers} (${runtime}); index entries torn by the kills ${totals.torn}` +
        `; scratch directories left by the kills ${leftovers}; ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
    expect(totals.lost).toBe(0);
    expect(totals.duplicated).toBe(0);
    expect(totals.twoStates).toBe(0);
    expect(totals.phantom).toBe(0);
    expect(terminal).toBe(submitted.size);
  }, 180_000);
});

/** Makes dynalite's next writes stop after the index entries, as a kill between the two writes would. */
function tearWrites(): { tear(on: boolean): void; restore(): void } {
  const require = createRequire(import.meta.url);
  const db = require(join(dirname(require.resolve('dynalite')), 'db', 'index.js')) as {
    updateIndexes: (store: unknown, table: unknown, existing: unknown, item: unknown, cb: (err?: unknown) => void) => void;
  };
  const original = db.updateIndexes;
  let tearing = false;
  db.updateIndexes = (store, table, existing, item, cb) =>
    original(store, table, existing, item, (err) => {
      if (err !== undefined && err !== null) return cb(err);
      if (!tearing) return cb();
      cb(Object.assign(new Error('killed'), { statusCode: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message: 'killed before the item was written' } }));
    });
  return { tear: (on) => (tearing = on), restore: () => (db.updateIndexes = original) };
}

const FINISHING = '01aaaaaaaaaaaaaaaaaaaaaaaa';
const STARTING = '01bbbbbbbbbbbbbbbbbbbbbbbb';
const NEVER_STORED = '01cccccccccccccccccccccccc';

/** A data directory in which three writes were torn as a kill tears them, left as the kill leaves it. */
async function tornDataDirectory(dir: string): Promise<void> {
  const tear = tearWrites();
  const dynamo = await startDynalite(credentials, join(dir, 'dynamodb'));
  try {
    const aws = { region: 'us-east-1', endpoints: { dynamodb: dynamo.endpoint }, credentials };
    await ensureTaskTable(new DynamoDBClient({ region: aws.region, endpoint: dynamo.endpoint, credentials }), TABLE);
    const store = new DynamoDbTaskStore(dynamoDbDocumentClient(aws), TABLE);
    const record = (id: string): TaskRecord => ({
      id,
      owner: 'local',
      state: 'QUEUED',
      version: 1,
      creationTime: '2024-01-01T00:00:00.000Z',
      task: { name: id, executors: [{ image: TEST_IMAGE, command: ['true'] }] },
      logs: [],
    });
    let finishing = record(FINISHING);
    await store.create(finishing);
    finishing = await store.changeState(finishing, { to: 'INITIALIZING' });
    finishing = await store.changeState(finishing, { to: 'RUNNING' });
    const starting = record(STARTING);
    await store.create(starting);

    tear.tear(true);
    // RUNNING → COMPLETE torn: the task left the `active` index but its item still says RUNNING.
    await expect(store.changeState(finishing, { to: 'COMPLETE' })).rejects.toThrow();
    // QUEUED → INITIALIZING torn: the listing says INITIALIZING, the task QUEUED.
    await expect(store.changeState(starting, { to: 'INITIALIZING' })).rejects.toThrow();
    // CreateTask torn: index entries of a task that was never stored.
    await expect(store.create(record(NEVER_STORED))).rejects.toThrow();
    tear.tear(false);
    // The reconciler reads `active`: the RUNNING task is not there, a task that does not exist is.
    expect((await store.listActive()).ids).toEqual([STARTING, NEVER_STORED]);
    expect((await store.listSummaries({ owner: 'local', limit: 10 })).entries.map((e) => `${e.id} ${e.state}`)).toEqual([
      `${NEVER_STORED} QUEUED`,
      `${STARTING} INITIALIZING`,
      `${FINISHING} COMPLETE`,
    ]);
  } finally {
    tear.restore();
    await dynamo.close();
  }
}

/** Runs the index repair on the data directory, killed (it stops dead) before its write number `writes` + 1; true if it finished first. */
async function repairKilledAfter(dir: string, writes: number): Promise<boolean> {
  const dynamo = await startDynalite(credentials, join(dir, 'dynamodb'));
  try {
    const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials });
    let written = 0;
    const killing = {
      send: (command: unknown) => {
        if ((command instanceof PutItemCommand || command instanceof DeleteItemCommand) && ++written > writes) return Promise.reject(new Error('killed'));
        return raw.send(command as PutItemCommand);
      },
    } as unknown as DynamoDBClient;
    return await repairIndexes(killing, TABLE).then(
      () => true,
      (error: Error) => {
        if (error.message !== 'killed') throw error;
        return false;
      },
    );
  } finally {
    await dynamo.close();
  }
}

describe('a write the kill tore in two', () => {
  it('is mended at the next start (even one killed while mending it), so the reconciler still sees the task and no list shows what is not there', async () => {
    // No kill during the repair, then a kill before each of the repair's own writes in turn.
    let crashPoints = 0;
    for (let writes = -1; ; writes += 1) {
      const dir = await mkdtemp(join(tmpdir(), 'tes-faults-torn-'));
      try {
        await tornDataDirectory(dir);
        if (writes >= 0 && (await repairKilledAfter(dir, writes))) break;
        if (writes >= 0) crashPoints += 1;
        const started: string[] = [];
        const workflow: WorkflowPort = {
          start: (id) => Promise.resolve(void started.push(id)),
          stop: () => Promise.resolve('stopped'),
          status: () => Promise.resolve('absent'),
        };
        const stack = await startTestStack({ port: 0, dataDir: dir, workflow, env: { TES_LOCAL_STORE: 'dynamodb' } });
        try {
          const context = writes < 0 ? 'torn' : `torn, then the repair killed after ${writes} writes`;
          const reconciled = await stack.reconciled;
          expect(reconciled.ended, context).toEqual([FINISHING]);
          expect(reconciled.resumed, context).toEqual([STARTING]);
          expect(started, context).toEqual([STARTING]);
          const tes = new TesHttp({ url: stack.url, root: '', headers: {}, close: () => Promise.resolve() });
          const listed = (await tes.get<{ tasks: TesTask[] }>('/tasks')).body.tasks.map((t) => `${t.id} ${t.state}`);
          expect(listed, context).toEqual([`${STARTING} QUEUED`, `${FINISHING} SYSTEM_ERROR`]);
          for (const state of ['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETE', 'SYSTEM_ERROR']) {
            const under = (await tes.get<{ tasks: TesTask[] }>(`/tasks?state=${state}`)).body.tasks.map((t) => t.id);
            expect(under, `${context}: listed as ${state}`).toEqual(state === 'QUEUED' ? [STARTING] : state === 'SYSTEM_ERROR' ? [FINISHING] : []);
          }
          const ended = await tes.get<TesTask>(`/tasks/${FINISHING}?view=FULL`);
          expect(ended.body.logs?.at(-1)?.system_logs?.join('\n'), context).toMatch(/while the task was RUNNING; the reconciler ended it/);
          const queued = await tes.get<TesTask>(`/tasks/${STARTING}?view=FULL`);
          expect(queued.body, context).toMatchObject({ id: STARTING, state: 'QUEUED', name: STARTING, executors: [{ command: ['true'] }] });
          expect((await tes.get(`/tasks/${NEVER_STORED}`)).status, context).toBe(404);
          expect((await stack.deps.store.listActive()).ids, context).toEqual([STARTING]);
        } finally {
          await stack.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    console.log(`faults: 3 torn writes mended at the next start, also after the mending was killed before each of its ${crashPoints} writes in turn`);
    expect(crashPoints).toBeGreaterThan(5);
  }, 120_000); // fourteen starts of the stack, one after another
});
