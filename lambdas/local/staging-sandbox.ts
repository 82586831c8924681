/**
 * Stage-in and stage-out on this machine: the very entry point Fargate runs in our runtime image
 * (`lambdas/runtime/main.ts`, bundled as it is there), as a process of its own in a bubblewrap
 * sandbox: the task's host uid (as root), the task's volumes at their container paths and a scratch
 * directory, read-only everything else, no capabilities, and the network, to reach the staging
 * broker and the inputs. It holds nothing but the run's staging token.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SCRATCH_PATH } from '../domain/task-definition.js';
import { bundleRuntime, RUNTIME_BUNDLE } from '../runtime/image.js';
import { BubblewrapSandbox } from './bubblewrap.js';
import type { SandboxSpec } from './sandbox.js';

/** Where the staging code and Node.js appear inside the sandbox (under /opt/tes, as in the runtime image). */
const APP_DIR = '/opt/tes/app';
const NODE_PATH = '/opt/tes/node';
const MIB = 1024 * 1024;

export interface StagingRun {
  phase: 'stage-in' | 'stage-out';
  /** The host uid the task's volumes belong to (what the staging process runs as, when root). */
  hostId: number;
  uid: number;
  gid: number;
  /** Container path → host directory. */
  volumes: ReadonlyMap<string, string>;
  scratchDir: string;
  /** The staging container's environment from the RunTask overrides, and what the runner adds. */
  env: Record<string, string>;
  name: string;
  stdio: { stdout: number; stderr: number };
}

export class StagingSandbox {
  private bundle: Promise<string> | undefined;
  private readonly sandbox = new BubblewrapSandbox();

  constructor(private readonly workRoot: string) {}

  /** Bundles the runtime entry point once, as the runtime image holds it. */
  private code(): Promise<string> {
    this.bundle ??= (async () => {
      const dir = join(this.workRoot, 'runtime');
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const outfile = join(dir, RUNTIME_BUNDLE);
      await bundleRuntime(outfile);
      return dirname(outfile);
    })();
    return this.bundle;
  }

  async spawn(run: StagingRun): Promise<ChildProcess> {
    const app = await this.code();
    const spec: SandboxSpec = {
      hostId: run.hostId,
      uid: run.uid,
      gid: run.gid,
      binds: [...[...run.volumes].map(([path, host]) => ({ host, path })), { host: run.scratchDir, path: SCRATCH_PATH }],
      files: [
        { host: app, path: APP_DIR },
        { host: process.execPath, path: NODE_PATH },
      ],
      tmpfs: [{ path: '/tmp', bytes: 64 * MIB }],
      argv: [NODE_PATH, `${APP_DIR}/main.mjs`, run.phase],
      env: { PATH: '/usr/bin:/bin', NODE_ENV: 'production', ...run.env },
      network: true,
      // Trusted code, but it handles what tasks name: bounded all the same.
      limits: { memoryBytes: 4096 * MIB, cpus: 1, pids: 256, shmBytes: MIB },
      name: run.name,
    };
    return this.sandbox.spawn(spec, run.stdio);
  }

  kill(child: ChildProcess): void {
    this.sandbox.kill(child);
  }
}
