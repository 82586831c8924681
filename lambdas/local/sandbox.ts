/**
 * The local stand-in for a hardened container: a bubblewrap sandbox. The host's system directories,
 * read-only, stand in for the image. It gets its own user, PID, network, IPC and UTS namespaces, no
 * capabilities (not even in the bounding set), no new privileges, a read-only root, tmpfs /tmp and
 * $HOME, and only the task's own volumes. When the server runs as root, bubblewrap is started as an
 * unprivileged host uid chosen per task, so the sandbox's "non-root" user is not host root and one
 * task cannot read another's files.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SandboxSpec {
  /** Unprivileged host uid/gid bubblewrap runs as (used only when the server runs as root). */
  hostId: number;
  /** uid/gid inside the sandbox. */
  uid: number;
  gid: number;
  /** Host directory → sandbox directory, read-write. */
  binds: { host: string; path: string }[];
  /** Host files → sandbox files, read-only (a generated /etc/passwd, ...). */
  files: { host: string; path: string }[];
  tmpfs: { path: string; bytes: number }[];
  workdir?: string;
  argv: string[];
  env: Record<string, string>;
  /** Keep the host network (staging needs it); executors never get it. */
  network: boolean;
  /** The executor's image (Docker pulls and runs it; bubblewrap stands the host's /usr in for it). */
  image?: string;
  /** A name unique to this run, to stop it by. */
  name?: string;
}

const SYSTEM_DIRECTORIES = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const ETC_SHARED = ['/etc/alternatives', '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/localtime', '/etc/nsswitch.conf'];

/** A host uid for a task: the same for every run of it, in a range no real user has. */
export function hostIdFor(taskId: string): number {
  return 200_000 + (createHash('sha256').update(taskId).digest().readUInt32BE(0) % 800_000);
}

function systemMounts(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of SYSTEM_DIRECTORIES) {
    try {
      const info = lstatSync(dir);
      if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
      else args.push('--ro-bind', dir, dir);
    } catch {
      // absent on this host
    }
  }
  args.push('--dir', '/etc');
  for (const path of ETC_SHARED) args.push('--ro-bind-try', path, path);
  return args;
}

