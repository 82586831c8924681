/**
 * A run with nothing to stage (no inputs, no outputs, one executor) is staged in the server process:
 * the same stage-in and stage-out code and broker calls, without two sandboxed processes that would
 * guard nothing. Every other run is staged in its sandboxes, and a plan that moves anything is never
 * staged in the server process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { TesTask } from '../lambdas/domain/tes.js';
import type { StagingBroker, StagingPlan, StageReport } from '../lambdas/ports/staging.js';
import { runPhase } from '../lambdas/runtime/phase.js';
import { StagingSandbox } from '../lambdas/local/staging-sandbox.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { startTestStack } from './support/local-stack.js';
import { TesHttp } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

let stack: LocalStack;
let tes: TesHttp;
// Spied on, not replaced: staging runs as always, and each sandboxed phase is counted.
const spawn = vi.spyOn(StagingSandbox.prototype, 'spawn');
const spawnedPhases = (): string[] => spawn.mock.calls.map(([run]) => run.phase);
beforeAll(async () => {
  stack = await startTestStack({ port: 0 });
  tes = new TesHttp({ url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers: {}, close: () => Promise.resolve() });
}, 120_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.close();
});
afterEach(() => {
  spawn.mockClear();
});

async function run(body: TesTask): Promise<TesTask> {
  const reply = await tes.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return waitForTerminal((path) => tes.get<TesTask>(`${path}${path.includes('?') ? '&' : '?'}view=FULL`), reply.body.id);
}

describe('a run with nothing to stage', () => {
  it('is staged without a sandboxed process, and runs as any other', async () => {
    const done = await run(task({ executors: [{ image: TEST_IMAGE, command: ['sh', '-c', 'echo fine; exit 3'] }] }));
    expect(spawnedPhases()).toEqual([]);
    expect(done.state).toBe('EXECUTOR_ERROR');
    expect(done.logs?.[0]?.logs).toEqual([expect.objectContaining({ exit_code: 3, stdout: 'fine\n' })]);
  });

  it('gets its working and stdout directories inside its volumes, writable by its executor', async () => {
    const done = await run(
      task({
        volumes: ['/data'],
        executors: [{ image: TEST_IMAGE, command: ['sh', '-c', 'echo to-the-file; pwd >&2; echo written > here.txt && cat here.txt >&2'], workdir: '/data/work/deep', stdout: '/data/logs/out.txt' }],
      }),
    );
    expect(spawnedPhases()).toEqual([]);
    expect(done.state, JSON.stringify(done.logs)).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]?.stderr).toBe('/data/work/deep\nwritten\n');
  });

  it('leaves no volume behind once its run has stopped', async () => {
    const { runner } = await stack.runtime;
    const runs = join((runner as unknown as { deps: { workRoot: string } }).deps.workRoot, 'runs');
    const done = await run(task({ volumes: ['/data'], executors: [{ image: TEST_IMAGE, command: ['sh', '-c', 'echo kept > /data/file'] }] }));
    expect(done.state, JSON.stringify(done.logs)).toBe('COMPLETE');
    // The run answers before its volumes are removed; a stop waits for the removal.
    await runner.stop(done.id as string);
    expect(await readdir(runs)).toEqual([]);
  });
});

describe('a task seen ended', () => {
  it("has its executor's whole stdout and stderr in the bucket already, however soon it is looked at", async () => {
    // One executor, nothing to stage: the task ends moments after its executor, while 64 MiB of
    // stdout are still on their way to the bucket unless the workflow waits for them.
    const bytes = 64 * 1024 * 1024;
    const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['sh', '-c', `head -c ${bytes} /dev/zero; echo err >&2`] }] }));
    expect(reply.status, reply.text).toBe(200);
    // Polled as tightly as a client can: the first answer that shows it ended is the one checked.
    let seen: TesTask;
    for (;;) {
      seen = (await tes.get<TesTask>(`/tasks/${reply.body.id}?view=FULL`)).body;
      if (['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'].includes(seen.state ?? '')) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(seen.state, JSON.stringify(seen.logs)).toBe('COMPLETE');
    const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.s3.endpoint, forcePathStyle: true, credentials: stack.s3.credentials });
    const sizes: Record<string, number> = {};
    for (const key of ['executor_0_stdout', 'executor_0_stderr']) {
      const where = seen.logs?.[0]?.metadata?.[key] as string;
      const head = await s3.send(new HeadObjectCommand({ Bucket: stack.s3.bucket, Key: where.replace(`s3://${stack.s3.bucket}/`, '') }));
      sizes[key] = head.ContentLength ?? -1;
    }
    expect(sizes).toEqual({ executor_0_stdout: bytes, executor_0_stderr: 4 });
  });
});

describe('a run staged in the server process, attacked', () => {
  it('creates nothing on the host for a working directory or stdout path outside its volumes', async () => {
    const mark = `tes-escape-${Date.now()}`;
    const done = await run(task({ executors: [{ image: TEST_IMAGE, command: ['true'], workdir: `/opt/${mark}/work`, stdout: `/root/${mark}/out.txt` }] }));
    expect(spawnedPhases()).toEqual([]);
    expect(['SYSTEM_ERROR', 'EXECUTOR_ERROR', 'COMPLETE']).toContain(done.state);
    // The server runs as root here: a path staged as the host's own would now exist.
    for (const path of [`/opt/${mark}`, `/root/${mark}`]) expect(existsSync(path), path).toBe(false);
  });
});

describe('a run that stages anything', () => {
  it('is staged in its sandboxes: with an output, or with a next executor to carry its volumes to', async () => {
    const output = await run(task({ outputs: [{ path: '/data/out.txt', url: 's3://tes-local/users/local/out.txt', type: 'FILE' }], executors: [{ image: TEST_IMAGE, command: ['sh', '-c', 'echo out > /data/out.txt'] }] }));
    expect(output.state, JSON.stringify(output.logs)).toBe('COMPLETE');
    expect(spawnedPhases()).toEqual(['stage-in', 'stage-out']);
    spawn.mockClear();
    const two = await run(task({ volumes: ['/data'], executors: [{ image: TEST_IMAGE, command: ['sh', '-c', 'echo carried > /data/c.txt'] }, { image: TEST_IMAGE, command: ['cat', '/data/c.txt'] }] }));
    expect(two.state, JSON.stringify(two.logs)).toBe('COMPLETE');
    expect(two.logs?.[0]?.logs[1]?.stdout).toBe('carried\n');
    expect(spawnedPhases()).toEqual(['stage-in', 'stage-out', 'stage-in', 'stage-out']);
  });
});

describe('staging in the server process', () => {
  let broker: Server;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tes-in-process-'));
    // A broker whose plan downloads something, against what the runner was told.
    const plan: StagingPlan = {
      taskId: 't',
      executorIndex: 0,
      executorCount: 1,
      ignoreError: false,
      mounts: ['/data'],
      directories: [],
      inputs: [{ index: 0, source: 'http://169.254.169.254/latest/meta-data', path: '/data/in', type: 'FILE', files: [{ relative: '', url: 'http://169.254.169.254/latest/meta-data', external: true }] }],
      outputs: [],
      carry: {},
    } as unknown as StagingPlan;
    broker = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'session', plan })));
    });
    await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a plan that moves files before it touches anything', async () => {
    const url = `http://127.0.0.1:${(broker.address() as AddressInfo).port}`;
    const staged = runPhase('stage-in', { TES_BROKER_URL: url, TES_STAGING_TICKET: 'ticket' }, { scratchDir: dir, volumes: new Map([['/data', join(dir, 'v0')]]), owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }, nothingToStage: true });
    await expect(staged).rejects.toThrow('stage-in was to stage nothing, but its plan moves files');
  });

  /** A broker in this process whose plan moves nothing and which keeps every report it is given. */
  function quietBroker(directories: string[]): StagingBroker & { reports: [string, StageReport][] } {
    const plan = { taskId: 't', executorIndex: 0, executorCount: 1, ignoreError: false, mounts: ['/data'], directories, inputs: [], outputs: [], carry: {} } as StagingPlan;
    const reports: [string, StageReport][] = [];
    return {
      reports,
      session: () => Promise.resolve({ token: 'session', plan }),
      plan: () => Promise.resolve(plan),
      report: (_token: string, name: string, report: StageReport) => {
        reports.push([name, report]);
        return Promise.resolve();
      },
    } as unknown as StagingBroker & { reports: [string, StageReport][] };
  }

  async function phases(broker: StagingBroker, nothingToStage: boolean): Promise<number[]> {
    const scratchDir = await mkdtemp(join(dir, 'run-'));
    const volume = join(scratchDir, 'v0');
    await mkdir(volume);
    const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const layout = { scratchDir, volumes: new Map([['/data', volume]]), owner, broker, nothingToStage };
    const stagedIn = await runPhase('stage-in', { TES_STAGING_TICKET: 'ticket' }, layout);
    if (stagedIn !== 0) return [stagedIn];
    return [stagedIn, await runPhase('stage-out', {}, { ...layout, executorExitCode: 0 })];
  }

  it('writes no stage-in report when stage-in succeeds with nothing to say; stage-out always reports', async () => {
    const broker = quietBroker(['/data/work']);
    expect(await phases(broker, true)).toEqual([0, 0]);
    expect(broker.reports.map(([name]) => name)).toEqual(['stage-out']);
    expect(broker.reports[0]?.[1]).toMatchObject({ ok: true, exitCode: 0 });
  });

  it('still reports a stage-in that failed, so that Record names why', async () => {
    // A working directory where a file already is: stage-in cannot make it.
    const broker = quietBroker(['/data/taken/work']);
    const failing = async (): Promise<number[]> => {
      const scratchDir = await mkdtemp(join(dir, 'run-'));
      await mkdir(join(scratchDir, 'v0'));
      await writeFile(join(scratchDir, 'v0', 'taken'), 'a file, not a directory');
      const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      return [await runPhase('stage-in', { TES_STAGING_TICKET: 'ticket' }, { scratchDir, volumes: new Map([['/data', join(scratchDir, 'v0')]]), owner, broker, nothingToStage: true })];
    };
    expect(await failing()).toEqual([1]);
    expect(broker.reports.map(([name, report]) => [name, report.ok])).toEqual([['stage-in', false]]);
    expect(broker.reports[0]?.[1].error).toMatch(/taken/);
  });

  it('reports every stage-in that runs in a sandbox, silent or not', async () => {
    const broker = quietBroker([]);
    expect(await phases(broker, false)).toEqual([0, 0]);
    expect(broker.reports.map(([name]) => name)).toEqual(['stage-in', 'stage-out']);
  });
});
