/**
 * Tasks that attack the local runtime, against every runtime this machine has (CI: Podman and
 * bubblewrap; TES_TEST_RUNTIMES names them). Each must be contained, end in a terminal state with
 * its exit code recorded, and leave the server serving. The scripts run in the test image (busybox)
 * under a container runtime and in the host's tools under bubblewrap, so each uses what both have.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { TesHttp } from './support/target.js';
import { task, TERMINAL_STATES, waitForTerminal } from './support/tasks.js';
import { runtimesUnderTest, TEST_IMAGE } from './support/test-image.js';
import { startTestStack } from './support/local-stack.js';

const run = promisify(execFile);
const runtimes = await runtimesUnderTest();
const root = process.getuid?.() === 0;

/** A connection attempt with whatever the image has (perl on the host, busybox nc in the test image). */
const connect = (host: string, port: number | string) =>
  `if command -v perl >/dev/null; then perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "${host}:${port}", Timeout => 2) and print "ESCAPED\\n"'; else echo | nc -w 2 ${host} ${port} >/dev/null 2>&1 && echo ESCAPED; fi`;

/**
 * A host directory holding what an attacker would want the host-side launcher to load: a shared
 * object whose constructor, a Node.js module that, and commands named like every launcher that,
 * leave a marker here. Any marker means task code ran on the host, outside every sandbox.
 */
