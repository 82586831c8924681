/**
 * What a task sees from inside the local sandbox (bubblewrap): always run against the local stack,
 * because it is the local stand-in's hardening under test. Each check is a task whose executor
 * looks around and reports.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { startLocalStack, type LocalStack } from '../lambdas/local/stack.js';
import { TesHttp, type Target } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';

let stack: LocalStack;
let tes: TesHttp;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tes-sandbox-test-'));
  stack = await startLocalStack({ port: 0, dataDir });
  const target: Target = { url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers: {}, local: stack, close: () => stack.close() };
  tes = new TesHttp(target);
});
afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Runs a shell script as a task and returns its executor log. */
async function inside(script: string): Promise<{ exit: number; out: string; err: string; task: TesTask }> {
  const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: 'alpine', command: ['/bin/sh', '-c', script] }] }));
  expect(reply.status, reply.text).toBe(200);
  const done = await waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id);
  const log = done.logs?.[0]?.logs[0];
  return { exit: log?.exit_code ?? -1, out: log?.stdout ?? '', err: log?.stderr ?? '', task: done };
}

describe('inside the local sandbox', () => {
  it('runs as a non-root user', async () => {
    const { out } = await inside('id -u; id -g');
    expect(out).toBe('1000\n1000\n');
  });

  it('has a read-only root filesystem', async () => {
    const { out } = await inside('touch /x 2>/dev/null && echo wrote-root; touch /usr/x 2>/dev/null && echo wrote-usr; awk \'$2 == "/" { print $4 }\' /proc/mounts');
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

  it('sees no other processes', async () => {
    const { out } = await inside('for p in /proc/[0-9]*; do cat "$p/comm" 2>/dev/null; done');
    const names = out.trim().split('\n');
    expect(names.length).toBeLessThanOrEqual(4);
    for (const name of names) expect(['bwrap', 'sh', 'cat']).toContain(name);
  });

  it('has no network: only loopback, and the TES server is unreachable', async () => {
    const { out } = await inside(
      `awk 'NR > 2 { print $1 }' /proc/net/dev; perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "127.0.0.1:${stack.port}", Timeout => 2) ? print "connected\\n" : print "refused\\n"'`,
    );
    expect(out).toBe('lo:\nrefused\n');
  });

  it('cannot read /etc/shadow, /root or the TES data', async () => {
    const { out } = await inside(
      `for p in /etc/shadow /root ${dataDir} ${dataDir}/dynamodb ${dataDir}/work; do (cat "$p" || ls "$p") >/dev/null 2>&1 && echo "read $p"; done; ls / ; echo end`,
    );
    expect(out).not.toContain('read ');
    const visible = out.split('\n');
    expect(visible).not.toContain('root');
    expect(out).toContain('end');
  });

  it('runs as an unprivileged host user when the server is root', async () => {
    const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: 'alpine', command: ['sleep', '30'] }] }));
    const id = reply.body.id;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await tes.get<TesTask>(`/tasks/${id}`)).body.state !== 'RUNNING') {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The executor process itself (`sleep 30`, as the host sees it); bubblewrap starts it a moment after RUNNING.
    const marker = `sleep ${30}`;
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
    if (process.getuid?.() === 0) for (const uid of uids) expect(uid).toBeGreaterThanOrEqual(200_000);
    else for (const uid of uids) expect(uid).toBe(process.getuid?.());
    await tes.post(`/tasks/${id}:cancel`);
  });
});
