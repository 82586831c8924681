/**
 * The local stand-in for ECS RunTask (`ecs:runTask.sync`): runs a registered executor task
 * definition with the overrides Step Functions passes, container by container, with the same
 * hardening. stage-in and stage-out run the runtime image's entry point, each in a sandbox of its own
 * holding only the run's staging token; the executor runs in the local sandbox (a container runtime
 * with the task's image, or bubblewrap) as the task's own unprivileged host uid, with the task's
 * limits. Cancel, max_runtime_seconds and the disk limit stop whichever of the three is running.
 * Answers with the stopped task in the shape ECS gives Step Functions.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { appendFile, chown, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONTAINERS, EXECUTOR_HOME, type ContainerDefinition, type RunPlan } from '../domain/task-definition.js';
import type { LogStore } from '../ports/log-store.js';
import { runPhase } from '../runtime/phase.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { StagingBroker } from '../ports/staging.js';
import { CapacityQueue, type Capacity, type RunSize } from './capacity.js';
import { hostIdFor, ImageUnavailableError, type Prepared, type Sandbox, type SandboxLimits, type SandboxSpec } from './sandbox.js';
import type { StagingSandbox } from './staging-sandbox.js';
import type { StagingServer } from './staging-server.js';
import type { LocalTaskDefinitions } from './task-definitions.js';

const runCommand = promisify(execFile);
/** What the disk watchdog allows staging past the limit: the blocks of the directories it creates. */
const STAGING_DISK_SLACK_BYTES = 8 * 1024 * 1024;

/** RunTask parameters as the state machine sends them (PascalCase). */
export interface RunTaskParameters {
  Cluster: string;
  TaskDefinition: string;
  Group: string;
  Overrides: RunPlan['overrides'];
}

export interface EcsContainerResult {
  Name: string;
  ExitCode?: number;
  Reason?: string;
  LastStatus: 'STOPPED';
}

export interface EcsTaskResult {
  TaskArn: string;
  Group: string;
  LastStatus: 'STOPPED';
  StopCode: 'EssentialContainerExited' | 'UserInitiated' | 'TaskFailedToStart';
  StoppedReason: string;
  StartedAt: string;
  StoppedAt: string;
  /** When the executor's image was pulled (only when it was). */
  PullStartedAt?: string;
  PullStoppedAt?: string;
  Containers: EcsContainerResult[];
}

/**
 * What the local runner needs to know of a task. Best effort (as a Kubernetes BestEffort pod): the
 * task asked for no CPUs and no memory, so it is promised none. Its runs count no vCPU (they share
 * the CPUs) and BEST_EFFORT_MEMORY_MIB, start only while the host has its Fargate size's memory
 * available, and their processes are the OOM killer's first choice, before any task that reserved
 * its size; others count their Fargate size. Nothing to stage (no inputs, no outputs, one
 * executor): stage-in and stage-out run in this process, with the same code and the same broker calls.
 */
export interface LocalTaskTraits {
  bestEffort: boolean;
  nothingToStage: boolean;
}

/**
 * The OOM killer's preference for executors (oom_score_adj): if the machine runs out of memory (with
 * bubblewrap a task's processes are each limited, not the task as a whole), a task's processes go
 * before the server's and the host's, and a best-effort task's before those of a task that reserved
 * its size. A task may lower its own back to 0, not below.
 */
export const EXECUTOR_OOM_SCORE_ADJ = { bestEffort: 1000, reserved: 500 } as const;

/** What a best-effort run counts of the machine's memory: Fargate's smallest task. */
export const BEST_EFFORT_MEMORY_MIB = 512;

