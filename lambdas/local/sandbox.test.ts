/** The sandbox command lines: every hardening flag and limit, and no task value where an option could be. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { bubblewrapCommand, bubblewrapOptions } from './bubblewrap.js';
import { containerRunArgs, sentinelScript, withoutUserNamespaces } from './container-runtime.js';
import { requestedRuntime } from './runtimes.js';
import { hostIdFor, launcherEnvironment, TASK_UID_BASE, type SandboxSpec } from './sandbox.js';

const spec: SandboxSpec = {
  hostId: 2 ** 30 + 7 * 65536,
  uid: 1000,
  gid: 1000,
  binds: [{ host: '/var/tmp/t/v0', path: '/data' }],
  files: [{ host: '/var/tmp/t/etc/passwd', path: '/etc/passwd' }],
  tmpfs: [{ path: '/tmp', bytes: 1024 }],
  workdir: '/data',
  argv: ['printf', '%s', 'a b'],
  env: { K: 'v', LD_PRELOAD: '/data/evil.so' },
  network: false,
  limits: { memoryBytes: 256 * 1024 * 1024, cpus: 0.5, pids: 100, shmBytes: 64 * 1024 * 1024 },
  image: 'ubuntu:24.04',
  name: 'tes-x-0',
};

describe('bubblewrap', () => {
  const options = bubblewrapOptions(spec);
  const line = options.join(' ');
  it('unshares user, PID, IPC, UTS and network namespaces and dies with its parent', () => {
    for (const flag of ['--unshare-user', '--disable-userns', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--die-with-parent', '--new-session']) {
      expect(options).toContain(flag);
    }
  });
  it('drops every capability and runs as the executor user with a read-only root', () => {
    expect(line).toContain('--uid 1000 --gid 1000 --cap-drop ALL');
    expect(line).toContain('--remount-ro /');
    expect(line).toContain('--ro-bind /usr /usr');
  });
  it('gives a read-only minimal /dev and a /dev/shm of the given size', () => {
    expect(line).toContain(`--dev /dev --size ${64 * 1024 * 1024} --perms 1777 --tmpfs /dev/shm --remount-ro /dev`);
  });
  it("sets the task's environment inside the sandbox only, after clearing it", () => {
    expect(line).toMatch(/--clearenv --setenv K v --setenv LD_PRELOAD \/data\/evil\.so$/);
  });
  it('passes argv after -- exactly, and no host path on the command line (its options come through a pipe)', () => {
    const command = bubblewrapCommand(spec);
    expect(command.slice(command.indexOf('--args'))).toEqual(['--args', '3', '--', 'printf', '%s', 'a b']);
    expect(command).toContain(`--data=${256 * 1024 * 1024}:${256 * 1024 * 1024}`);
    if (process.getuid?.() === 0) expect(command.join(' ')).toMatch(/--nproc=100:100 -- setpriv --reuid=\d+/);
    expect(command.join(' ')).not.toContain('/var/tmp');
  });
  it('refuses an argument holding NUL, which would start a new option', () => {
    expect(() => bubblewrapOptions({ ...spec, env: { K: 'v\u0000--bind' } })).toThrow(/NUL/);
  });
  it('keeps the network only when asked (staging), never for executors', () => {
    expect(bubblewrapOptions({ ...spec, network: true })).not.toContain('--unshare-net');
  });
  it('gives every task its own unprivileged host uid, outside the usual ranges', () => {
    expect(hostIdFor('a')).toBeGreaterThanOrEqual(TASK_UID_BASE);
    expect(hostIdFor('a') % 65536).toBe(0);
    expect(hostIdFor('a') + 65535).toBeLessThan(2 ** 31);
    expect(hostIdFor('a')).toBe(hostIdFor('a'));
    expect(hostIdFor('a')).not.toBe(hostIdFor('b'));
  });
});

describe('the launchers run with an environment of ours', () => {
  it('keeps only a fixed PATH and the operator runtime settings', () => {
    const env = launcherEnvironment({ PATH: '/data/bin:/usr/bin', LD_PRELOAD: '/x.so', NODE_OPTIONS: '--require /x', CONTAINERS_CONF: '/etc/c.conf', LD_LIBRARY_PATH: '/x' });
    expect(env).toEqual({ PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', CONTAINERS_CONF: '/etc/c.conf' });
  });
});

describe.each(['podman', 'docker'] as const)('%s run', (engine) => {
  const args = containerRunArgs(engine, spec, engine === 'podman' ? 'per-task' : 'none', '42');
  const line = args.join(' ');
  it('runs the image read-only, non-root, without capabilities, privileges or network, with an init', () => {
    for (const part of ['--read-only', '--user=1000:1000', '--cap-drop=ALL', '--security-opt=no-new-privileges', '--network=none', '--init', '--pull=missing']) {
      expect(args).toContain(part);
    }
    expect(line).not.toContain('privileged');
    expect(line).not.toContain('seccomp');
  });
  it("enforces the task's memory (without swap), CPUs, processes and /dev/shm", () => {
    for (const part of [`--memory=${256 * 1024 * 1024}b`, `--memory-swap=${256 * 1024 * 1024}b`, '--cpus=0.5', '--pids-limit=100', `--shm-size=${64 * 1024 * 1024}b`]) {
      expect(args).toContain(part);
    }
  });
  it('gives Podman a seccomp profile when one is named', () => {
    expect(containerRunArgs(engine, spec, 'none', '42', { seccompProfile: '/w/seccomp.json' })).toContain('--security-opt=seccomp=/w/seccomp.json');
  });
  it('leaves out the cgroup limits where the runtime cannot set them (rootless Podman on cgroup v1), keeping /dev/shm', () => {
    const line = containerRunArgs(engine, spec, 'keep-id', '42', { cgroupLimits: false }).join(' ');
    expect(line).not.toMatch(/--memory|--cpus|--pids-limit/);
    expect(line).toContain('--shm-size=');
  });
  it('puts the image, fully qualified as Docker and ECS read it, after --, where no option can be, and argv after it unchanged', () => {
    expect(args.slice(args.indexOf('--'))).toEqual(['--', 'docker.io/library/ubuntu:24.04', '%s', 'a b']);
  });
  it('writes every option as --name=value, so no value can be read as an option', () => {
    const options = args.slice(1, args.indexOf('--'));
    for (const option of options) expect(option).toMatch(/^--[a-z-]+(=|$)/);
    expect(options).toContain('--env=LD_PRELOAD=/data/evil.so');
  });
  it('replaces the image entry point with argv[0]', () => {
    expect(args).toContain(engine === 'podman' ? '--entrypoint=["printf"]' : '--entrypoint=printf');
  });
  it('never lets a path split a mount option, even one stored before admission refused it', () => {
    expect(() => containerRunArgs(engine, { ...spec, binds: [{ host: '/h', path: '/data,readonly=false,source=/' }] }, 'none', '42')).toThrow(/cannot be mounted/);
  });
  it('mounts only the volumes, the given files read-only, and sized tmpfs', () => {
    expect(args).toContain('--mount=type=bind,source=/var/tmp/t/v0,destination=/data');
    expect(args).toContain('--mount=type=bind,source=/var/tmp/t/etc/passwd,destination=/etc/passwd,readonly');
    expect(args).toContain('--tmpfs=/tmp:rw,nosuid,nodev,size=1024,mode=1777');
  });
});

describe('rootful Podman maps the container user onto the task host uid', () => {
  it("maps uid and gid 1000 to the task's uid, and every other container uid into the rest of the task's block", () => {
    const args = containerRunArgs('podman', spec, 'per-task', '42');
    const id = spec.hostId;
    for (const flag of ['--uidmap', '--gidmap']) {
      expect(args).toEqual(expect.arrayContaining([`${flag}=0:${id + 1}:1000`, `${flag}=1000:${id}:1`, `${flag}=1001:${id + 1001}:64535`]));
    }
  });
  it('keeps the server user as the container user when rootless', () => {
    expect(containerRunArgs('podman', spec, 'keep-id', '42')).toContain('--userns=keep-id:uid=1000,gid=1000');
  });
});

describe('the sentinel that outlives a killed stack', () => {
  /** A stand-in for a runtime client: a process whose command line carries the run's flags, ending by itself after `ms`. */
  const client = (stackId: string, ms = 300_000): ChildProcess =>
    spawn(process.execPath, ['-e', `setTimeout(() => {}, ${ms})`, '--', 'run', `--label=tes.local.stack=${stackId}`, '--name=tes-x-0'], { stdio: 'ignore' });

  it('waits for the runtime clients the stack left to end (one may be creating its container), and does not kill them', async () => {
    const stack = spawn('sleep', ['300'], { stdio: 'ignore' });
    const id = String(stack.pid);
    // A client that ends by itself, as one does once the sweep has removed its container.
    const left = client(id, 1500);
    const sentinel = spawn('/bin/sh', ['-c', sentinelScript('podman', id, 30)], { stdio: 'ignore' });
    try {
      const leftExit = once(left, 'exit');
      const sentinelExit = once(sentinel, 'exit');
      stack.kill('SIGKILL');
      expect(await leftExit).toEqual([0, null]);
      expect(await sentinelExit).toEqual([0, null]);
    } finally {
      for (const p of [stack, left, sentinel]) p.kill('SIGKILL');
    }
  });

  it("kills the clients still there past its patience, and no one else's", async () => {
    const stack = spawn('sleep', ['300'], { stdio: 'ignore' });
    const id = String(stack.pid);
    const left = client(id);
    // Another stack's client, whose id starts with this one's, and a process that merely names the label.
    const other = client(`${id}1`);
    const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300_000)', '--', `tes.local.stack=${id}`], { stdio: 'ignore' });
    const sentinel = spawn('/bin/sh', ['-c', sentinelScript('podman', id, 1)], { stdio: 'ignore' });
    try {
      const leftExit = once(left, 'exit');
      const sentinelExit = once(sentinel, 'exit');
      stack.kill('SIGKILL');
      expect(await leftExit).toEqual([null, 'SIGKILL']);
      // It does not kill itself on the way (its own command line names the flag in two halves).
      expect(await sentinelExit).toEqual([0, null]);
      expect(other.exitCode ?? other.signalCode).toBeNull();
      expect(bystander.exitCode ?? bystander.signalCode).toBeNull();
    } finally {
      for (const p of [stack, left, other, bystander, sentinel]) p.kill('SIGKILL');
    }
  });

  it('takes only a process id', () => {
    expect(() => sentinelScript('podman', '1; rm -rf /')).toThrow(/a stack id is a process id/);
  });
});

