/**
 * The fallback sandbox: bubblewrap. The host's system directories, read-only, stand in for the
 * image. Its own user, PID, network, IPC and UTS namespaces; no capabilities, not even in the
 * bounding set; no new privileges; a read-only root; a read-only minimal /dev with a sized
 * /dev/shm; sized tmpfs /tmp and $HOME; only the task's own volumes. When the server runs as root,
 * bubblewrap runs as an unprivileged host uid chosen per task, with that uid's process limit set to
 * the task's, so the sandbox's user is not host root and one task cannot read another's files.
 * Its options travel through a pipe (--args), so /proc/1/cmdline inside shows no host path.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { hostIdFor, killGroup, launcherEnvironment, runningAsRoot, type Finished, type Prepared, type Sandbox, type SandboxSpec } from './sandbox.js';

const run = promisify(execFile);

const SYSTEM_DIRECTORIES = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const ETC_SHARED = ['/etc/alternatives', '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/localtime', '/etc/nsswitch.conf', '/etc/ssl', '/etc/ca-certificates', '/etc/resolv.conf', '/etc/hosts'];

function systemMounts(network: boolean): string[] {
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
  // Name resolution and certificates only where there is a network to use them (staging).
  for (const path of ETC_SHARED) if (network || !['/etc/resolv.conf', '/etc/hosts', '/etc/ssl', '/etc/ca-certificates'].includes(path)) args.push('--ro-bind-try', path, path);
  return args;
}

function assertArgument(value: string): string {
  // The options travel NUL-separated: a NUL would start a new option (admission refuses them first).
  if (value.includes('\u0000')) throw new Error('a sandbox argument holds a NUL character');
  return value;
}

/** bubblewrap's options for a run (everything before `--`), in the order bubblewrap applies them. */
export function bubblewrapOptions(spec: SandboxSpec): string[] {
  // --disable-userns: no nested user namespace, so no way back to capabilities inside the sandbox.
  const args = ['--die-with-parent', '--new-session', '--unshare-user', '--disable-userns', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  if (!spec.network) args.push('--unshare-net');
  args.push(...systemMounts(spec.network), '--proc', '/proc');
  // A fresh /dev with only the standard devices, read-only, and a /dev/shm of the task's size.
  args.push('--dev', '/dev', '--size', String(spec.limits.shmBytes), '--perms', '1777', '--tmpfs', '/dev/shm', '--remount-ro', '/dev');
  for (const file of spec.files) args.push('--ro-bind', file.host, file.path);
  for (const t of spec.tmpfs) args.push('--size', String(t.bytes), '--perms', '1777', '--tmpfs', t.path);
  for (const bind of spec.binds) args.push('--bind', bind.host, bind.path);
  args.push('--remount-ro', '/', '--hostname', 'tes', '--uid', String(spec.uid), '--gid', String(spec.gid), '--cap-drop', 'ALL');
  args.push('--chdir', spec.workdir ?? '/', '--clearenv');
  for (const [name, value] of Object.entries(spec.env)) args.push('--setenv', name, value);
  return args.map(assertArgument);
}

/**
 * The host command that starts the sandbox; its options come on file descriptor 3. Memory is capped
 * per process (RLIMIT_DATA: what a process may allocate, which a reservation such as the JVM's or
 * V8's is not); as root, processes too.
 */
export function bubblewrapCommand(spec: SandboxSpec): string[] {
  const bwrap = ['bwrap', '--args', '3', '--', ...spec.argv.map(assertArgument)];
  const memory = `--data=${spec.limits.memoryBytes}:${spec.limits.memoryBytes}`;
  // Raising one's own OOM score needs no privilege; the sandbox's processes inherit it.
  const oom = spec.limits.oomScoreAdj === undefined ? [] : ['choom', '-n', String(spec.limits.oomScoreAdj), '--'];
  if (!runningAsRoot) return [...oom, 'prlimit', memory, '--', ...bwrap];
  // As root, bubblewrap would map the sandbox user onto host root: run it as the task's own
  // unprivileged uid instead, whose process count (RLIMIT_NPROC counts per host uid) is the task's limit.
  return [
    ...oom,
    'prlimit', memory, `--nproc=${spec.limits.pids}:${spec.limits.pids}`, '--',
    'setpriv', `--reuid=${spec.hostId}`, `--regid=${spec.hostId}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--',
    ...bwrap,
  ];
}

export class BubblewrapSandbox implements Sandbox {
  readonly kind = 'bubblewrap';
  readonly lacks: readonly string[] = [
    "the task's image (the host's /usr stands in for it)",
    'a memory limit for the task as a whole (each of its processes may allocate its memory) and a CPU limit',
    'a seccomp profile',
    'the reason in the system logs when a limit stops it',
    ...(runningAsRoot ? [] : ["a per-task process limit (it needs the server to run as root, for a host uid per task)"]),
  ];

  /** Checks that bubblewrap is installed and can make a sandbox here; the reason when it cannot. */
  static async detect(): Promise<string | undefined> {
    const probe: SandboxSpec = {
      hostId: hostIdFor('probe'),
      uid: 1000,
      gid: 1000,
      binds: [],
      files: [],
      tmpfs: [{ path: '/tmp', bytes: 1024 * 1024 }],
      argv: ['/bin/sh', '-c', 'test "$(id -u)" = 1000'],
      env: { PATH: '/usr/bin:/bin' },
      network: false,
      // With every launcher a task's sandbox goes through (choom, prlimit, setpriv as root, bwrap).
      limits: { memoryBytes: 64 * 1024 * 1024, cpus: 1, pids: 64, shmBytes: 1024 * 1024, oomScoreAdj: 1000 },
      name: 'probe',
    };
    try {
      const child = new BubblewrapSandbox().spawn(probe, { stdout: 'ignore' as never, stderr: 'pipe' as never });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number>((resolve) => {
        child.on('error', () => resolve(127));
        child.on('exit', (c) => resolve(c ?? 1));
      });
      if (code === 0) return undefined;
      throw new Error(stderr.trim() || `exit code ${code}`);
    } catch (error) {
      return `bubblewrap cannot create a sandbox here (${(error as Error).message}); install it (Debian: apt-get install bubblewrap util-linux) and allow unprivileged user namespaces`;
    }
  }

  prepare(): Promise<Prepared> {
    return Promise.resolve({});
  }

  spawn(spec: SandboxSpec, stdio: { stdout: number; stderr: number }): ChildProcess {
    const [command, ...args] = bubblewrapCommand(spec);
    const child = spawn(command as string, args, { env: launcherEnvironment(), stdio: ['ignore', stdio.stdout, stdio.stderr, 'pipe'], detached: true });
    const options = child.stdio[3] as NodeJS.WritableStream | null;
    options?.on('error', () => undefined);
    options?.end(Buffer.from(bubblewrapOptions(spec).map((a) => `${a}\u0000`).join('')));
    return child;
  }

  volumeOwner(spec: Pick<SandboxSpec, 'hostId'>): { uid: number; gid: number } | undefined {
    // The sandbox's user is the host uid bubblewrap runs as (only root can choose it).
    return runningAsRoot ? { uid: spec.hostId, gid: spec.hostId } : undefined;
  }

  kill(child: ChildProcess): void {
    killGroup(child);
  }

  finish(): Promise<Finished> {
    return Promise.resolve({ removed: Promise.resolve() });
  }
}

/** Whether `bwrap` exists at all (staging needs it whatever runs the executors). */
export async function hasBubblewrap(): Promise<boolean> {
  return run('bwrap', ['--version'], { env: launcherEnvironment() }).then(
    () => true,
    () => false,
  );
}
