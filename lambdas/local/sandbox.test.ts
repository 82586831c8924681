/** The sandbox command lines carry every hardening flag (the Docker path is checked here only: no daemon in CI). */
import { describe, expect, it } from 'vitest';
import { bubblewrapArgs, dockerArgs, hostIdFor, type SandboxSpec } from './sandbox.js';

const spec: SandboxSpec = {
  hostId: 212345,
  uid: 1000,
  gid: 1000,
  binds: [{ host: '/var/tmp/t/v0', path: '/data' }],
  files: [{ host: '/var/tmp/t/etc/passwd', path: '/etc/passwd' }],
  tmpfs: [{ path: '/tmp', bytes: 1024 }],
  workdir: '/data',
  argv: ['printf', '%s', 'a b'],
  env: { K: 'v' },
  network: false,
  image: 'ubuntu:24.04',
  name: 'tes-x-0',
};

describe('bubblewrap command line', () => {
  const args = bubblewrapArgs(spec);
  it('unshares user, PID, IPC, UTS and network namespaces and dies with its parent', () => {
    for (const flag of ['--unshare-user', '--disable-userns', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--die-with-parent', '--new-session']) {
      expect(args).toContain(flag);
    }
  });
  it('drops every capability and runs as the executor user with a read-only root', () => {
    expect(args.join(' ')).toContain('--uid 1000 --gid 1000 --cap-drop ALL');
    expect(args.join(' ')).toContain('--remount-ro /');
    expect(args.join(' ')).toContain('--ro-bind /usr /usr');
  });
  it('passes argv after -- exactly', () => {
    expect(args.slice(args.indexOf('--') + 1)).toEqual(['printf', '%s', 'a b']);
  });
  it('keeps the network only when asked (staging), never for executors', () => {
    expect(bubblewrapArgs({ ...spec, network: true })).not.toContain('--unshare-net');
  });
  it('gives every task its own unprivileged host uid', () => {
    expect(hostIdFor('a')).toBeGreaterThanOrEqual(200_000);
    expect(hostIdFor('a')).toBe(hostIdFor('a'));
    expect(hostIdFor('a')).not.toBe(hostIdFor('b'));
  });
});

describe('docker command line', () => {
  const args = dockerArgs(spec);
  it('runs the image read-only, non-root, without capabilities, privileges or network', () => {
    const line = args.join(' ');
    for (const part of ['--read-only', '--user 1000:1000', '--cap-drop ALL', '--security-opt no-new-privileges', '--network none', '--init', '--rm']) {
      expect(line).toContain(part);
    }
    expect(line).not.toContain('--privileged');
  });
  it('replaces the image entry point with argv[0] and passes the rest as the command', () => {
    expect(args.slice(args.indexOf('--entrypoint'))).toEqual(['--entrypoint', 'printf', 'ubuntu:24.04', '%s', 'a b']);
  });
  it('mounts only the volumes, the generated files read-only, and tmpfs /tmp', () => {
    expect(args).toContain('/var/tmp/t/v0:/data:rw');
    expect(args).toContain('/var/tmp/t/etc/passwd:/etc/passwd:ro');
    expect(args).toContain('/tmp:rw,nosuid,nodev,size=1024,mode=1777');
  });
});
