/**
 * Record and Finalize on what an executor's Fargate task reports: exit codes, staging failures,
 * ECS failures, and Fargate Spot interruptions (retried, the last time on demand).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportKey, sealReport } from '../adapters/s3-staging-broker.js';
import { StagingTokens } from '../domain/staging-token.js';
import { LONGEST_RUN_SECONDS, type RunPlan } from '../domain/task-definition.js';
import type { TesTaskLog } from '../domain/tes.js';
import type { TaskRecord } from '../domain/task-record.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { MemoryObjects } from '../testing/memory-objects.js';
import { storeTask } from '../testing/records.js';
import type { StageReport } from '../ports/staging.js';
import type { WorkflowDeps } from './deps.js';
import { finalize, recordFailure } from './finalize.js';
import { record } from './record.js';
import { withSpilledLogs } from '../usecases/get-task.js';
import type { WorkflowState } from './state.js';

let table: TestTable;
let deps: WorkflowDeps;
let objects: MemoryObjects;
beforeAll(async () => {
  table = await startTestTable('tes-record');
  objects = new MemoryObjects();
  deps = {
    store: table.store,
    objects,
    registry: { ensure: () => Promise.resolve('arn') },
    stagingTokens: new StagingTokens(Buffer.alloc(32, 3)),
    platform: { runtimeImage: 'r', executorUser: '1000:1000', logGroup: 'g', region: 'r', cluster: 'c', subnets: [], securityGroups: [] },
    sizing: { spotAllowed: true },
    clock: { now: () => new Date() },
    logs: { tail: (_id, index, stream) => Promise.resolve(`${stream} of ${index}`), location: (id, index, stream) => `s3://logs/${id}/${index}/${stream}` },
  };
});
afterAll(async () => {
  await table.close();
});

let n = 0;
async function running(executors = 1, ignoreFirst = false, limit?: { maxRuntime: number; startedSecondsAgo: number }): Promise<TaskRecord> {
  n += 1;
  const record: TaskRecord = {
    id: `01w${String(n).padStart(8, '0')}`,
    owner: 'o',
    state: 'RUNNING',
    version: 1,
    creationTime: new Date().toISOString(),
    task: {
      executors: Array.from({ length: executors }, (_, i) => ({ image: 'a', command: ['b'], ...(i === 0 && ignoreFirst ? { ignore_error: true } : {}) })),
      ...(limit === undefined ? {} : { resources: { backend_parameters: { max_runtime_seconds: String(limit.maxRuntime) } } }),
    },
    logs: [{ logs: [], outputs: [], ...(limit === undefined ? {} : { start_time: new Date(Date.now() - limit.startedSecondsAgo * 1000).toISOString() }) }],
  };
  await table.store.create(record);
  return record;
}

const plan = (i: number) =>
  ({
    taskDefinition: `td${i}`,
    capacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
    timeoutSeconds: 600,
    overrides: { Cpu: '1024', Memory: '2048', ContainerOverrides: [{ Name: 'stage-in', Environment: [{ Name: 'TES_STAGING_TICKET', Value: `first-ticket-${i}` }] }] },
  }) as unknown as RunPlan;

/** Reports as the broker stores them, sealed. */
function reports(id: string, index: number, stageIn: StageReport, stageOut?: StageReport): void {
  const tokens = deps.stagingTokens as StagingTokens;
  objects.objects.set(reportKey(id, index, 'stage-in'), sealReport(tokens, id, index, 'stage-in', stageIn));
  if (stageOut) objects.objects.set(reportKey(id, index, 'stage-out'), sealReport(tokens, id, index, 'stage-out', stageOut));
}

function ecs(exitCode: number | undefined, extra: Record<string, unknown> = {}) {
  return {
    StopCode: 'EssentialContainerExited',
    StartedAt: '2026-01-01T00:00:00Z',
    StoppedAt: '2026-01-01T00:00:30Z',
    Containers: [{ Name: 'stage-in', ExitCode: 0 }, { Name: 'executor', ...(exitCode === undefined ? {} : { ExitCode: exitCode }) }, { Name: 'stage-out', ExitCode: 0 }],
    ...extra,
  };
}