export interface LocalEcsDeps {
  definitions: LocalTaskDefinitions;
  sandbox: Sandbox;
  /** Root of per-task volumes and logs; readable only by root and the tasks' own uids. */
  workRoot: string;
  /** Called once the executor process has started (the ECS "task running" event), with when. */
  onExecutorStarted: (taskId: string, executorIndex: number, at: Date) => Promise<void>;
  /**
   * What this machine offers the tasks: runs start, first come first served, while the vCPUs and
   * memory their Fargate sizes ask for fit in it (one larger than the machine runs alone).
   */
  capacity: Capacity & { maxRuns?: number };
  /** Where each executor's whole stdout and stderr are kept once it has ended. */
  objects: ObjectStore;
  /**
   * The most disk an executor's volumes may use, in GiB, whatever the task asked for (a laptop has
   * less than Fargate's 20 GiB default); unset leaves the task's own ephemeral storage.
   */
  maxDiskGiB?: number;
  /** How often the disk watchdog measures the volumes (default 500 ms). */
  diskCheckMs?: number;
  /** The most processes and threads one executor may have at once (default 1024). */
  pidsLimit?: number;
  /** What the runner needs to know of a task beyond its RunTask parameters. */
  describeTask?: (taskId: string) => Promise<LocalTaskTraits>;
  /** Runs stage-in and stage-out, out of this process. */
  staging: StagingSandbox;
  /** The broker and metadata endpoints staging reaches over HTTP. */
  stagingServer: StagingServer;
  /** The staging broker itself, which a phase run in this process calls directly. */
  broker: StagingBroker;
}

/** What Fargate gives a task that asks for no more. */
const DEFAULT_EPHEMERAL_GIB = 20;
const GIB = 1024 ** 3;