export function bubblewrapArgs(spec: SandboxSpec): string[] {
  // --disable-userns: no nested user namespace, so no way back to capabilities inside the sandbox.
  const args = ['--die-with-parent', '--new-session', '--unshare-user', '--disable-userns', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  if (!spec.network) args.push('--unshare-net');
  args.push(...systemMounts(), '--proc', '/proc', '--dev', '/dev');
  for (const file of spec.files) args.push('--ro-bind', file.host, file.path);
  for (const t of spec.tmpfs) args.push('--size', String(t.bytes), '--perms', '1777', '--tmpfs', t.path);
  for (const bind of spec.binds) args.push('--bind', bind.host, bind.path);
  args.push('--remount-ro', '/', '--hostname', 'tes', '--uid', String(spec.uid), '--gid', String(spec.gid), '--cap-drop', 'ALL');
  args.push('--chdir', spec.workdir ?? '/', '--', ...spec.argv);
  return args;
}

export interface Sandbox {
  spawn(spec: SandboxSpec, stdio: { stdout: number; stderr: number }): ChildProcess;
  /** Who must own the volumes on the host for the sandbox's user to write them. */
  volumeOwner(spec: Pick<SandboxSpec, 'hostId' | 'uid' | 'gid'>): { uid: number; gid: number } | undefined;
  /** Stops a run for good (the process, and whatever it started). */
  kill(child: ChildProcess, spec: SandboxSpec): void;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const runningAsRoot = process.getuid?.() === 0;

export class BubblewrapSandbox implements Sandbox {
  /** Checks that bubblewrap is installed and can make a sandbox here; the reason when it cannot. */
  static async detect(): Promise<string | undefined> {
    try {
      const probe = new BubblewrapSandbox();
      const [command, ...args] = probe.commandLine({
        hostId: hostIdFor('probe'),
        uid: 1000,
        gid: 1000,
        binds: [],
        files: [],
        tmpfs: [{ path: '/tmp', bytes: 1024 * 1024 }],
        argv: ['/bin/sh', '-c', 'test "$(id -u)" = 1000'],
        env: { PATH: '/usr/bin:/bin' },
        network: false,
      });
      await run(command as string, args, { timeout: 10_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
      return undefined;
    } catch (error) {
      const detail = (error as { stderr?: string; code?: string }).stderr?.trim() || (error as Error).message;
      return `bubblewrap cannot create a sandbox here (${detail}); install it (Debian: apt-get install bubblewrap) and allow unprivileged user namespaces`;
    }
  }

  commandLine(spec: SandboxSpec): string[] {
    const bwrap = ['bwrap', ...bubblewrapArgs(spec)];
    if (!runningAsRoot) return bwrap;
    // As root, bubblewrap would map the sandbox user onto host root; run it as an unprivileged uid instead.
    return ['setpriv', `--reuid=${spec.hostId}`, `--regid=${spec.hostId}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--', ...bwrap];
  }

  spawn(spec: SandboxSpec, stdio: { stdout: number; stderr: number }): ChildProcess {
    const [command, ...args] = this.commandLine(spec);
    return spawn(command as string, args, { env: spec.env, stdio: ['ignore', stdio.stdout, stdio.stderr], detached: true });
  }

  volumeOwner(spec: Pick<SandboxSpec, 'hostId'>): { uid: number; gid: number } | undefined {
    // The sandbox's user is the host uid bubblewrap runs as (only root can choose it).
    return runningAsRoot ? { uid: spec.hostId, gid: spec.hostId } : undefined;
  }

  kill(child: ChildProcess): void {
    killGroup(child);
  }
}

/** `docker run` with the same hardening the executor gets on Fargate, plus what Docker can add. */
export function dockerArgs(spec: SandboxSpec): string[] {
  if (spec.image === undefined || spec.name === undefined) throw new Error('Docker needs an image and a name');
  const [entryPoint, ...command] = spec.argv;
  const args = [
    'run', '--rm', '--name', spec.name,
    '--read-only', '--user', `${spec.uid}:${spec.gid}`,
    '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '--network', spec.network ? 'bridge' : 'none',
    '--init', '--pids-limit', '4096',
  ];
  for (const t of spec.tmpfs) args.push('--tmpfs', `${t.path}:rw,nosuid,nodev,size=${t.bytes},mode=1777`);
  for (const bind of spec.binds) args.push('--volume', `${bind.host}:${bind.path}:rw`);
  for (const file of spec.files) args.push('--volume', `${file.host}:${file.path}:ro`);
  if (spec.workdir !== undefined) args.push('--workdir', spec.workdir);
  for (const [name, value] of Object.entries(spec.env)) args.push('--env', `${name}=${value}`);
  args.push('--entrypoint', entryPoint as string, spec.image, ...command);
  return args;
}

/** Runs executors in Docker containers, when a Docker daemon is reachable. */
export class DockerSandbox implements Sandbox {
  /** undefined when a daemon answers; otherwise why Docker cannot be used. */
  static async detect(): Promise<string | undefined> {
    try {
      await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000 });
      return undefined;
    } catch (error) {
      return `no Docker daemon is reachable (${((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0]})`;
    }
  }

  spawn(spec: SandboxSpec, stdio: { stdout: number; stderr: number }): ChildProcess {
    return spawn('docker', dockerArgs(spec), { stdio: ['ignore', stdio.stdout, stdio.stderr], detached: true });
  }

  volumeOwner(spec: Pick<SandboxSpec, 'uid' | 'gid'>): { uid: number; gid: number } {
    return { uid: spec.uid, gid: spec.gid };
  }

  kill(child: ChildProcess, spec: SandboxSpec): void {
    // Killing the client would leave the container running: stop the container itself.
    if (spec.name !== undefined) spawn('docker', ['kill', spec.name], { stdio: 'ignore' }).on('error', () => undefined);
    killGroup(child);
  }
}

/** The sandbox to run executors in: Docker when a daemon answers, else bubblewrap, else none (and why). */
export async function chooseSandbox(): Promise<{ sandbox: Sandbox; problem?: string; kind: 'docker' | 'bubblewrap' }> {
  if ((await DockerSandbox.detect()) === undefined) return { sandbox: new DockerSandbox(), kind: 'docker' };
  const problem = await BubblewrapSandbox.detect();
  return { sandbox: new BubblewrapSandbox(), kind: 'bubblewrap', ...(problem === undefined ? {} : { problem }) };
}