const ok: StageReport = { ok: true, warnings: [] };

describe('Record', () => {
  it('appends the executor log with its tails and outputs, and moves on to the next executor', async () => {
    const task = await running(2);
    reports(task.id, 0, ok, { ok: true, warnings: ['w'], outputs: [{ url: 's3://b/o', path: '/o/x', size_bytes: '3' }] });
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0), plan(1)], ecs: ecs(0) });
    expect(next.run).toEqual({ ...plan(1), timeoutSeconds: LONGEST_RUN_SECONDS });
    expect(next.index).toBe(1);
    expect(next.outcome?.runSeconds).toBe(30);
    const stored = await table.store.get(task.id);
    expect(stored?.logs[0]).toEqual({
      logs: [{ exit_code: 0, start_time: '2026-01-01T00:00:00.000Z', end_time: '2026-01-01T00:00:30.000Z', stdout: 'stdout of 0', stderr: 'stderr of 0' }],
      outputs: [{ url: 's3://b/o', path: '/o/x', size_bytes: '3' }],
      system_logs: ['w'],
      metadata: { executor_0_stdout: `s3://logs/${task.id}/0/stdout`, executor_0_stderr: `s3://logs/${task.id}/0/stderr` },
    });
  });

  it('says in the system logs when and how long the image was pulled', async () => {
    const task = await running();
    reports(task.id, 0, ok, ok);
    await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(0, { PullStartedAt: '2026-01-01T00:00:01Z', PullStoppedAt: '2026-01-01T00:00:04.5Z' }) });
    expect((await table.store.get(task.id))?.logs[0]?.system_logs).toEqual(["executor 0's image was pulled in 3.5 s (2026-01-01T00:00:01.000Z to 2026-01-01T00:00:04.500Z)"]);
  });

  it('says how many files were uploaded when outputs lists only the first of them', async () => {
    const task = await running();
    const listed = [{ url: 's3://b/o/1', path: '/o/1', size_bytes: '1' }];
    reports(task.id, 0, ok, { ok: true, warnings: [], outputs: listed, outputCount: 100_000, outputBytes: 100_000 });
    await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(0) });
    const stored = await table.store.get(task.id);
    expect(stored?.logs[0]?.outputs).toEqual(listed);
    expect(stored?.logs[0]?.system_logs).toEqual(['executor 0: 100000 files (100000 bytes) were uploaded; outputs lists the first 1']);
  });

  it('ends SYSTEM_ERROR naming why stage-in was stopped when it could not report (the disk limit)', async () => {
    const task = await running();
    const stoppedStageIn = ecs(undefined);
    stoppedStageIn.Containers[0] = { Name: 'stage-in', ExitCode: 137, Reason: 'DiskLimitExceeded: stage-in used 300000000 bytes' } as (typeof stoppedStageIn.Containers)[number];
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: stoppedStageIn });
    expect(next.outcome?.systemError).toBe('stage-in did not finish (exit code 137): DiskLimitExceeded: stage-in used 300000000 bytes');
  });

  it('stops after a failed executor, unless it has ignore_error', async () => {
    const strict = await running(2);
    reports(strict.id, 0, ok, ok);
    expect((await record(deps, { taskId: strict.id, index: 0, runs: [plan(0), plan(1)], ecs: ecs(2) })).run).toBeUndefined();
    const lenient = await running(2, true);
    reports(lenient.id, 0, ok, ok);
    const next = await record(deps, { taskId: lenient.id, index: 0, runs: [plan(0), plan(1)], ecs: ecs(2) });
    expect(next.run).toMatchObject({ taskDefinition: 'td1', overrides: plan(1).overrides });
    expect(next.outcome?.executorFailed).toBe(true);
  });

  it("records why the platform stopped an executor (Fargate's OutOfMemoryError) and ends EXECUTOR_ERROR", async () => {
    const task = await running();
    reports(task.id, 0, ok, ok);
    const oom = ecs(137);
    oom.Containers[1] = { Name: 'executor', ExitCode: 137, Reason: 'OutOfMemoryError: Container killed due to memory usage' } as (typeof oom.Containers)[number];
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: oom });
    expect(await finalize(deps, next)).toEqual({ state: 'EXECUTOR_ERROR' });
    const stored = await table.store.get(task.id);
    expect(stored?.logs[0]?.logs[0]?.exit_code).toBe(137);
    expect(stored?.logs[0]?.system_logs).toContain('executor 0 exited 137: OutOfMemoryError: Container killed due to memory usage');
  });

  it('gives the next executor what is left of max_runtime_seconds, and ends the task when nothing is', async () => {
    const withTime = await running(2, false, { maxRuntime: 100, startedSecondsAgo: 40 });
    reports(withTime.id, 0, ok, ok);
    const next = await record(deps, { taskId: withTime.id, index: 0, runs: [plan(0), plan(1)], ecs: ecs(0) });
    expect(next.run?.timeoutSeconds).toBeGreaterThanOrEqual(58);
    expect(next.run?.timeoutSeconds).toBeLessThanOrEqual(60);

    const late = await running(2, false, { maxRuntime: 100, startedSecondsAgo: 120 });
    reports(late.id, 0, ok, ok);
    const ended = await record(deps, { taskId: late.id, index: 0, runs: [plan(0), plan(1)], ecs: ecs(0) });
    expect(ended.run).toBeUndefined();
    expect(ended.outcome?.systemError).toBe('the task ran past its max_runtime_seconds (100) before executor 1 could start');
    expect(await finalize(deps, ended)).toEqual({ state: 'SYSTEM_ERROR' });
  });

  it('RecordFailure names a run past max_runtime_seconds and stops its Fargate task', async () => {
    const task = await running(1, false, { maxRuntime: 5, startedSecondsAgo: 6 });
    const stored = (await table.store.get(task.id)) as TaskRecord;
    await table.store.updateLogs(stored, [{ ...(stored.logs[0] as TesTaskLog), metadata: { ecs_task_0: 'arn:aws:ecs:r:1:task/c/abc' } }]);
    const stopped: [string, string[], string][] = [];
    const stopping = { ...deps, stopExecutors: (id: string, arns: string[], reason: string) => Promise.resolve(void stopped.push([id, arns, reason])) };
    expect(await recordFailure(stopping, { taskId: task.id, index: 0, failure: { Error: 'States.Timeout' } })).toEqual({ state: 'SYSTEM_ERROR' });
    expect(stopped).toEqual([[task.id, ['arn:aws:ecs:r:1:task/c/abc'], 'max_runtime_seconds exceeded']]);
    expect((await table.store.get(task.id))?.logs[0]?.system_logs).toEqual(['SYSTEM_ERROR: the task ran past its max_runtime_seconds (5); executor 0 was stopped']);
  });

  it('turns a failed stage-in into SYSTEM_ERROR without an executor log', async () => {
    const task = await running();
    reports(task.id, 0, { ok: false, error: 'inputs[0] (s3://b/k) could not be staged: HTTP 404', warnings: [] }, ok);
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(undefined) });
    expect(next.outcome?.systemError).toMatch(/inputs\[0\]/);
    expect((await table.store.get(task.id))?.logs[0]?.logs).toEqual([]);
    expect(await finalize(deps, next)).toEqual({ state: 'SYSTEM_ERROR' });
    expect((await table.store.get(task.id))?.logs[0]?.system_logs).toEqual([expect.stringContaining('SYSTEM_ERROR: inputs[0]')]);
  });

  it('reads the stopped task from a States.TaskFailed cause', async () => {
    const task = await running();
    reports(task.id, 0, ok, ok);
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecsFailure: { Error: 'States.TaskFailed', Cause: JSON.stringify(ecs(5)) } });
    expect(next.outcome).toMatchObject({ executorFailed: true });
    expect(next.outcome?.systemError).toBeUndefined();
    expect(await finalize(deps, next)).toEqual({ state: 'EXECUTOR_ERROR' });
  });

  it('ends SYSTEM_ERROR with the reason when the Fargate task could not run', async () => {
    const task = await running();
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecsFailure: { Error: 'ECS.AccessDeniedException', Cause: 'not allowed to pass role' } });
    expect(next.outcome?.systemError).toMatch(/ECS.AccessDeniedException: not allowed to pass role/);
  });

  it('retries a Spot interruption, the last time on demand, then gives up with SYSTEM_ERROR', async () => {
    const task = await running();
    const spot = ecs(143, { StopCode: 'SpotInterruption', StoppedReason: 'Your Spot Task was interrupted.' });
    let state: WorkflowState = { taskId: task.id, index: 0, runs: [plan(0)], ecs: spot };
    state = await record(deps, state);
    expect(state.run?.capacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
    expect(state.index).toBe(0);
    // The run starts again with a ticket of its own (the interrupted one traded its ticket), valid for executor 0.
    const ticket = state.run?.overrides.ContainerOverrides[0]?.Environment.find((e) => e.Name === 'TES_STAGING_TICKET')?.Value ?? '';
    expect(ticket).not.toBe('first-ticket-0');
    expect(deps.stagingTokens?.read(ticket, Math.floor(Date.now() / 1000), 'ticket')).toMatchObject({ taskId: task.id, executorIndex: 0, kind: 'ticket' });
    expect((await table.store.get(task.id))?.state).toBe('INITIALIZING');
    state = await record(deps, { ...state, ecs: spot });
    expect(state.run?.capacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE', Weight: 1 }]);
    state = await record(deps, { ...state, ecs: spot });
    expect(state.run).toBeUndefined();
    expect(state.outcome?.systemError).toMatch(/interrupted by Fargate Spot 3 times/);
    expect(await finalize(deps, state)).toEqual({ state: 'SYSTEM_ERROR' });
    const logs = (await table.store.get(task.id))?.logs[0]?.system_logs ?? [];
    expect(logs.filter((l) => l.includes('interrupted by Fargate Spot'))).toHaveLength(3);
  });

  it('fails with TES.Transient, writing nothing, when a report cannot be read (the workflow runs it again); a missing one is an answer', async () => {
    const task = await running();
    const failing = Object.assign(Object.create(objects) as MemoryObjects, {
      getText: () => Promise.reject(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' })),
    });
    const error = await record({ ...deps, objects: failing }, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(0) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TES.Transient', message: expect.stringContaining('SlowDown: Please reduce your request rate.') });
    expect((await table.store.get(task.id))?.logs).toEqual(task.logs);
    // No report at all (staging never reported): an answer, not a failure to read.
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(0) });
    expect(next.outcome?.systemError).toMatch(/executor 0's outputs were not staged/);
  });

  it("reads the executor's log from this run's own ECS task, whatever the task notes (a run started again after Spot)", async () => {
    const task = await storeTask(table.store, 'rarn', 'RUNNING', { task: { executors: [{ image: 'a', command: ['b'] }] }, logs: [{ logs: [], outputs: [], metadata: { ecs_task_0: 'arn:the-interrupted-run' } }] });
    reports(task.id, 0, ok, ok);
    const asked: (string | undefined)[] = [];
    const logs = { tail: (_id: string, _i: number, _s: string, _b: number, arn?: string) => Promise.resolve((asked.push(arn), `from ${arn}`)), location: () => undefined };
    await record({ ...deps, logs }, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(0, { TaskArn: 'arn:this-run' }) });
    expect(asked).toEqual(['arn:this-run', 'arn:this-run']);
    expect((await table.store.get(task.id))?.logs[0]?.logs[0]?.stdout).toBe('from arn:this-run');
  });

  it('keeps a task with many executors, each reporting 500 uploaded files inline, within its item: outputs lists what fits and the logs count the rest', async () => {
    const task = await running(4);
    let state: WorkflowState = { taskId: task.id, index: 0, runs: [plan(0), plan(1), plan(2), plan(3)], ecs: ecs(0) };
    for (let i = 0; i < 4; i += 1) {
      const outputs = Array.from({ length: 500 }, (_, n) => ({ url: `s3://bucket/users/o/results/${'long-name-'.repeat(15)}${i}-${n}.txt`, path: `/out/${i}-${n}.txt`, size_bytes: '1' }));
      reports(task.id, i, ok, { ...ok, outputs, outputCount: 500, outputBytes: 500 });
      state = await record(deps, { ...state, index: i, ecs: ecs(0) });
      expect(state.outcome?.systemError, `executor ${i}`).toBeUndefined();
    }
    const stored = (await withSpilledLogs({ objects }, (await table.store.get(task.id)) as TaskRecord)).logs[0];
    const listed = stored?.outputs.length ?? 0;
    expect(Buffer.byteLength(JSON.stringify(stored?.outputs))).toBeLessThanOrEqual(32 * 1024);
    expect(listed).toBeGreaterThan(100);
    expect(stored?.system_logs?.join('\n')).toContain(`executor 0: ${500 - listed} of its listed outputs are left out of outputs, which lists at most 1000 files in 32768 bytes for a task`);
    expect(stored?.system_logs?.join('\n')).toContain('executor 3: 500 of its listed outputs are left out of outputs');
  });

  it('takes a report changed in the bucket (its seal broken) for none: the run ends SYSTEM_ERROR, its claims unrecorded', async () => {
    const task = await running();
    reports(task.id, 0, ok, ok);
    const key = reportKey(task.id, 0, 'stage-out');
    const forged = { ...(JSON.parse(objects.objects.get(key) as string) as StageReport), outputs: [{ url: 's3://elsewhere/x', path: '/data/x', size_bytes: '1' }] };
    objects.objects.set(key, JSON.stringify(forged));
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(0) });
    expect(next.outcome?.systemError).toMatch(/executor 0's outputs were not staged/);
    expect((await table.store.get(task.id))?.logs[0]?.outputs).toEqual([]);
  });

  describe('a stage-in that wrote no report (locally, one with nothing to stage that had nothing to say)', () => {
    /** Only stage-out's report, as such a run leaves. */
    function stageOutOnly(id: string): void {
      objects.objects.set(reportKey(id, 0, 'stage-out'), sealReport(deps.stagingTokens as StagingTokens, id, 0, 'stage-out', { ...ok, exitCode: 0 }));
    }
    const stageInExit = (code: number | undefined) => ecs(0, { Containers: [{ Name: 'stage-in', ...(code === undefined ? {} : { ExitCode: code }) }, { Name: 'executor', ExitCode: 0 }, { Name: 'stage-out', ExitCode: 0 }] });

    it('succeeded when its container exited 0', async () => {
      const task = await running();
      stageOutOnly(task.id);
      const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(0) });
      expect(next.outcome?.systemError).toBeUndefined();
      expect(await finalize(deps, next)).toEqual({ state: 'COMPLETE' });
    });

    it('did not succeed when its container exited otherwise', async () => {
      const task = await running();
      stageOutOnly(task.id);
      const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: stageInExit(2) });
      expect(next.outcome?.systemError).toBe('stage-in did not finish (exit code 2)');
    });

    it("attack: another task's sealed failure report, copied into its place, is none", async () => {
      const [victim, other] = [await running(), await running()];
      stageOutOnly(victim.id);
      const tokens = deps.stagingTokens as StagingTokens;
      const failing: StageReport = { ok: false, error: 'inputs[0] could not be staged', warnings: ['planted'] };
      objects.objects.set(reportKey(victim.id, 0, 'stage-in'), sealReport(tokens, other.id, 0, 'stage-in', failing));
      const next = await record(deps, { taskId: victim.id, index: 0, runs: [plan(0)], ecs: ecs(0) });
      expect(next.outcome?.systemError).toBeUndefined();
      expect((await table.store.get(victim.id))?.logs[0]?.system_logs).toBeUndefined();
    });

    it("attack: the task's own report of another stage or executor, or one with no seal, is none", async () => {
      const task = await running(2);
      stageOutOnly(task.id);
      const tokens = deps.stagingTokens as StagingTokens;
      const failing: StageReport = { ok: false, error: 'planted', warnings: ['planted'] };
      for (const planted of [
        sealReport(tokens, task.id, 0, 'stage-out', failing),
        sealReport(tokens, task.id, 1, 'stage-in', failing),
        JSON.stringify(failing),
        JSON.stringify({ ...failing, seal: 'x' }),
      ]) {
        objects.objects.set(reportKey(task.id, 0, 'stage-in'), planted);
        const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0), plan(1)], ecs: ecs(0) });
        expect(next.outcome?.systemError, planted).toBeUndefined();
        expect(next.run, planted).toBeDefined();
        await table.store.updateLogs((await table.store.get(task.id)) as TaskRecord, [{ logs: [], outputs: [] }], {});
      }
      expect((await table.store.get(task.id))?.logs[0]?.system_logs).toBeUndefined();
    });
  });

  it('Finalize turns a task being canceled into CANCELED', async () => {
    const task = await running();
    await table.store.changeState(task, { to: 'CANCELING' });
    expect(await finalize(deps, { taskId: task.id })).toEqual({ state: 'CANCELED' });
  });

  it('prices each run on its own, with its one-minute minimum: two 30 s executors are billed two minutes', async () => {
    const task = await running(2);
    reports(task.id, 0, ok, ok);
    reports(task.id, 1, ok, ok);
    const after0 = await record(deps, { taskId: task.id, index: 0, runs: [plan(0), plan(1)], ecs: ecs(0) });
    const after1 = await record(deps, { ...after0, ecs: ecs(0) });
    expect(after1.outcome?.runSeconds).toBe(60);
    expect(await finalize(deps, after1)).toEqual({ state: 'COMPLETE' });
    const spot = 0.3 * (60 * 0.04048 + 120 * 0.004445) / 3600;
    expect((await table.store.get(task.id))?.logs[0]?.metadata).toMatchObject({ vcpu_seconds: '120.0', gb_seconds: '240.0', estimated_cost_usd: (2 * spot).toFixed(6) });
  });

  it('counts a run Fargate Spot interrupted at the Spot price, and the run after it at the price it ran at', async () => {
    const task = await running();
    const interrupted = await record(deps, {
      taskId: task.id,
      index: 0,
      runs: [plan(0)],
      ecs: ecs(143, { StopCode: 'SpotInterruption', StoppedReason: 'Your Spot Task was interrupted.', StoppedAt: '2026-01-01T00:02:00Z' }),
    });
    expect(interrupted.outcome?.usage?.vcpuSeconds).toBe(120);
    reports(task.id, 0, ok, ok);
    const onDemand = { ...(interrupted.run as RunPlan), capacityProviderStrategy: [{ CapacityProvider: 'FARGATE' as const, Weight: 1 }] };
    const done = await record(deps, { ...interrupted, run: onDemand, ecs: ecs(0) });
    expect(await finalize(deps, done)).toEqual({ state: 'COMPLETE' });
    const perSecond = (0.04048 + 2 * 0.004445) / 3600;
    expect((await table.store.get(task.id))?.logs.at(-1)?.metadata).toMatchObject({ vcpu_seconds: '180.0', estimated_cost_usd: (120 * perSecond * 0.3 + 60 * perSecond).toFixed(6) });
  });

  it('Finalize records the cost of the run in the log metadata', async () => {
    const task = await running();
    reports(task.id, 0, ok, ok);
    const next = await record(deps, { taskId: task.id, index: 0, runs: [plan(0)], ecs: ecs(0) });
    expect(await finalize(deps, next)).toEqual({ state: 'COMPLETE' });
    // The run's plan put it on Fargate Spot: 70% off the on-demand 0.000823.
    expect((await table.store.get(task.id))?.logs[0]?.metadata).toMatchObject({
      vcpu_seconds: '60.0',
      gb_seconds: '120.0',
      estimated_cost_usd: '0.000247',
      cost_prices: 'us-east-1 list prices',
    });
  });
});
