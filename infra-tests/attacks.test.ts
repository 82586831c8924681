/**
 * Tasks that attack the local sandbox. Each must be contained, end in a terminal state with its
 * exit code recorded, and leave the server serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { startLocalStack, type LocalStack } from '../lambdas/local/stack.js';
import { TesHttp } from './support/target.js';
import { task, TERMINAL_STATES, waitForTerminal } from './support/tasks.js';

let stack: LocalStack;
let tes: TesHttp;
beforeAll(async () => {
  // Each executor's volumes may use 256 MiB of disk here (TES_LOCAL_DISK_GB), to attack the limit cheaply.
  stack = await startLocalStack({ port: 0, env: { TES_LOCAL_DISK_GB: '0.25' } });
  tes = new TesHttp({ url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers: {}, local: stack, close: () => stack.close() });
});
afterAll(async () => {
  await stack?.close();
});

async function attack(script: string, timeoutMs = 60_000, extra: Partial<TesTask> = {}): Promise<{ task: TesTask; out: string; exit: number }> {
  const reply = await tes.post<{ id: string }>('/tasks', task({ ...extra, executors: [{ image: 'alpine', command: ['/bin/sh', '-c', script] }] }));
  expect(reply.status).toBe(200);
  const done = await waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id, timeoutMs);
  expect(TERMINAL_STATES).toContain(done.state);
  const log = done.logs?.[0]?.logs[0];
  expect(log?.exit_code, 'the exit code is recorded').toBeTypeOf('number');
  // The server keeps serving.
  expect((await tes.get('/service-info')).status).toBe(200);
  return { task: done, out: `${log?.stdout ?? ''}${log?.stderr ?? ''}`, exit: log?.exit_code ?? -1 };
}

const escaped = (out: string) => out.includes('ESCAPED');

describe('attacks from inside a task', () => {
  it('cannot write to /', async () => {
    const { out } = await attack('echo x > /evil && echo ESCAPED; mkdir /evil-dir && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
  });

  it('cannot become root through setuid binaries', async () => {
    const { out } = await attack('su -c "id -u" root </dev/null; /usr/bin/passwd -S root; [ "$(id -u)" = 0 ] && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
  });

  it('cannot make a user namespace to get capabilities back', async () => {
    const { out } = await attack('unshare -Ur id -u && echo ESCAPED; unshare -U true && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
  });

  it('cannot open raw sockets', async () => {
    const { out } = await attack(`perl -MSocket -e 'socket(my $s, PF_INET, SOCK_RAW, 1) and print "ESCAPED\\n"'; exit 0`);
    expect(escaped(out)).toBe(false);
  });

  it('cannot mount anything', async () => {
    const { out } = await attack('mkdir -p /tmp/m; mount -t tmpfs none /tmp/m && echo ESCAPED; mount --bind / /tmp/m && echo ESCAPED; exit 0');
    expect(escaped(out)).toBe(false);
  });

  it.each([
    ['the TES server', () => `127.0.0.1:${stack.port}`],
    ['the EC2 instance metadata service', () => '169.254.169.254:80'],
    ['the ECS task metadata and credentials endpoint', () => '169.254.170.2:80'],
    ['the internet', () => '1.1.1.1:443'],
  ])('cannot reach %s', async (_what, address) => {
    const { out } = await attack(`perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "${address()}", Timeout => 2) and print "ESCAPED\\n"'; exit 0`);
    expect(escaped(out)).toBe(false);
  });

  it("cannot read the host's secrets, other processes or other tasks' files", async () => {
    const { out } = await attack(
      'for p in /etc/shadow /etc/ssh /root /var /srv /opt /work; do (cat "$p" || ls "$p") >/dev/null 2>&1 && echo "ESCAPED $p"; done; [ "$(ls /home)" = tes ] || echo ESCAPED-home; ls /tmp | grep . && echo ESCAPED-tmp; exit 0',
    );
    expect(escaped(out)).toBe(false);
  });

  it("cannot find or read another running task's files", async () => {
    const secret = `secret-${Date.now()}`;
    const victim = await tes.post<{ id: string }>(
      '/tasks',
      task({ volumes: ['/data'], executors: [{ image: 'alpine', command: ['/bin/sh', '-c', `echo ${secret} > /data/victim-file && sleep 30`] }] }),
    );
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await tes.get<TesTask>(`/tasks/${victim.body.id}`)).body.state !== 'RUNNING') await new Promise((r) => setTimeout(r, 100));
    try {
      const { out } = await attack(
        `find / -name victim-file 2>/dev/null | grep . && echo ESCAPED-found; grep -rs ${secret} /data /tmp /home 2>/dev/null | grep . && echo ESCAPED-read; ls /proc | grep -c '^[0-9]' ; exit 0`,
      );
      expect(escaped(out)).toBe(false);
      // Its own PID namespace: the shell, grep/ls and little else.
      expect(Number(out.trim().split('\n').at(-1))).toBeLessThan(6);
    } finally {
      await tes.post(`/tasks/${victim.body.id}:cancel`, {});
    }
  }, 90_000);

  it('cannot fill /tmp past its limit: the write fails, the task ends, the host is untouched', async () => {
    const { out, exit, task } = await attack('dd if=/dev/zero of=/tmp/fill bs=1M count=1100 2>&1; echo "rc=$?"; exit 1');
    expect(out).toMatch(/No space left on device/);
    expect(exit).toBe(1);
    expect(task.state).toBe('EXECUTOR_ERROR');
  });

  it('cannot fill the disk past its limit: the executor is stopped with the reason recorded', async () => {
    const { out, exit, task } = await attack('dd if=/dev/zero of=/data/fill bs=1M count=400 2>&1; echo "rc=$?"; sleep 30; echo FINISHED', 60_000, { volumes: ['/data'] });
    expect(out).not.toMatch(/FINISHED/);
    expect(exit).not.toBe(0);
    expect(task.state).toBe('EXECUTOR_ERROR');
    expect(task.logs?.[0]?.system_logs?.join('\n')).toMatch(/DiskLimitExceeded: the task's volumes used \d+ bytes, over its 0.25 GiB of disk/);
  });
});
