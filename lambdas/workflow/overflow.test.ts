/**
 * Outputs and logs of any size: what a run reports goes through Record into the task's item (on
 * dynalite, which refuses items over DynamoDB's 400 KB) and what does not fit lives in the bucket;
 * GetTask and ListTasks read it all back, checked against the hashes the item keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealReport } from '../adapters/s3-staging-broker.js';
import { LOGS_ITEM_BYTES, outputPageKey, reportKey, sha256Hex, spilledLogKey, type OutputPage } from '../domain/output-list.js';
import { PageTokens } from '../domain/page-token.js';
import { StagingTokens } from '../domain/staging-token.js';
import type { RunPlan } from '../domain/task-definition.js';
import type { TaskRecord } from '../domain/task-record.js';
import type { TesOutputFileLog, TesTask } from '../domain/tes.js';
import type { StageReport } from '../ports/staging.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { MemoryObjects } from '../testing/memory-objects.js';
import type { TesDeps } from '../usecases/deps.js';
import { getTask } from '../usecases/get-task.js';
import { listTasks } from '../usecases/list-tasks.js';
import type { WorkflowDeps } from './deps.js';
import { record } from './record.js';

let table: TestTable;
let objects: MemoryObjects;
let deps: WorkflowDeps;
let api: TesDeps;
const tokens = new StagingTokens(Buffer.alloc(32, 5));
const alice = { owner: 'alice', admin: false };

beforeAll(async () => {
  table = await startTestTable('tes-overflow');
  objects = new MemoryObjects();
  deps = {
    store: table.store,
    objects,
    registry: { ensure: () => Promise.resolve('arn') },
    stagingTokens: tokens,
    platform: { runtimeImage: 'r', executorUser: '1000:1000', logGroup: 'g', region: 'r', cluster: 'c', subnets: [], securityGroups: [] },
    sizing: { spotAllowed: true },
    clock: { now: () => new Date() },
    // Every executor's tails are the full 10 KB the item would hold of them.
    logs: {
      tail: (_id, index, stream) => Promise.resolve(`${stream} of executor ${index} `.padEnd(10 * 1024, stream === 'stdout' ? 'o' : 'e')),
      location: (id, index, stream) => `/aws/ecs/tes-executors:executor/${id}/${index}/${stream}/${'0'.repeat(32)}`,
    },
  };
  api = {
    store: table.store,
    objects,
    workflow: { start: () => Promise.resolve(), stop: () => Promise.resolve('stopped'), status: () => Promise.resolve(undefined) } as unknown as TesDeps['workflow'],
    clock: { now: () => new Date() },
    ids: { next: () => 'unused' },
    serviceInfo: {} as TesDeps['serviceInfo'],
    pageTokens: new PageTokens(Buffer.alloc(32, 6)),
  };
});
afterAll(async () => {
  await table.close();
});

let n = 0;
async function running(task: TaskRecord['task']): Promise<TaskRecord> {
  n += 1;
  const stored: TaskRecord = {
    id: `01ov${String(n).padStart(8, '0')}`,
    owner: 'alice',
    state: 'RUNNING',
    version: 1,
    creationTime: new Date().toISOString(),
    task,
    logs: [{ logs: [], outputs: [] }],
  };
  await table.store.create(stored);
  return stored;
}

const plan = { taskDefinition: 'td', capacityProviderStrategy: [], timeoutSeconds: 600, overrides: {} } as unknown as RunPlan;
const ecs = (exitCode: number) => ({
  StartedAt: '2026-01-01T00:00:00Z',
  StoppedAt: '2026-01-01T00:00:30Z',
  Containers: [{ Name: 'stage-in', ExitCode: 0 }, { Name: 'executor', ExitCode: exitCode }, { Name: 'stage-out', ExitCode: 0 }],
});

function seal(id: string, index: number, stageIn: StageReport, stageOut: StageReport): void {
  objects.objects.set(reportKey(id, index, 'stage-in'), sealReport(tokens, id, index, 'stage-in', stageIn));
  objects.objects.set(reportKey(id, index, 'stage-out'), sealReport(tokens, id, index, 'stage-out', stageOut));
}

/** A long output list as the broker keeps it: pages in the bucket, their counts and hashes in the report. */
function keepPages(id: string, index: number, files: TesOutputFileLog[], perPage: number): OutputPage[] {
  const pages: OutputPage[] = [];
  for (let start = 0; start < files.length; start += perPage) {
    const body = JSON.stringify(files.slice(start, start + perPage));
    objects.objects.set(outputPageKey(id, index, pages.length), body);
    pages.push({ count: Math.min(perPage, files.length - start), sha256: sha256Hex(body) });
  }
  return pages;
}

const filesOf = (count: number, width = 0): TesOutputFileLog[] =>
  Array.from({ length: count }, (_, i) => ({ url: `s3://b/users/alice/out/${'d'.repeat(width)}f${i}`, path: `/out/${'d'.repeat(width)}f${i}`, size_bytes: String(i) }));

