/**
 * What a task sees from inside the local sandbox, on every runtime this machine has (a container
 * runtime with the test image, and bubblewrap): always run against the local stack, because it is
 * the local runtime's hardening under test. Each check is a task whose executor looks around and
 * reports.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { TesHttp, type Target } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';
import { runtimesUnderTest, TEST_IMAGE } from './support/test-image.js';
import { startTestStack } from './support/local-stack.js';

const runtimes = await runtimesUnderTest();

describe.each(runtimes.map((r) => [r.kind, r] as const))('inside the local sandbox, on %s', (kind, runtime) => {
  let stack: LocalStack;
  let tes: TesHttp;
  let dataDir: string;
  beforeAll(async () => {
    if (runtime.problem !== undefined) throw new Error(`${kind} is to be tested here but cannot run: ${runtime.problem}`);
    dataDir = await mkdtemp(join(tmpdir(), 'tes-sandbox-test-'));
    stack = await startTestStack({ port: 0, dataDir, env: { TES_LOCAL_RUNTIME: kind, TES_LOCAL_STORE: 'dynamodb' } });
    const target: Target = { url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers: {}, local: stack, close: () => stack.close() };
    tes = new TesHttp(target);
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  /** Runs a shell script as a task and returns its executor log. */
  async function inside(script: string, extra: Partial<TesTask> = {}): Promise<{ exit: number; out: string; err: string; task: TesTask }> {
    const reply = await tes.post<{ id: string }>('/tasks', task({ ...extra, executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', script] }] }));
    expect(reply.status, reply.text).toBe(200);
    const done = await waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id);
    const log = done.logs?.[0]?.logs[0];
    return { exit: log?.exit_code ?? -1, out: log?.stdout ?? '', err: log?.stderr ?? '', task: done };
  }

  it('runs as a non-root user', async () => {
    const { out } = await inside('id -u; id -g');
    expect(out).toBe('1000\n1000\n');
  });

  it("runs the image's own programs under a container runtime, and the host's under bubblewrap", async () => {
    const { out } = await inside('readlink /bin/sh; ls /bin/suid-busybox 2>/dev/null || echo no-test-image');
    if (kind === 'bubblewrap') expect(out).toContain('no-test-image');
    else expect(out).toBe('busybox\n/bin/suid-busybox\n');
  });

  it('has a read-only root filesystem', async () => {
    const { out } = await inside('touch /x 2>/dev/null && echo wrote-root; touch /usr/x 2>/dev/null && echo wrote-usr; touch /bin/x 2>/dev/null && echo wrote-bin; awk \'$2 == "/" { print $4 }\' /proc/mounts');
    expect(out).not.toContain('wrote');
    expect(out.split(',')[0]).toMatch(/^ro/);
  });

  it('can write /tmp and $HOME', async () => {
    const { out, exit } = await inside('echo a > /tmp/t && echo b > "$HOME/h" && cat /tmp/t "$HOME/h" && echo "$HOME"');
    expect(exit).toBe(0);
    expect(out).toBe('a\nb\n/home/tes\n');
  });

  it('has no capabilities, not even in the bounding set, and no new privileges', async () => {
    const { out } = await inside('grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)" /proc/self/status');
    const fields = Object.fromEntries(out.trim().split('\n').map((line) => line.split(/:\s+/) as [string, string]));
    expect(fields).toEqual({
      CapInh: '0000000000000000',
      CapPrm: '0000000000000000',
      CapEff: '0000000000000000',
      CapBnd: '0000000000000000',
      CapAmb: '0000000000000000',
      NoNewPrivs: '1',
    });
  });

  it('runs under a seccomp filter under a container runtime', async () => {
    const { out } = await inside('grep -E "^Seccomp:" /proc/self/status');
    // 2: a filter. bubblewrap installs none (the README lists it among what the fallback lacks).
    expect(out.trim()).toBe(kind === 'bubblewrap' ? 'Seccomp:\t0' : 'Seccomp:\t2');
  });

  it('sees no other processes than its init, itself and what it starts', async () => {
    const { out } = await inside('for p in /proc/[0-9]*; do cat "$p/comm" 2>/dev/null; done');
    const names = out.trim().split('\n');
    expect(names.length).toBeLessThanOrEqual(4);
    for (const name of names) expect(['bwrap', 'catatonit', 'podman-init', 'docker-init', 'tini', 'sh', 'cat']).toContain(name);
  });

  it('has no network: only loopback, and the TES server is unreachable', async () => {
    const { out } = await inside(
      `awk 'NR > 2 { print $1 }' /proc/net/dev; if command -v perl >/dev/null; then perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "127.0.0.1:${stack.port}", Timeout => 2) ? print "connected\\n" : print "refused\\n"'; else echo | nc -w 2 127.0.0.1 ${stack.port} >/dev/null 2>&1 && echo connected || echo refused; fi`,
    );
    expect(out).toBe('lo:\nrefused\n');
  });

  it('has a read-only /dev with the standard devices and a 64 MiB /dev/shm', async () => {
    const { out } = await inside('touch /dev/x 2>/dev/null && echo wrote-dev; for d in null zero random urandom; do [ -c /dev/$d ] && echo $d; done; df -k /dev/shm | awk \'NR == 2 { print "shm " $2 }\'');
    expect(out).not.toContain('wrote-dev');
    expect(out).toContain('null\nzero\nrandom\nurandom\n');
    expect(out).toContain(`shm ${64 * 1024}\n`);
  });

  it('cannot read /etc/shadow, /root or the TES data', async () => {
    const { out } = await inside(
      `cat /etc/shadow >/dev/null 2>&1 && echo "read shadow"; for p in /root ${dataDir} ${dataDir}/dynamodb ${dataDir}/s3; do ls "$p" >/dev/null 2>&1 && echo "read $p"; done; ls / ; echo end`,
    );
    expect(out).not.toContain('read ');
    expect(out).toContain('end');
  });

  it('runs as the task own unprivileged host uid when the server is root', async () => {
    const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '31'] }] }));
    const id = reply.body.id;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await tes.get<TesTask>(`/tasks/${id}`)).body.state !== 'RUNNING') {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The executor process itself (`sleep 31`, as the host sees it); the sandbox starts it a moment after RUNNING.
    const marker = 'sleep 31';
    let uids: number[] = [];
    for (const until = Date.now() + 5000; uids.length === 0 && Date.now() < until; ) {
      uids = execFileSync('ps', ['-eo', 'uid=,args='])
        .toString()
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .filter(([, ...args]) => args.join(' ') === marker)
        .map(([uid]) => Number(uid));
      if (uids.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(uids.length).toBeGreaterThan(0);
    if (process.getuid?.() === 0 && kind !== 'docker') for (const uid of uids) expect(uid).toBeGreaterThanOrEqual(2 ** 30);
    else if (kind === 'bubblewrap') for (const uid of uids) expect(uid).toBe(process.getuid?.());
    await tes.post(`/tasks/${id}:cancel`);
  });

  it('leaves no process behind for a task canceled at any moment of its start, while its sandbox is being made too', async () => {
    /** Host processes whose command line names one of the tasks (the runtime's client and monitor, the executor). */
    const naming = (ids: string[]): string[] =>
      execFileSync('ps', ['-eo', 'args='])
        .toString()
        .split('\n')
        .filter((line) => ids.some((id) => line.includes(id)) || line.trim() === 'sleep 37');
    const ids: string[] = [];
    // From at once to well past the moment the sandbox starts (a container runtime takes 100–300 ms to make one).
    for (let delay = 0; delay <= 400; delay += 25) {
      const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '37'] }] }));
      expect(reply.status, reply.text).toBe(200);
      ids.push(reply.body.id);
      await new Promise((resolve) => setTimeout(resolve, delay));
      expect((await tes.post(`/tasks/${reply.body.id}:cancel`)).status).toBe(200);
      expect((await waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id)).state).toBe('CANCELED');
    }
    // A stop answers once the executor is gone; what the runtime tidies after that goes within seconds.
    let left = naming(ids);
    for (const until = Date.now() + 15_000; left.length > 0 && Date.now() < until; left = naming(ids)) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(left).toEqual([]);
  }, 120_000);
});
