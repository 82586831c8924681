/**
 * The local stack run by an ordinary user, as most people run it: rootless Podman runs the task's
 * image with the container's user mapped onto the server's own (keep-id), and staging runs in
 * bubblewrap as that same user, so what stage-in writes the executor can write and what it writes
 * stage-out can read. When the suite runs as root, it makes a user for this (`tes-rootless`, with
 * subordinate ids, as any rootless Podman user has) and starts `npm start` as that user.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { TASK_UID_BASE } from '../lambdas/local/sandbox.js';
import { startStackProcess, type StackProcess } from './support/stack-process.js';
import { TesHttp } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';
import { ensureTestImage, TEST_IMAGE, TEST_IMAGE_PREFIXES } from './support/test-image.js';

const run = promisify(execFile);
const root = process.getuid?.() === 0;
const USER = 'tes-rootless';
/** Its subordinate ids: below the task uid blocks the rootful runtimes use. */
const SUBORDINATE_START = 500_000_000;

interface User {
  uid: number;
  gid: number;
  env: Record<string, string>;
}

/** The user the stack runs as: this one when not root; otherwise `tes-rootless`, made if need be. */
async function rootlessUser(): Promise<User | undefined> {
  if (!root) return undefined;
  if (!(await run('id', ['-u', USER]).then(() => true, () => false))) {
    await run('useradd', ['--create-home', '--shell', '/usr/sbin/nologin', USER]).catch((error: Error) => {
      throw new Error(`the rootless test makes a user ${USER} and could not: ${error.message}`, { cause: error });
    });
  }
  expect(SUBORDINATE_START + 65536).toBeLessThan(TASK_UID_BASE);
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = existsSync(file) ? await readFile(file, 'utf8') : '';
    if (!text.split('\n').some((line) => line.startsWith(`${USER}:`))) await appendFile(file, `${USER}:${SUBORDINATE_START}:65536\n`);
  }
  const uid = Number((await run('id', ['-u', USER])).stdout.trim());
  const gid = Number((await run('id', ['-g', USER])).stdout.trim());
  const runtimeDir = `/run/user/${uid}`;
  await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
  await chown(runtimeDir, uid, gid);
  return { uid, gid, env: { HOME: `/home/${USER}`, USER, LOGNAME: USER, XDG_RUNTIME_DIR: runtimeDir } };
}

describe('the local stack run by an ordinary user (rootless Podman)', () => {
  let user: User | undefined;
  let stack: StackProcess;
  let tes: TesHttp;
  const dirs: string[] = [];

  beforeAll(async () => {
    user = await rootlessUser();
    await ensureTestImage('podman', user);
    for (const name of ['data', 'tmp']) {
      const dir = await mkdtemp(join(tmpdir(), `tes-rootless-${name}-`));
      if (user !== undefined) await chown(dir, user.uid, user.gid);
      dirs.push(dir);
    }
    stack = await startStackProcess({
      dataDir: dirs[0] as string,
      tmpDir: dirs[1] as string,
      env: { ...user?.env, TES_LOCAL_RUNTIME: 'podman', TES_ALLOWED_IMAGE_PREFIXES: TEST_IMAGE_PREFIXES },
      ...(user === undefined ? {} : { user }),
    });
    tes = new TesHttp({ url: stack.url, root: stack.url.replace(/\/ga4gh\/tes\/v1$/, ''), headers: {}, close: () => Promise.resolve() });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('runs in rootless Podman and says what it cannot enforce there', async () => {
    expect(stack.output()).toContain('tasks run in: podman');
    const env = { ...process.env, ...user?.env };
    const { stdout } = await run('podman', ['info', '--format', '{{.Host.Security.Rootless}} {{.Host.CgroupsVersion}}'], { env, ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }) });
    expect(stdout.trim().split(' ')[0]).toBe('true');
    if (stdout.includes('v1')) expect(stack.output()).toContain('memory, CPU and process limits (rootless Podman cannot set them on cgroup v1');
  });

  it("runs a task end to end: its image as uid 1000, staging as the same host user, inputs in and outputs out", async () => {
    const reply = await tes.post<{ id: string }>(
      '/tasks',
      task({
        inputs: [{ path: '/data/in.txt', content: 'from stage-in' }],
        outputs: [{ path: '/data/out.txt', url: `s3://tes-local/users/local/rootless/out-${Date.now()}.txt` }],
        executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', 'id -u; ls /bin/suid-busybox; cat /data/in.txt > /data/out.txt; echo more >> /data/out.txt; cat /data/out.txt'] }],
      }),
    );
    expect(reply.status, reply.text).toBe(200);
    const done = await waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id, 60_000);
    expect(done.state, JSON.stringify(done.logs)).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]?.stdout).toBe('1000\n/bin/suid-busybox\nfrom stage-inmore\n');
    expect(done.logs?.[0]?.logs[0]?.stderr ?? '').toBe('');
    expect(done.logs?.[0]?.outputs).toEqual([expect.objectContaining({ path: '/data/out.txt', size_bytes: String('from stage-inmore\n'.length) })]);
  });
});