/** Bytes of disk the directories use (blocks, not apparent size: a sparse file fills nothing). */
async function diskBytes(dirs: string[]): Promise<number> {
  if (dirs.length === 0) return 0;
  const { stdout } = await runCommand('du', ['-s', '-B1', '-c', ...dirs]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const total = /^(\d+)\s+total$/m.exec(stdout);
  return total === null ? 0 : Number(total[1]);
}

/** The object key of an executor's whole stdout or stderr. */
export function streamKey(taskId: string, executorIndex: number, stream: 'stdout' | 'stderr'): string {
  return `tasks/${taskId}/logs/${executorIndex}/${stream}`;
}

const SANDBOX_UID = 1000;
const MIB = 1024 * 1024;
/** Docker's and Fargate's /dev/shm (Fargate cannot change it). */
const SHM_BYTES = 64 * MIB;
export const DEFAULT_PIDS_LIMIT = 1024;

/** The executor's limits: the Fargate size the task was given (the whole task's memory and vCPUs). */
function limitsOf(overrides: RunPlan['overrides'], pids: number): SandboxLimits {
  return { memoryBytes: Number(overrides.Memory) * MIB, cpus: Number(overrides.Cpu) / 1024, pids, shmBytes: SHM_BYTES };
}

function environment(overrides: RunPlan['overrides'], container: string): Record<string, string> {
  const entry = overrides.ContainerOverrides.find((o) => o.Name === container);
  return Object.fromEntries((entry?.Environment ?? []).map((e) => [e.Name, e.Value]));
}

/** The exit code of a sandbox process (128 + the signal that killed it). */
function exitOf(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
}

function parseUser(user: string): { uid: number; gid: number } {
  const [uid, gid] = user.split(':').map(Number);
  return { uid: uid ?? SANDBOX_UID, gid: gid ?? uid ?? SANDBOX_UID };
}

export class LocalEcsRunner implements LogStore {
  private readonly running = new Map<string, { kill: () => void; exited: Promise<number> }>();
  private readonly canceled = new Set<string>();
  /** Every RunTask in progress, so a stop can wait until its run has cleaned up entirely. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly queue: CapacityQueue;
  /** Runs waiting for room, by task. */
  private readonly queued = new Map<string, AbortController>();
  private runsMade: Promise<string> | undefined;
  private readonly etcMade = new Map<string, Promise<{ passwd: string; group: string }>>();
  /** Executors' streams being kept, by task (every run's, until all are). */
  private readonly keeping = new Map<string, Promise<void>>();

  constructor(private readonly deps: LocalEcsDeps) {
    this.queue = new CapacityQueue(deps.capacity);
  }

  /** Where each run's directory is made (once). */
  private runsDir(): Promise<string> {
    const dir = join(this.deps.workRoot, 'runs');
    this.runsMade ??= mkdir(dir, { recursive: true, mode: 0o711 }).then(
      () => dir,
      (error: unknown) => {
        this.runsMade = undefined;
        throw error;
      },
    );
    return this.runsMade;
  }

  /**
   * The passwd and group files a bubblewrap sandbox gets for its user (the host's /etc is not the
   * image's): the same for every run as that user, so made once, and bound read-only.
   */
  private etcFor(uid: number, gid: number): Promise<{ passwd: string; group: string }> {
    const key = `${uid}-${gid}`;
    let made = this.etcMade.get(key);
    if (made === undefined) {
      const dir = join(this.deps.workRoot, 'etc', key);
      made = (async () => {
        await mkdir(dir, { recursive: true, mode: 0o755 });
        const files = { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
        await Promise.all([
          writeFile(files.passwd, `root:x:0:0:root:/root:/usr/sbin/nologin\ntes:x:${uid}:${gid}:TES executor:${EXECUTOR_HOME}:/bin/sh\n`, { mode: 0o644 }),
          writeFile(files.group, `root:x:0:\ntes:x:${gid}:\n`, { mode: 0o644 }),
        ]);
        return files;
      })();
      made.catch(() => this.etcMade.delete(key));
      this.etcMade.set(key, made);
    }
    return made;
  }

  /** How many runs go on and wait, and what they reserved. */
  get load(): CapacityQueue['load'] {
    return this.queue.load;
  }

  private taskDir(taskId: string): string {
    if (!/^[0-9a-z]+$/.test(taskId)) throw new Error(`unexpected task id ${taskId}`);
    return join(this.deps.workRoot, taskId);
  }

  private logFile(taskId: string, executorIndex: number, stream: 'stdout' | 'stderr'): string {
    return join(this.taskDir(taskId), 'logs', `${executorIndex}.${stream}`);
  }

  location(taskId: string, executorIndex: number, stream: 'stdout' | 'stderr'): string {
    return `s3://${this.deps.objects.bucket}/${streamKey(taskId, executorIndex, stream)}`;
  }

  async tail(taskId: string, executorIndex: number, stream: 'stdout' | 'stderr', bytes: number): Promise<string | undefined> {
    const file = await open(this.logFile(taskId, executorIndex, stream), 'r').catch(() => undefined);
    if (file === undefined) return undefined;
    try {
      const { size } = await file.stat();
      const length = Math.min(size, bytes);
      const buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } finally {
      await file.close();
    }
  }

  /** Stops whatever runs for the task (the ECS StopTask stand-in); resolves once it is gone. */
  async stop(taskId: string): Promise<void> {
    this.canceled.add(taskId);
    this.queued.get(taskId)?.abort(new Error('Task stopped by user'));
    this.running.get(taskId)?.kill();
    await this.inFlight.get(taskId)?.catch(() => undefined);
  }

  /** Answers once the run has stopped; its volumes are removed after that, and a stop waits for it all. */
  runTask(params: RunTaskParameters): Promise<EcsTaskResult> {
    const taskId = params.Group.replace(/^tes:/, '');
    const cleanups: Promise<unknown>[] = [];
    const run = this.run(params, cleanups);
    const whole = run.catch(() => undefined).then(() => Promise.all(cleanups));
    this.inFlight.set(taskId, whole);
    void whole.finally(() => {
      if (this.inFlight.get(taskId) === whole) this.inFlight.delete(taskId);
    });
    return run;
  }

  private async run(params: RunTaskParameters, cleanups: Promise<unknown>[]): Promise<EcsTaskResult> {
    const definition = this.deps.definitions.get(params.TaskDefinition);
    if (definition === undefined) throw Object.assign(new Error(`unknown task definition ${params.TaskDefinition}`), { name: 'ECS.ClientException' });
    const taskId = params.Group.replace(/^tes:/, '');
    let startedAt = new Date().toISOString();
    const containers: EcsContainerResult[] = [];
    let runDir: string | undefined;
    let pull: Prepared['pull'];
    let logsKept: Promise<void> | undefined;
    const result = (stopCode: EcsTaskResult['StopCode'], reason: string): EcsTaskResult => ({
      TaskArn: `arn:aws:ecs:local:000000000000:task/local/${taskId}-${Date.now()}`,
      Group: params.Group,
      LastStatus: 'STOPPED',
      StopCode: stopCode,
      StoppedReason: reason,
      StartedAt: startedAt,
      StoppedAt: new Date().toISOString(),
      ...(pull === undefined ? {} : { PullStartedAt: pull.startedAt, PullStoppedAt: pull.stoppedAt }),
      Containers: containers,
    });
    const traits = (await this.deps.describeTask?.(taskId)) ?? { bestEffort: false, nothingToStage: false };
    // Waiting for room on this machine; a stop takes it out of the queue (ECS: a task stopped while PROVISIONING).
    const waiting = new AbortController();
    this.queued.set(taskId, waiting);
    let release: () => void;
    try {
      const memoryMiB = Number(params.Overrides.Memory);
      const size: RunSize = traits.bestEffort ? { cpus: 0, memoryMiB: BEST_EFFORT_MEMORY_MIB, availableMiB: memoryMiB } : { cpus: Number(params.Overrides.Cpu) / 1024, memoryMiB };
      release = await this.queue.reserve(size, waiting.signal);
    } catch {
      return result('UserInitiated', 'Task stopped by user');
    } finally {
      this.queued.delete(taskId);
    }
    startedAt = new Date().toISOString();
    const metadata = this.deps.stagingServer.metadataEndpoint();
    try {
      const byName = (name: string) => definition.containerDefinitions.find((c) => c.name === name) as ContainerDefinition;
      const executor = byName(CONTAINERS.executor);
      // As ECS does: the volumes from the task definition, each container's environment from the overrides.
      const plan = {
        executorIndex: Number(environment(params.Overrides, CONTAINERS.stageIn)['TES_EXECUTOR_INDEX'] ?? 0),
        mounts: (executor.mountPoints ?? []).map((m) => m.containerPath),
      };
      const hostId = hostIdFor(taskId);
      const root = this.taskDir(taskId);
      // Fresh volumes for every executor, as on Fargate; what one leaves for the next travels in the
      // carry archives. Their host paths are random, so nothing a task sees of them (/proc/self/mountinfo)
      // names it or any other task.
      // (Directories are made side by side where they can be: each costs a disk operation.)
      runDir = join(await this.runsDir(), randomBytes(12).toString('hex'));
      await Promise.all([mkdir(runDir, { mode: 0o711 }), mkdir(join(root, 'logs'), { recursive: true, mode: 0o700 })]);
      const volumes = new Map(plan.mounts.map((mount, i) => [mount, join(runDir as string, `v${i}`)]));
      const scratchDir = join(runDir, 'scratch');
      const dirs = [...volumes.values(), scratchDir];
      await Promise.all(dirs.map((dir) => mkdir(dir, { mode: 0o700 })));
      const { uid, gid } = parseUser(executor.user);
      // The volumes belong to the host uid the executor is; staging runs as that uid too.
      const owner = process.getuid?.() === 0 ? this.deps.sandbox.volumeOwner({ hostId, uid, gid }) : undefined;
      if (owner !== undefined) await Promise.all(dirs.map((dir) => chown(dir, owner.uid, owner.gid)));
      const limitGiB = Math.min(params.Overrides.EphemeralStorage?.SizeInGiB ?? DEFAULT_EPHEMERAL_GIB, this.deps.maxDiskGiB ?? Infinity);
      const inProcess = traits.nothingToStage;
      const staging = (phase: 'stage-in' | 'stage-out', env: Record<string, string>, executorExitCode?: number) =>
        this.runStaging(taskId, plan.executorIndex, phase, {
          inProcess,
          ...(executorExitCode === undefined ? {} : { executorExitCode }),
          // Whom the volumes belong to on this host: the task's host uid, or (not root) the server's user.
          hostOwner: owner ?? { uid: process.getuid?.() ?? uid, gid: process.getgid?.() ?? gid },
          hostId: owner?.uid ?? hostId,
          uid,
          gid,
          volumes,
          scratchDir,
          env: {
            ...environment(params.Overrides, phase === 'stage-in' ? CONTAINERS.stageIn : CONTAINERS.stageOut),
            ...env,
            TES_DISK_LIMIT_BYTES: String(Math.floor(limitGiB * GIB)),
          },
          limitGiB,
        });

      if (this.canceled.has(taskId)) return result('UserInitiated', 'Task stopped by user');
      const spec = await this.executorSpec(taskId, plan.executorIndex, executor, params.Overrides, volumes, hostId, traits.bestEffort);
      // The image comes first, as on ECS: a task whose image cannot be had stages nothing.
      try {
        pull = (await this.deps.sandbox.prepare(spec)).pull;
      } catch (error) {
        if (!(error instanceof ImageUnavailableError)) throw error;
        containers.push({ Name: CONTAINERS.stageIn, Reason: 'the task did not start', LastStatus: 'STOPPED' });
        containers.push({ Name: CONTAINERS.executor, Reason: `${error.name}: ${error.message}`, LastStatus: 'STOPPED' });
        return result('TaskFailedToStart', `${error.name}: ${error.message}`);
      }

      if (this.canceled.has(taskId)) return result('UserInitiated', 'Task stopped by user');
      const stageIn = await staging('stage-in', {});
      containers.push({ Name: CONTAINERS.stageIn, ExitCode: stageIn.exitCode, ...(stageIn.reason === undefined ? {} : { Reason: stageIn.reason }), LastStatus: 'STOPPED' });
      if (this.canceled.has(taskId)) return result('UserInitiated', 'Task stopped by user');
      if (stageIn.exitCode !== 0) {
        // ECS starts no container whose dependency failed: the executor (SUCCESS) and stage-out (COMPLETE).
        containers.push({ Name: CONTAINERS.executor, Reason: 'dependency stage-in did not succeed', LastStatus: 'STOPPED' });
        containers.push({ Name: CONTAINERS.stageOut, Reason: 'dependency executor did not complete', LastStatus: 'STOPPED' });
        return result('EssentialContainerExited', 'Essential container in task exited');
      }

      let executed: { exitCode: number; reason?: string };
      try {
        executed = await this.runExecutor(taskId, plan.executorIndex, spec, limitGiB, volumes, cleanups);
      } finally {
        // Its stdout and stderr are kept while stage-out and Record run.
        logsKept = this.keepLogs(taskId, plan.executorIndex);
      }
      const { exitCode, reason } = executed;
      containers.push({ Name: CONTAINERS.executor, ExitCode: exitCode, ...(reason === undefined ? {} : { Reason: reason }), LastStatus: 'STOPPED' });
      if (this.canceled.has(taskId)) return result('UserInitiated', 'Task stopped by user');
      metadata.setExecutorExitCode(exitCode);
      const stageOut = await staging('stage-out', { ECS_CONTAINER_METADATA_URI_V4: metadata.url }, exitCode);
      containers.push({ Name: CONTAINERS.stageOut, ExitCode: stageOut.exitCode, ...(stageOut.reason === undefined ? {} : { Reason: stageOut.reason }), LastStatus: 'STOPPED' });
      if (this.canceled.has(taskId)) return result('UserInitiated', 'Task stopped by user');
      return result('EssentialContainerExited', 'Essential container in task exited');
    } finally {
      // The run answers without waiting for its executor's streams to be kept: the task ends (Finalize,
      // RecordFailure) only once they are (logsKept), and a stop waits for them.
      if (logsKept !== undefined) this.keepingLogs(taskId, logsKept, cleanups);
      metadata.release();
      // The room it held is given back once its volumes are gone.
      const removed = runDir === undefined ? Promise.resolve() : rm(runDir, { recursive: true, force: true }).catch(() => undefined);
      cleanups.push(removed.finally(release));
    }
  }

  /**
   * Runs stage-in or stage-out, the runtime image's entry point, in its own sandbox; stoppable like
   * the executor (cancel, max_runtime_seconds) and watched for disk like it.
   */
  private async runStaging(
    taskId: string,
    executorIndex: number,
    phase: 'stage-in' | 'stage-out',
    run: { inProcess: boolean; executorExitCode?: number; hostOwner: { uid: number; gid: number }; hostId: number; uid: number; gid: number; volumes: Map<string, string>; scratchDir: string; env: Record<string, string>; limitGiB: number },
  ): Promise<{ exitCode: number; reason?: string }> {
    const logPath = join(this.taskDir(taskId), 'logs', `${executorIndex}.${phase}.log`);
    if (run.inProcess) {
      // Nothing a task wrote is read, and no URL it named is fetched: a sandbox would guard nothing.
      return {
        exitCode: await runPhase(phase, run.env, {
          scratchDir: run.scratchDir,
          volumes: run.volumes,
          owner: run.hostOwner,
          nothingToStage: true,
          broker: this.deps.broker,
          ...(run.executorExitCode === undefined ? {} : { executorExitCode: run.executorExitCode }),
        }).catch(async (error: unknown) => {
          await appendFile(logPath, `${(error as Error).message}\n`, { mode: 0o600 }).catch(() => undefined);
          return 2;
        }),
      };
    }
    const log = openSync(logPath, 'a', 0o600);
    try {
      const child = await this.deps.staging.spawn({
        phase,
        hostId: run.hostId,
        uid: run.uid,
        gid: run.gid,
        volumes: run.volumes,
        scratchDir: run.scratchDir,
        env: run.env,
        name: `tes-${taskId}-${executorIndex}-${phase}`,
        stdio: { stdout: log, stderr: log },
      });
      const exited = exitOf(child);
      const kill = (): void => this.deps.staging.kill(child);
      this.running.set(taskId, { exited, kill });
      if (this.canceled.has(taskId)) kill();
      // Staging stops itself at the disk limit and names the input; the watchdog is its backstop,
      // with room for the directories' own blocks so that it does not win that race.
      const watchdog = this.watchDisk([...run.volumes.values(), run.scratchDir], run.limitGiB, kill, exited, STAGING_DISK_SLACK_BYTES);
      const exitCode = await exited;
      const overLimit = await watchdog;
      if (overLimit !== undefined) {
        return { exitCode, reason: `DiskLimitExceeded: ${phase} used ${overLimit} bytes of the task's ${run.limitGiB} GiB of disk and was stopped` };
      }
      return { exitCode };
    } finally {
      this.running.delete(taskId);
      closeSync(log);
    }
  }

  /**
   * Fargate refuses writes past a task's ephemeral storage; here the volumes are host directories,
   * so a watchdog measures them while the executor runs and stops it once they pass the limit.
   * Resolves with the bytes used when it stopped the executor.
   */
  private async watchDisk(dirs: string[], limitGiB: number, stop: () => void, exited: Promise<number>, slackBytes = 0): Promise<number | undefined> {
    const limit = limitGiB * GIB + slackBytes;
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (!done) {
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, this.deps.diskCheckMs ?? 500))]);
      if (done) return undefined;
      const used = await diskBytes(dirs);
      if (used > limit) {
        stop();
        return used;
      }
    }
    return undefined;
  }

  /** The sandbox an executor runs in: its image, argv, env, volumes and limits. */
  private async executorSpec(
    taskId: string,
    executorIndex: number,
    container: ContainerDefinition,
    overrides: RunPlan['overrides'],
    volumes: Map<string, string>,
    hostId: number,
    bestEffort: boolean,
  ): Promise<SandboxSpec> {
    const { uid, gid } = parseUser(container.user);
    const override = overrides.ContainerOverrides.find((o) => o.Name === CONTAINERS.executor);
    const env = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ...Object.fromEntries((override?.Environment ?? []).map((e) => [e.Name, e.Value])),
    };
    const files: SandboxSpec['files'] = [];
    if (this.deps.sandbox.kind === 'bubblewrap') {
      const etc = await this.etcFor(uid, gid);
      files.push({ host: etc.passwd, path: '/etc/passwd' }, { host: etc.group, path: '/etc/group' });
    }
    return {
      hostId,
      uid,
      gid,
      binds: [...volumes].map(([path, host]) => ({ host, path })),
      files,
      // The tmpfs mounts the task definition gives the executor ($HOME, and /tmp unless a volume is there), as ECS would.
      tmpfs: (container.linuxParameters.tmpfs ?? []).map((t) => ({ path: t.containerPath, bytes: t.size * MIB })),
      ...(container.workingDirectory === undefined ? {} : { workdir: container.workingDirectory }),
      argv: [...(container.entryPoint ?? []), ...(override?.Command ?? container.command ?? [])],
      env,
      network: false,
      limits: { ...limitsOf(overrides, this.deps.pidsLimit ?? DEFAULT_PIDS_LIMIT), oomScoreAdj: EXECUTOR_OOM_SCORE_ADJ[bestEffort ? 'bestEffort' : 'reserved'] },
      image: container.image,
      name: `tes-${taskId}-${executorIndex}-${randomBytes(4).toString('hex')}`,
    };
  }

  private async runExecutor(
    taskId: string,
    executorIndex: number,
    spec: SandboxSpec,
    limitGiB: number,
    volumes: Map<string, string>,
    cleanups: Promise<unknown>[],
  ): Promise<{ exitCode: number; reason?: string }> {
    const stdoutFile = this.logFile(taskId, executorIndex, 'stdout');
    const stderrFile = this.logFile(taskId, executorIndex, 'stderr');
    const stdout = openSync(stdoutFile, 'w', 0o600);
    const stderr = openSync(stderrFile, 'w', 0o600);
    try {
      const child = this.deps.sandbox.spawn(spec, { stdout, stderr });
      const exited = exitOf(child);
      let stoppedHere = false;
      const kill = (): void => {
        stoppedHere = true;
        this.deps.sandbox.kill(child, spec);
      };
      this.running.set(taskId, { exited, kill });
      if (this.canceled.has(taskId)) kill();
      // Its stdout and stderr are kept on this disk too, so they count against the task's.
      const watchdog = this.watchDisk([...volumes.values(), stdoutFile, stderrFile], limitGiB, kill, exited);
      await this.deps.onExecutorStarted(taskId, executorIndex, new Date()).catch(() => undefined);
      const exitCode = await exited;
      const overLimit = await watchdog;
      const { reason: platformReason, removed } = await this.deps.sandbox.finish(spec, exitCode);
      cleanups.push(removed);
      if (overLimit !== undefined) {
        return { exitCode, reason: `DiskLimitExceeded: the task's volumes used ${overLimit} bytes, over its ${limitGiB} GiB of disk; the executor was stopped` };
      }
      return stoppedHere || platformReason === undefined ? { exitCode } : { exitCode, reason: platformReason };
    } finally {
      this.running.delete(taskId);
      closeSync(stdout);
      closeSync(stderr);
    }
  }

  /**
   * Resolves once every executor's stdout and stderr the task has run so far are in the bucket: the
   * local workflow ends the task only after that, so the objects its logs point to are whole when a
   * client sees it ended. (In AWS the awslogs driver sends the streams to CloudWatch as they are
   * written; nothing waits for the last lines there.)
   */
  logsKept(taskId: string): Promise<void> {
    return this.keeping.get(taskId) ?? Promise.resolve();
  }

  private keepingLogs(taskId: string, kept: Promise<void>, cleanups: Promise<unknown>[]): void {
    const all = Promise.all([this.keeping.get(taskId), kept]).then(() => undefined);
    this.keeping.set(taskId, all);
    cleanups.push(all);
    void all.finally(() => {
      if (this.keeping.get(taskId) === all) this.keeping.delete(taskId);
    });
  }

  /** Keeps an executor's whole stdout and stderr in the bucket, where its logs' locations point. */
  private async keepLogs(taskId: string, executorIndex: number): Promise<void> {
    await Promise.all(
      (['stdout', 'stderr'] as const).map((stream) =>
        this.deps.objects.putFile(streamKey(taskId, executorIndex, stream), this.logFile(taskId, executorIndex, stream)).catch(() => undefined),
      ),
    );
  }
}