async function hostTrap(): Promise<{ dir: string; markers: () => Promise<string[]>; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tes-attack-'));
  await chmod(dir, 0o1777);
  const source = join(dir, 'evil.c');
  await writeFile(source, `#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void evil(void) { char p[512]; snprintf(p, sizeof p, "${dir}/marker-so-%d", (int)getpid()); FILE *f = fopen(p, "w"); if (f) { fprintf(f, "%d\\n", (int)getuid()); fclose(f); } }\n`);
  try {
    await run('cc', ['-shared', '-fPIC', '-o', join(dir, 'evil.so'), source]);
  } catch (error) {
    throw new Error(`the launcher-injection attack needs a C compiler (cc) to build its shared object: ${(error as Error).message}`, { cause: error });
  }
  await writeFile(join(dir, 'evil.cjs'), `require('fs').writeFileSync(${JSON.stringify(join(dir, 'marker-node'))}, String(process.getuid()));\n`);
  await mkdir(join(dir, 'bin'));
  for (const name of ['prlimit', 'setpriv', 'bwrap', 'podman', 'docker', 'node', 'sh', 'env']) {
    await writeFile(join(dir, 'bin', name), `#!/bin/sh\ntouch ${dir}/marker-path-${name}\nexit 1\n`, { mode: 0o755 });
  }
  await chmod(join(dir, 'evil.so'), 0o644);
  return {
    dir,
    markers: async () => (await readdir(dir)).filter((f) => f.startsWith('marker')),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

describe.each(runtimes.map((r) => [r.kind, r] as const))('attacks from inside a task, on %s', (kind, runtime) => {
  let stack: LocalStack;
  let tes: TesHttp;
  beforeAll(async () => {
    if (runtime.problem !== undefined) throw new Error(`${kind} is to be tested here but cannot run: ${runtime.problem}`);
    // Small limits, to attack them cheaply: 256 MiB of disk and 64 processes per executor.
    stack = await startTestStack({ port: 0, env: { TES_LOCAL_RUNTIME: kind, TES_LOCAL_DISK_GB: '0.25', TES_LOCAL_PIDS_LIMIT: '64', TES_LOCAL_STORE: 'dynamodb' } });
    expect((await stack.runtime).sandbox).toBe(kind);
    tes = new TesHttp({ url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers: {}, local: stack, close: () => stack.close() });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  async function attack(script: string, timeoutMs = 60_000, extra: Partial<TesTask> = {}, env: Record<string, string> = {}) {
    const reply = await tes.post<{ id: string }>('/tasks', task({ ...extra, executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', script], env }] }));
    expect(reply.status, reply.text).toBe(200);
    const done = await waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id, timeoutMs);
    expect(TERMINAL_STATES).toContain(done.state);
    const log = done.logs?.[0]?.logs[0];
    expect(log?.exit_code, `the exit code is recorded: ${JSON.stringify(done.logs)}`).toBeTypeOf('number');
    // The server keeps serving.
    expect((await tes.get('/service-info')).status).toBe(200);
    return { task: done, out: `${log?.stdout ?? ''}${log?.stderr ?? ''}`, exit: log?.exit_code ?? -1, system: done.logs?.[0]?.system_logs?.join('\n') ?? '' };
  }

  const escaped = (out: string) => out.includes('ESCAPED');

  it("is the OOM killer's first choice over the server, and cannot make the server its choice", async () => {
    // The kernel lets a process lower its own score only as far as its launcher's (0): never below the server's.
    const { out } = await attack('cat /proc/self/oom_score_adj; echo -1000 > /proc/self/oom_score_adj 2>/dev/null && echo ESCAPED; echo -1 > /proc/self/oom_score_adj 2>/dev/null && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
    expect(out.trim()).toBe('1000');
    expect((await readFile(`/proc/${process.pid}/oom_score_adj`, 'utf8')).trim()).toBe('0');
  });

  it("of a task that reserved its size, is the OOM killer's choice after best-effort tasks, and cannot change that", async () => {
    const { out } = await attack('cat /proc/self/oom_score_adj; echo -1 > /proc/self/oom_score_adj 2>/dev/null && echo ESCAPED; exit 0', 60_000, { resources: { cpu_cores: 1, ram_gb: 1 } });
    expect(escaped(out)).toBe(false);
    expect(out.trim()).toBe('500');
  });

  it("of a best-effort task, can be lowered only as far as the kernel's floor: not at all where the server holds CAP_SYS_RESOURCE, else to the server's 0", async () => {
    // The launcher's write sets the floor only when it holds CAP_SYS_RESOURCE; without it, the floor is the server's 0.
    const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'))?.[1] ?? '0';
    const sysResource = (BigInt(`0x${capEff}`) & (1n << 24n)) !== 0n;
    const { out } = await attack('for v in 999 500 0 -1; do echo $v > /proc/self/oom_score_adj 2>/dev/null && echo took-$v; done; cat /proc/self/oom_score_adj; exit 0');
    if (sysResource) expect(out.trim()).toBe('1000');
    else expect(out.trim().split('\n')).toEqual(['took-999', 'took-500', 'took-0', '0']);
  });

  it('cannot change the passwd and group files the next tasks of its user get', async () => {
    const { out } = await attack('echo "evil:x:0:0::/:/bin/sh" >> /etc/passwd 2>/dev/null && echo ESCAPED; echo "evil:x:0:" >> /etc/group 2>/dev/null && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
    const next = await attack('cat /etc/passwd /etc/group; exit 0');
    expect(next.out).not.toContain('evil');
  });

  it('leaves nothing running, and nothing in a volume, once its run has stopped', async () => {
    const mark = `late-${Date.now()}`;
    const { task: done } = await attack(`(sleep 2; echo ${mark} > /data/${mark}; echo ${mark} > /tmp/${mark}) >/dev/null 2>&1 & exit 0`, 60_000, { volumes: ['/data'] });
    const { runner } = await stack.runtime;
    await runner.stop(done.id as string);
    const runs = join((runner as unknown as { deps: { workRoot: string } }).deps.workRoot, 'runs');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // The background writer died with the executor: no process of it, and no directory of its run, remain.
    expect(await readdir(runs)).toEqual([]);
    const { stdout } = await promisify(execFile)('pgrep', ['-f', mark]).catch(() => ({ stdout: '' }));
    expect(stdout.trim()).toBe('');
  });

  it('cannot write to /', async () => {
    const { out } = await attack('echo x > /evil && echo ESCAPED; mkdir /evil-dir && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
  });

  it('cannot become root through setuid binaries (a setuid-root su with a passwordless root, in the image)', async () => {
    const { out } = await attack(
      'for su in /bin/suid-busybox su; do (command -v $su || [ -x $su ]) >/dev/null && $su -c "id -u" root </dev/null 2>&1 | grep -qx 0 && echo ESCAPED; done; /bin/suid-busybox id -u 2>/dev/null | grep -qx 0 && echo ESCAPED; [ "$(id -u)" = 0 ] && echo ESCAPED; exit 0',
    );
    expect(escaped(out)).toBe(false);
  });

  it('cannot make a user namespace to get capabilities back', async () => {
    const { out } = await attack('unshare -Ur id -u 2>/dev/null && echo ESCAPED; unshare -U true 2>/dev/null && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
  });

  it('cannot open raw sockets', async () => {
    const { out } = await attack(
      `if command -v perl >/dev/null; then perl -MSocket -e 'socket(my $s, PF_INET, SOCK_RAW, 1) and print "ESCAPED\\n"'; else ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1 && echo ESCAPED; fi; exit 0`,
    );
    expect(escaped(out)).toBe(false);
  });

  it('cannot mount anything', async () => {
    const { out } = await attack('mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo ESCAPED; mount --bind / /tmp/m 2>/dev/null && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
  });

  it.each([
    ['the TES server', () => ['127.0.0.1', stack.port] as const],
    ['the EC2 instance metadata service', () => ['169.254.169.254', 80] as const],
    ['the ECS task metadata and credentials endpoint', () => ['169.254.170.2', 80] as const],
    ['the internet', () => ['1.1.1.1', 443] as const],
  ])('cannot reach %s', async (_what, address) => {
    const [host, port] = address();
    const { out } = await attack(`${connect(host, port)}; exit 0`);
    expect(escaped(out)).toBe(false);
  });

  it("cannot read the host's secrets, other processes or other tasks' files", async () => {
    const { out } = await attack(
      'cat /etc/shadow >/dev/null 2>&1 && echo "ESCAPED shadow"; for p in /etc/ssh /root /var /srv /opt /work; do ls "$p" >/dev/null 2>&1 && echo "ESCAPED $p"; done; [ "$(ls /home)" = tes ] || echo ESCAPED-home; ls /tmp | grep . && echo ESCAPED-tmp; exit 0',
    );
    expect(escaped(out)).toBe(false);
  });

  it("cannot find or read another running task's files, nor see its processes", async () => {
    const secret = `secret-${Date.now()}`;
    const victim = await tes.post<{ id: string }>(
      '/tasks',
      task({ volumes: ['/data'], executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', `echo ${secret} > /data/victim-file && sleep 30`] }] }),
    );
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await tes.get<TesTask>(`/tasks/${victim.body.id}`)).body.state !== 'RUNNING') await new Promise((r) => setTimeout(r, 100));
    try {
      const { out } = await attack(
        `find / -name victim-file 2>/dev/null | grep . && echo ESCAPED-found; grep -rs ${secret} /data /tmp /home 2>/dev/null | grep . && echo ESCAPED-read; ls /proc | grep -c '^[0-9]' ; exit 0`,
      );
      expect(escaped(out)).toBe(false);
      // Its own PID namespace: an init, the shell, grep/ls and little else.
      expect(Number(out.trim().split('\n').at(-1))).toBeLessThan(6);
    } finally {
      await tes.post(`/tasks/${victim.body.id}:cancel`, {});
    }
  }, 90_000);

  it('sees no task id, data directory or scratch path of the host through /proc', async () => {
    const { out, task: done } = await attack(
      'cat /proc/self/mountinfo /proc/1/cmdline /proc/self/cgroup /proc/1/environ /proc/self/environ 2>/dev/null | tr "\\0" "\\n"; exit 0',
      60_000,
      { volumes: ['/data'], inputs: [{ path: '/data/in.txt', content: 'x' }] },
    );
    expect(out).not.toContain(done.id as string);
    expect(out).not.toMatch(/tes-work-[^/\s]*\/[0-9a-z]{26}/);
    expect(out).not.toMatch(/\.tes-data|tes-sandbox-test/);
    expect(out).toContain('/data');
  });

  it('cannot fill /tmp past its limit: the write fails, the task ends, the host is untouched', async () => {
    const { out, exit, task: done } = await attack('dd if=/dev/zero of=/tmp/fill bs=1M count=1100 2>&1; echo "rc=$?"; exit 1');
    expect(out).toMatch(/No space left on device/);
    expect(exit).toBe(1);
    expect(done.state).toBe('EXECUTOR_ERROR');
  });

  it('cannot write /dev, nor fill /dev/shm past its 64 MiB', async () => {
    const { out } = await attack('touch /dev/evil 2>/dev/null && echo ESCAPED; dd if=/dev/zero of=/dev/shm/fill bs=1M count=200 2>&1; echo "rc=$?"; du -sk /dev/shm; exit 0');
    expect(escaped(out)).toBe(false);
    expect(out).toMatch(/No space left on device/);
    const shmKiB = Number(/^(\d+)\s+\/dev\/shm$/m.exec(out)?.[1]);
    expect(shmKiB).toBeLessThanOrEqual(64 * 1024);
  });

  it('cannot fill the disk past its limit: the executor is stopped with the reason recorded', async () => {
    const { out, exit, task: done, system } = await attack('dd if=/dev/zero of=/data/fill bs=1M count=400 2>&1; echo "rc=$?"; sleep 30; echo FINISHED', 60_000, { volumes: ['/data'] });
    expect(out).not.toMatch(/FINISHED/);
    expect(exit).not.toBe(0);
    expect(done.state).toBe('EXECUTOR_ERROR');
    expect(system).toMatch(/DiskLimitExceeded: the task's volumes used \d+ bytes, over its 0.25 GiB of disk/);
  });

  it('cannot fill the host disk through its own stdout: the log counts against its disk, the executor is stopped', async () => {
    const { out, task: done, system } = await attack('yes 0123456789abcdef | head -c 400000000; sleep 30; echo FINISHED', 60_000);
    expect(out).not.toMatch(/FINISHED/);
    expect(done.state).toBe('EXECUTOR_ERROR');
    expect(system).toMatch(/DiskLimitExceeded/);
  });

  it("cannot see its run's staging ticket or session, in its environment, any process's, or the file stage-in left for stage-out", async () => {
    const { out } = await attack(
      'env | grep -c TES_STAGING; cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n" | grep -c TES_STAGING; find / \\( -path /proc -o -path /sys \\) -prune -o -name .staging-session -print 2>/dev/null | wc -l; ls /tes-scratch 2>&1 | grep -c "No such"; exit 0',
    );
    expect(out.trim().split('\n').map((line) => line.trim())).toEqual(['0', '0', '0', '1']);
  });

  it('cannot use more memory than its own (2 GiB here): the allocation fails or the executor is killed', async () => {
    const { out, task: done, system } = await attack('dd if=/dev/zero of=/dev/null bs=3000M count=1 2>&1; echo "rc=$?"; sleep 1; exit 3');
    expect(out).not.toMatch(/copied/);
    expect(out).toMatch(/rc=[1-9]/);
    expect(done.state).toBe('EXECUTOR_ERROR');
    if (kind !== 'bubblewrap') expect(system).toMatch(/OutOfMemoryError: container killed due to memory usage \(limit 2048 MiB\)/);
  });

  it('cannot start more processes than its limit (64 here): the fork bomb stops, the host is untouched', async () => {
    // A real fork bomb, bounded by time: it runs 3 seconds, then its shell exits and the sandbox goes with it.
    // The main shell forks only before the bomb goes off (the bomb starts in a subshell of its own: had the
    // main shell forked its pipeline, its second fork could already fail) and counts with builtins.
    const { out, task: done, system } = await attack('sleep 3 & timer=$!; bomb() { bomb | bomb & }; (bomb) & wait $timer; set -- /proc/[0-9]*; echo "still here: $# processes"; exit 4', 60_000);
    const processes = Number(/still here: (\d+) processes/.exec(out)?.[1]);
    if (kind === 'bubblewrap' && !root) {
      // Without root there is no host uid per task to count processes by: the README says so.
      expect(processes).toBeGreaterThan(64);
      return;
    }
    expect(processes, `the bomb's shell reports how many processes ran: ${JSON.stringify({ state: done.state, system, exit: done.logs?.[0]?.logs[0]?.exit_code, out: out.slice(-2000) })}`).toBeLessThanOrEqual(64);
    expect(out).toMatch(/fork/i);
    expect(done.state).toBe('EXECUTOR_ERROR');
    if (kind !== 'bubblewrap') expect(system).toMatch(/ProcessLimitExceeded: the executor tried to run more than its 64 processes and threads at once/);
  });

  it("cannot run code on the host through the launcher's environment (LD_PRELOAD, LD_LIBRARY_PATH, PATH, NODE_OPTIONS)", async () => {
    const trap = await hostTrap();
    try {
      const env = {
        LD_PRELOAD: join(trap.dir, 'evil.so'),
        LD_LIBRARY_PATH: trap.dir,
        PATH: `${join(trap.dir, 'bin')}:/usr/bin:/bin`,
        NODE_OPTIONS: `--require ${join(trap.dir, 'evil.cjs')}`,
        BASH_ENV: join(trap.dir, 'evil.cjs'),
      };
      const { task: done, out } = await attack('echo "inside: $NODE_OPTIONS"; exit 0', 60_000, {}, env);
      expect(await trap.markers()).toEqual([]);
      // The task still got its environment, inside the sandbox.
      expect(done.state).toBe('COMPLETE');
      expect(out).toContain(`inside: --require ${join(trap.dir, 'evil.cjs')}`);
    } finally {
      await trap.close();
    }
  });

  it('cannot pass options to the runtime through its image, env, workdir or argv', async () => {
    const refused = await tes.post<{ details: { path: string; rule?: string }[] }>('/tasks', task({ executors: [{ image: '--volume=/:/host', command: ['true'] }] }));
    expect(refused.status).toBe(400);
    expect(refused.body.details).toContainEqual(expect.objectContaining({ path: 'executors[0].image', rule: 'image_reference' }));
    const { out, task: done } = await attack(
      'grep -E "^CapEff" /proc/self/status; ls /host 2>/dev/null && echo ESCAPED; pwd; exit 0',
      60_000,
      {},
      { '--privileged': 'true', '-v': '/:/host', '--volume': '/:/host' },
    );
    expect(escaped(out)).toBe(false);
    expect(out).toMatch(/CapEff:\s+0000000000000000/);
    expect(done.state).toBe('COMPLETE');
    const workdir = await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', 'pwd; ls /host 2>/dev/null && echo ESCAPED; exit 0'], workdir: '/work/--privileged' }] }));
    const ran = await waitForTerminal((path) => tes.get<TesTask>(path), workdir.body.id);
    expect(ran.logs?.[0]?.logs[0]?.stdout).toBe('/work/--privileged\n');
  });
});