describe('a task with 10,000 output files', () => {
  it('completes with its item pointing at the list, and GetTask reads every file back in one response, in order', async () => {
    const task = await running({ executors: [{ image: 'a', command: ['b'] }], outputs: [{ path: '/out', url: 's3://b/users/alice/out', type: 'DIRECTORY' }] });
    const files = filesOf(10_000);
    seal(task.id, 0, { ok: true, warnings: [] }, { ok: true, warnings: [], outputs: [], outputPages: keepPages(task.id, 0, files, 1000), outputCount: 10_000, outputBytes: 1 });
    await record(deps, { taskId: task.id, index: 0, runs: [plan], ecs: ecs(0) });
    const stored = await table.store.get(task.id);
    expect(stored?.outputList).toMatchObject({ attempt: 0, executor: 0, count: 10_000 });
    expect(stored?.logs[0]?.outputs).toEqual([]);
    for (const view of ['BASIC', 'FULL'] as const) {
      const shown = await getTask(api, alice, task.id, view);
      expect(shown.logs?.[0]?.outputs).toEqual(files);
      expect(shown.logs?.[0]?.metadata).toMatchObject({ outputs_total: '10000' });
      expect(shown.logs?.[0]?.metadata?.['outputs_next']).toBeUndefined();
    }
  });

  it('pages a list larger than a response: outputs_next leads to outputs_from, and the pages add up to the whole list', async () => {
    // 30,000 files with 200-character names: about 13 MB of JSON, three responses' worth.
    const task = await running({ executors: [{ image: 'a', command: ['b'] }], outputs: [{ path: '/out', url: 's3://b/users/alice/out', type: 'DIRECTORY' }] });
    const files = filesOf(30_000, 200);
    seal(task.id, 0, { ok: true, warnings: [] }, { ok: true, warnings: [], outputs: [], outputPages: keepPages(task.id, 0, files, 1000), outputCount: 30_000, outputBytes: 1 });
    await record(deps, { taskId: task.id, index: 0, runs: [plan], ecs: ecs(0) });
    const read: TesOutputFileLog[] = [];
    let from: number | undefined = 0;
    let calls = 0;
    while (from !== undefined) {
      const shown: TesTask = await getTask(api, alice, task.id, 'BASIC', from);
      calls += 1;
      expect(Buffer.byteLength(JSON.stringify(shown))).toBeLessThan(6 * 1024 * 1024);
      read.push(...(shown.logs?.[0]?.outputs ?? []));
      const next = shown.logs?.[0]?.metadata?.['outputs_next'];
      from = next === undefined ? undefined : Number(next);
    }
    expect(calls).toBeGreaterThan(2);
    expect(read).toEqual(files);
    // A listing shows what the item holds and says where GetTask goes on.
    const listed = (await listTasks(api, alice, { view: 'BASIC', pageSize: 256, tags: [] })).response.tasks.find((t) => t.id === task.id);
    expect(listed?.logs?.[0]?.metadata).toMatchObject({ outputs_total: '30000', outputs_next: '0' });
  });

  it('shows no file of a page changed in the bucket, and says so', async () => {
    const task = await running({ executors: [{ image: 'a', command: ['b'] }], outputs: [{ path: '/out', url: 's3://b/users/alice/out', type: 'DIRECTORY' }] });
    const files = filesOf(3000);
    seal(task.id, 0, { ok: true, warnings: [] }, { ok: true, warnings: [], outputs: [], outputPages: keepPages(task.id, 0, files, 1000), outputCount: 3000, outputBytes: 1 });
    await record(deps, { taskId: task.id, index: 0, runs: [plan], ecs: ecs(0) });
    objects.objects.set(outputPageKey(task.id, 0, 1), JSON.stringify([{ url: 's3://someone-else/secret', path: '/x', size_bytes: '1' }]));
    const shown = await getTask(api, alice, task.id, 'BASIC');
    expect(shown.logs?.[0]?.outputs).toEqual(files.slice(0, 1000));
    expect(shown.logs?.[0]?.metadata?.['outputs_unavailable']).toBe('part of the output list was changed in the bucket');
    // A report changed after Record read it hides the whole list.
    objects.objects.set(reportKey(task.id, 0, 'stage-out'), sealReport(tokens, task.id, 0, 'stage-out', { ok: true, warnings: [], outputs: [], outputPages: [], outputCount: 0 }));
    const again = await getTask(api, alice, task.id, 'BASIC');
    expect(again.logs?.[0]?.outputs).toEqual([]);
    expect(again.logs?.[0]?.metadata?.['outputs_unavailable']).toBe('the output list was changed in the bucket');
  });

  it('refuses an outputs_from that is not a whole number of files', async () => {
    const { parseGetTaskQuery } = await import('../domain/list-query.js');
    expect(parseGetTaskQuery('view=BASIC&outputs_from=20').outputsFrom).toBe(20);
    expect(() => parseGetTaskQuery('outputs_from=-1')).toThrow(/outputs_from: must be a whole number of files/);
    expect(() => parseGetTaskQuery('outputs_from=1e3')).toThrow(/outputs_from/);
  });
});