describe("Podman's seccomp profile, less nested user namespaces", () => {
  const profile = withoutUserNamespaces({
    syscalls: [
      { names: ['read', 'clone', 'clone3', 'unshare', 'mount'], action: 'SCMP_ACT_ALLOW' },
      { names: ['setns'], action: 'SCMP_ACT_ERRNO' },
    ],
  });
  it('no longer allows clone, clone3 or unshare unconditionally, and keeps the rest', () => {
    expect(profile.syscalls[0]).toEqual({ names: ['read', 'mount'], action: 'SCMP_ACT_ALLOW' });
    expect(profile.syscalls[1]).toEqual({ names: ['setns'], action: 'SCMP_ACT_ERRNO' });
  });
  it('allows clone and unshare only without CLONE_NEWUSER, and answers clone3 ENOSYS', () => {
    const rule = (name: string) => profile.syscalls.filter((r) => r.names.includes(name));
    expect(rule('unshare')).toEqual([{ names: ['unshare'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x10000000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    expect(rule('clone').map((r) => r.args?.[0]?.index)).toEqual([0, 1]);
    expect(rule('clone3')).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
  });
});

describe('TES_LOCAL_RUNTIME', () => {
  it('names a runtime or auto, and anything else is an error naming the variable', () => {
    expect(requestedRuntime({ TES_LOCAL_RUNTIME: 'podman' })).toBe('podman');
    expect(requestedRuntime({ TES_LOCAL_RUNTIME: 'auto' })).toBeUndefined();
    expect(requestedRuntime({})).toBeUndefined();
    expect(() => requestedRuntime({ TES_LOCAL_RUNTIME: 'lxc' })).toThrow(/TES_LOCAL_RUNTIME must be one of podman, docker, bubblewrap/);
  });
});
