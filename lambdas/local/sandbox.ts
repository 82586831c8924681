/**
 * Where a local executor (or staging) runs: a container runtime running the task's real image with
 * Fargate's hardening and the task's limits (Podman or Docker), or bubblewrap with the host's
 * system directories standing in for the image. Nothing of a task is interpreted on the host: the
 * launcher runs with an environment of ours (launcherEnvironment), the task's env is set only
 * inside the sandbox, and every task value reaches the runtime where no option can be.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';

export type RuntimeKind = 'podman' | 'docker' | 'bubblewrap';
export const RUNTIME_KINDS: readonly RuntimeKind[] = ['podman', 'docker', 'bubblewrap'];

export interface SandboxLimits {
  /** Memory for the whole sandbox (the task's Fargate memory). */
  memoryBytes: number;
  /** CPUs (the task's Fargate vCPUs). */
  cpus: number;
  /** Processes and threads at once. */
  pids: number;
  /** Size of /dev/shm. */
  shmBytes: number;
  /** How readily the kernel's OOM killer picks the sandbox's processes (Linux oom_score_adj, -1000 to 1000). */
  oomScoreAdj?: number;
}

export interface SandboxSpec {
  /** Unprivileged host uid/gid the sandbox's user is on the host (when the server runs as root). */
  hostId: number;
  /** uid/gid inside the sandbox. */
  uid: number;
  gid: number;
  /** Host directory → sandbox directory, read-write. */
  binds: { host: string; path: string }[];
  /** Host files or directories → sandbox paths, read-only (a generated /etc/passwd, the staging code). */
  files: { host: string; path: string }[];
  tmpfs: { path: string; bytes: number }[];
  workdir?: string;
  argv: string[];
  /** The environment inside the sandbox, and only there. */
  env: Record<string, string>;
  /** Keep the host network (staging needs it); executors never get it. */
  network: boolean;
  limits: SandboxLimits;
  /** The executor's image (container runtimes run it; bubblewrap stands the host's /usr in for it). */
  image?: string;
  /** A name unique to this run, to stop it by. */
  name: string;
}

/** What a runtime did before the run, for the task's system logs. */
export interface Prepared {
  /** When an image pull started and ended (ECS reports the same as PullStartedAt / PullStoppedAt). */
  pull?: { startedAt: string; stoppedAt: string };
}

/** The image could not be had: the executor does not run (ECS: CannotPullContainerError). */
export class ImageUnavailableError extends Error {
  override readonly name = 'CannotPullContainerError';
}

export interface Sandbox {
  readonly kind: RuntimeKind;
  /** What this runtime does not enforce on this machine, in words for `npm start` and the README. */
  readonly lacks: readonly string[];
  /** Makes the image available, pulling it on first use; throws ImageUnavailableError. */
  prepare(spec: SandboxSpec): Promise<Prepared>;
  spawn(spec: SandboxSpec, stdio: { stdout: number; stderr: number }): ChildProcess;
  /** Who must own the volumes on the host for the sandbox's user to write them. */
  volumeOwner(spec: Pick<SandboxSpec, 'hostId' | 'uid' | 'gid'>): { uid: number; gid: number } | undefined;
  /** Stops a run for good (the process, and whatever it started). */
  kill(child: ChildProcess, spec: SandboxSpec): void;
  /**
   * Once the run has exited: why the platform stopped it, if it did (OutOfMemoryError), and the
   * removal of what the run left with the runtime, which may go on after the answer.
   */
  finish(spec: SandboxSpec, exitCode: number): Promise<Finished>;
}

export interface Finished {
  /** Why the platform stopped the run, if it did. */
  reason?: string;
  /** Settles once the runtime holds nothing more of the run (never rejects). */
  removed: Promise<void>;
}

/**
 * Task uids come from [2^30, 2^31), far above login users and the usual subordinate-id ranges, and
 * below 2^31, which bubblewrap cannot map. Each task gets a block of 65536 (a container's whole uid
 * range, its own user first): no two running tasks share a host uid unless their blocks collide
 * (1 in 16383).
 */
export const TASK_UID_BASE = 2 ** 30;
export const TASK_UID_BLOCK = 65536;
const TASK_UID_BLOCKS = 16383;

/** The first host uid of a task's block, where the sandbox's user lands: the same for every run of it. */
export function hostIdFor(taskId: string): number {
  return TASK_UID_BASE + (createHash('sha256').update(taskId).digest().readUInt32BE(0) % TASK_UID_BLOCKS) * TASK_UID_BLOCK;
}

/**
 * Variables of the server's own environment that the launchers (podman, docker, bwrap) may need:
 * the operator's, never a task's. Everything else, LD_PRELOAD and NODE_OPTIONS included, is left out.
 */
const LAUNCHER_PASSTHROUGH = ['CONTAINERS_CONF', 'CONTAINERS_STORAGE_CONF', 'CONTAINERS_REGISTRIES_CONF', 'XDG_RUNTIME_DIR', 'DOCKER_HOST', 'DOCKER_CONFIG', 'HOME', 'TMPDIR'];

export const LAUNCHER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment every launcher runs with: a fixed PATH and the operator's runtime settings. */
export function launcherEnvironment(server: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: LAUNCHER_PATH, LANG: 'C' };
  for (const name of LAUNCHER_PASSTHROUGH) {
    const value = server[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}

export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export const runningAsRoot = process.getuid?.() === 0;