describe('executor logs of any length, in a task of 100 executors', () => {
  it("keeps every run's item write under 400 KB and the FULL view shows every tail and system line back, in order", async () => {
    // A task document near the item's limit for it (256 KB), and 100 executors with full tails and
    // 30 system lines each (about 3.5 MB of logs for one item), the last one with 16 KB of outputs.
    const executors = Array.from({ length: 100 }, (_, i) => ({ image: 'a', command: ['sh', '-c', `echo ${i}`], env: { PAD: 'p'.repeat(2500) } }));
    const task = await running({ executors });
    const runs = executors.map(() => plan);
    const warningsOf = (i: number) => Array.from({ length: 30 }, (_, j) => `executor ${i} warning ${j}: ${'w'.repeat(80)}`);
    for (let i = 0; i < 100; i += 1) {
      seal(task.id, i, { ok: true, warnings: warningsOf(i) }, { ok: true, warnings: [], outputs: i === 99 ? filesOf(150, 10) : [] });
      const next = await record(deps, { taskId: task.id, index: i, runs, ecs: { ...ecs(0), TaskArn: `arn:aws:ecs:eu-west-1:123456789012:task/tes-executors/${'0'.repeat(24)}${String(i).padStart(8, '0')}` } });
      expect(next.outcome?.systemError).toBeUndefined();
    }
    const stored = await table.store.get(task.id);
    // dynalite refuses items over 400 KB as DynamoDB does; the item keeps a margin below it.
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeGreaterThan(250 * 1024);
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThan(380 * 1024);
    expect(Buffer.byteLength(JSON.stringify(stored?.logs))).toBeGreaterThan(LOGS_ITEM_BYTES);
    expect(stored?.spilled?.length).toBeGreaterThan(90);
    const full = await getTask(api, alice, task.id, 'FULL');
    const attempt = full.logs?.[0];
    expect(attempt?.logs).toHaveLength(100);
    for (const [i, log] of (attempt?.logs ?? []).entries()) {
      expect(log.stdout).toBe(`stdout of executor ${i} `.padEnd(10 * 1024, 'o'));
      expect(log.stderr).toBe(`stderr of executor ${i} `.padEnd(10 * 1024, 'e'));
    }
    expect(attempt?.system_logs).toEqual(Array.from({ length: 100 }, (_, i) => warningsOf(i)).flat());
    expect(attempt?.outputs).toEqual(filesOf(150, 10));
    // BASIC needs none of it: no tails, no system lines.
    const basic = await getTask(api, alice, task.id, 'BASIC');
    expect(basic.logs?.[0]?.system_logs).toBeUndefined();
    expect(basic.logs?.[0]?.logs.every((log) => log.stdout === undefined)).toBe(true);
  }, 120_000);

  it("says where a run's log went when it expired with the task data or was changed in the bucket, and shows the rest", async () => {
    const executors = Array.from({ length: 6 }, () => ({ image: 'a', command: ['b'] }));
    const task = await running({ executors });
    const runs = executors.map(() => plan);
    for (let i = 0; i < 6; i += 1) {
      seal(task.id, i, { ok: true, warnings: [`warning of ${i}`] }, { ok: true, warnings: [], outputs: [] });
      await record(deps, { taskId: task.id, index: i, runs, ecs: ecs(0) });
    }
    const stored = await table.store.get(task.id);
    const spilled = stored?.spilled ?? [];
    expect(spilled.length).toBeGreaterThan(0);
    const gone = spilled[0]?.executor as number;
    objects.objects.delete(spilledLogKey(task.id, gone));
    // A kept log someone rewrote in the bucket (another run's lines, forged tails) is not shown either.
    const forged = spilled[1]?.executor as number;
    objects.objects.set(spilledLogKey(task.id, forged), JSON.stringify({ stdout: 'forged', stderr: 'forged', system_logs: ['forged line'] }));
    const full = await getTask(api, alice, task.id, 'FULL');
    expect(JSON.stringify(full)).not.toContain('forged');
    expect(full.logs?.[0]?.system_logs).toContain(`executor ${forged}: log tails and 1 system log lines kept with the task's data (FULL view)`);
    expect(full.logs?.[0]?.system_logs).toContain(
      `executor ${gone}: log tails and 1 system log lines kept with the task's data (FULL view)`,
    );
    expect(full.logs?.[0]?.logs[gone]?.stdout).toBeUndefined();
    expect(full.logs?.[0]?.logs[0]?.stdout).toBe(`stdout of executor 0 `.padEnd(10 * 1024, 'o'));
    expect(full.logs?.[0]?.system_logs).toContain('warning of 5');
  });
});
