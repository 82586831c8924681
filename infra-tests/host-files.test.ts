/**
 * Host files on the local stack (TES_LOCAL_FILE_DIRS), attacked as a user who wants another user's
 * files or the host's: every path a task names lies in its owner's directories by name and on disk,
 * or the task is refused (a 400 at CreateTask with the reason, or SYSTEM_ERROR naming the input or
 * output), and nothing outside them is read or written. With bearer tokens, each user's own
 * directory (`{owner}`), a read-only shared one, and a directory outside both holding a secret.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { startLocalStack, type LocalStack } from '../lambdas/local/stack.js';
import type { WorkflowPort } from '../lambdas/ports/workflow.js';
import { startTestStack } from './support/local-stack.js';
import { stackClient, TesHttp } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

let stack: LocalStack;
let dataDir: string;
let base: string;
let users: string;
let reference: string;
let outside: string;
let alice: TesHttp;
let bob: TesHttp;
const SECRET = 'the host secret\n';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tes-host-files-data-'));
  base = await mkdtemp(join(tmpdir(), 'tes-host-files-'));
  users = join(base, 'users');
  reference = join(base, 'reference');
  outside = join(base, 'outside');
  for (const dir of [join(users, 'alice'), join(users, 'bob'), reference, outside]) await mkdir(dir, { recursive: true });
  await writeFile(join(users, 'alice', 'in.txt'), 'alice data\n');
  await writeFile(join(users, 'bob', 'secret.txt'), 'bob only\n');
  await writeFile(join(reference, 'genome.fa'), '>chr1\nACGT\n');
  await writeFile(join(outside, 'secret.txt'), SECRET);
  stack = await startTestStack({ port: 0, dataDir, auth: 'jwt', env: { TES_LOCAL_FILE_DIRS: `${users}/{owner}=readwrite,${reference}` } });
  alice = await stackClient(stack, 'alice');
  bob = await stackClient(stack, 'bob');
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(base, { recursive: true, force: true });
});

async function run(as: TesHttp, body: TesTask): Promise<TesTask> {
  const reply = await as.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return waitForTerminal((path) => as.get<TesTask>(path), reply.body.id, 90_000);
}

const systemLogs = (t: TesTask) => t.logs?.map((l) => l.system_logs?.join('\n') ?? '').join('\n') ?? '';
const sh = (script: string) => [{ image: TEST_IMAGE, command: ['sh', '-c', script] }];

/** Every file below `dir`, with its content: what a test compares before and after an attack. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    found[path] = entry.isSymbolicLink() ? `-> link` : entry.isFile() ? await readFile(path, 'utf8') : 'dir';
  }
  return found;
}

describe('host files at CreateTask', () => {
  it("service-info lists each caller's own directory and the shared one as file:// URLs", async () => {
    expect((await alice.get<{ storage: string[] }>('/service-info')).body.storage).toEqual([
      `s3://${stack.s3.bucket}/users/alice/`,
      's3://my-object-store/',
      's3://some-bucket/',
      `file://${users}/alice/`,
      `file://${reference}/`,
    ]);
  });

  const attacks: [string, () => Partial<TesTask>, string, RegExp][] = [
    ['a host file outside every directory', () => ({ inputs: [{ path: '/in/x', url: `${outside}/secret.txt` }] }), 'inputs[0].url', /is outside what this caller's tasks may read \(file:\/\//],
    ['the host’s /etc/shadow', () => ({ inputs: [{ path: '/in/x', url: 'file:///etc/shadow' }] }), 'inputs[0].url', /outside what this caller's tasks may read/],
    ["another user's file ({owner})", () => ({ inputs: [{ path: '/in/x', url: `file://${users}/bob/secret.txt` }] }), 'inputs[0].url', /outside/],
    ["every user's directory at once", () => ({ inputs: [{ path: '/in/all', url: users, type: 'DIRECTORY' }] }), 'inputs[0].url', /outside/],
    ['a directory that only starts like one’s own', () => ({ inputs: [{ path: '/in/x', url: `${users}/alice-and-bob/x` }] }), 'inputs[0].url', /outside/],
    ["a '..' segment out of one's own directory", () => ({ inputs: [{ path: '/in/x', url: `${users}/alice/../bob/secret.txt` }] }), 'inputs[0].url', /no '\.' or '\.\.' segments/],
    ["a percent-encoded '..'", () => ({ inputs: [{ path: '/in/x', url: `file://${users}/alice/%2e%2e/bob/secret.txt` }] }), 'inputs[0].url', /no '\.' or '\.\.' segments/],
    ["a percent-encoded '/' that makes '..' a segment once decoded", () => ({ inputs: [{ path: '/in/x', url: `file://${users}/alice%2F..%2Fbob/secret.txt` }] }), 'inputs[0].url', /no '\.' or '\.\.' segments/],
    ['an upper-case scheme to /etc/shadow', () => ({ inputs: [{ path: '/in/x', url: 'FILE:///etc/shadow' }] }), 'inputs[0].url', /outside what this caller's tasks may read/],
    ['a host that only starts like localhost', () => ({ inputs: [{ path: '/in/x', url: `file://localhost.attacker.example${users}/alice/in.txt` }] }), 'inputs[0].url', /names the host "localhost\.attacker\.example"/],
    ['a query hiding a second path', () => ({ inputs: [{ path: '/in/x', url: `file://${users}/alice/in.txt?/../../bob/secret.txt` }] }), 'inputs[0].url', /must not hold a query or fragment/],
    ['another host (file://otherhost/…)', () => ({ inputs: [{ path: '/in/x', url: `file://otherhost${users}/alice/in.txt` }] }), 'inputs[0].url', /names the host "otherhost"/],
    ['a NUL in the path', () => ({ inputs: [{ path: '/in/x', url: `file://${users}/alice/in.txt%00.png` }] }), 'inputs[0].url', /control characters/],
    ['a bare relative path', () => ({ inputs: [{ path: '/in/x', url: 'alice/in.txt' }] }), 'inputs[0].url', /must be a URL with a scheme \(.*file:\/\/\) or an absolute path/],
    ["writing another user's directory", () => ({ outputs: [{ path: '/out/x', url: `${users}/bob/planted.txt` }] }), 'outputs[0].url', /outside what this caller's tasks may write/],
    ['writing the read-only shared directory', () => ({ outputs: [{ path: '/out/x', url: `${reference}/genome.fa` }] }), 'outputs[0].url', /outside what this caller's tasks may write \(file:\/\/.*\/alice\/\)/],
    ['a wildcard output into the read-only directory', () => ({ outputs: [{ path: '/out/*.fa', path_prefix: '/out', url: reference }] }), 'outputs[0].url', /outside what this caller's tasks may write/],
    ['a DIRECTORY output over every user', () => ({ outputs: [{ path: '/out', url: `file://${users}`, type: 'DIRECTORY' }] }), 'outputs[0].url', /outside what this caller's tasks may write/],
  ];

  it.each(attacks)('%s: a 400 saying why, nothing stored', async (_name, body, field, message) => {
    const before = (await alice.get<{ tasks?: unknown[] }>('/tasks?page_size=100')).body.tasks?.length ?? 0;
    const reply = await alice.post<{ code: string; details?: { path: string; message: string; rule?: string }[] }>('/tasks', task(body()));
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.code).toBe('INVALID_TASK');
    expect(reply.body.details).toEqual([expect.objectContaining({ path: field, message: expect.stringMatching(message) })]);
    if (/outside/.test(message.source)) expect(reply.body.details?.[0]?.rule).toBe('storage_scope');
    expect((await alice.get<{ tasks?: unknown[] }>('/tasks?page_size=100')).body.tasks?.length ?? 0).toBe(before);
  });
});

describe('host files through running tasks', () => {
  it("stage a user's own file in and results out, files 0644 and directories 0755, leaving no copy in the bucket", async () => {
    const done = await run(
      alice,
      task({
        inputs: [
          { path: '/in/in.txt', url: `file://${users}/alice/in.txt` },
          { path: '/in/ref', url: reference, type: 'DIRECTORY' },
        ],
        outputs: [
          { path: '/out/result.txt', url: `${users}/alice/run1/result.txt` },
          { path: '/out/dir', url: `file://${users}/alice/run1/dir`, type: 'DIRECTORY' },
          { path: '/out/*.log', path_prefix: '/out', url: `${users}/alice/run1/logs` },
        ],
        executors: sh('mkdir -p /out/dir/deep && cat /in/in.txt /in/ref/genome.fa > /out/result.txt && echo deep > /out/dir/deep/f && echo log > /out/a.log'),
      }),
    );
    expect(done.state, systemLogs(done)).toBe('COMPLETE');
    const run1 = join(users, 'alice', 'run1');
    expect(await readFile(join(run1, 'result.txt'), 'utf8')).toBe('alice data\n>chr1\nACGT\n');
    expect(await readFile(join(run1, 'dir', 'deep', 'f'), 'utf8')).toBe('deep\n');
    expect(await readFile(join(run1, 'logs', 'a.log'), 'utf8')).toBe('log\n');
    expect((await stat(join(run1, 'result.txt'))).mode & 0o7777).toBe(0o644);
    expect((await stat(join(run1, 'dir', 'deep'))).mode & 0o7777).toBe(0o755);
    expect((await readdir(run1)).filter((name) => name.endsWith('.part'))).toEqual([]);
    expect(done.logs?.[0]?.outputs.map((o) => o.url).sort()).toEqual([`${users}/alice/run1/logs/a.log`, `${users}/alice/run1/result.txt`, `file://${users}/alice/run1/dir/deep/f`].sort());
    const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.s3.endpoint, forcePathStyle: true, credentials: stack.s3.credentials });
    const left = await s3.send(new ListObjectsV2Command({ Bucket: stack.s3.bucket, Prefix: `tasks/${done.id as string}/files/` }));
    expect(left.Contents ?? []).toEqual([]);
  });

  it('refuse an input that is a symbolic link out of the directory: SYSTEM_ERROR naming it, the secret nowhere', async () => {
    await symlink(join(outside, 'secret.txt'), join(users, 'alice', 'link.txt'));
    const done = await run(alice, task({ inputs: [{ path: '/in/x', url: `${users}/alice/link.txt` }], executors: sh('cat /in/x') }));
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/inputs\[0\] \(.*link\.txt\) could not be staged: .*leads out of the directories this task's owner may read/);
    expect(done.logs?.[0]?.logs).toEqual([]);
    expect(JSON.stringify(done)).not.toContain('host secret');
  });

  it('skip, with a warning, a symbolic link inside a DIRECTORY input, and stage the rest', async () => {
    await mkdir(join(users, 'alice', 'tree'));
    await writeFile(join(users, 'alice', 'tree', 'real.txt'), 'real\n');
    await symlink(outside, join(users, 'alice', 'tree', 'escape'));
    await symlink(join(outside, 'secret.txt'), join(users, 'alice', 'tree', 'secret.txt'));
    const done = await run(alice, task({ inputs: [{ path: '/in/tree', url: `${users}/alice/tree`, type: 'DIRECTORY' }], executors: sh('ls -A /in/tree; cat /in/tree/real.txt; cat /in/tree/secret.txt /in/tree/escape/secret.txt 2>/dev/null; true') }));
    expect(done.state, systemLogs(done)).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]?.stdout).toBe('real.txt\nreal\n');
    expect(systemLogs(done)).toMatch(/tree\/escape is a symbolic link; not staged/);
    expect(systemLogs(done)).toMatch(/tree\/secret\.txt is a symbolic link; not staged/);
  });

  it('refuse an output whose directory is a symbolic link out: SYSTEM_ERROR naming it, nothing written anywhere, not even the good outputs', async () => {
    await symlink(outside, join(users, 'alice', 'results'));
    const before = await snapshot(outside);
    const done = await run(
      alice,
      task({
        outputs: [
          { path: '/out/good.txt', url: `${users}/alice/run2/good.txt` },
          { path: '/out/x.txt', url: `${users}/alice/results/x.txt` },
        ],
        executors: sh('echo good > /out/good.txt; echo planted > /out/x.txt'),
      }),
    );
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/outputs\[1\] \(.*results\/x\.txt\) could not be written: .*results leads through a symbolic link.*no output was written to the host/);
    expect(await snapshot(outside)).toEqual(before);
    await expect(lstat(join(users, 'alice', 'run2'))).rejects.toThrow(/ENOENT/);
  });

  it('replace a symbolic link at an output’s own path with the file, never writing through it', async () => {
    await writeFile(join(outside, 'victim.txt'), 'victim\n');
    await symlink(join(outside, 'victim.txt'), join(users, 'alice', 'out.txt'));
    const done = await run(alice, task({ outputs: [{ path: '/out/out.txt', url: `${users}/alice/out.txt` }], executors: sh('echo mine > /out/out.txt') }));
    expect(done.state, systemLogs(done)).toBe('COMPLETE');
    expect(await readFile(join(outside, 'victim.txt'), 'utf8')).toBe('victim\n');
    expect((await lstat(join(users, 'alice', 'out.txt'))).isSymbolicLink()).toBe(false);
    expect(await readFile(join(users, 'alice', 'out.txt'), 'utf8')).toBe('mine\n');
  });

  it("refuse at run time what the policy allowed by name, when a user's own directory leads elsewhere on disk", async () => {
    // Bob's directory is swapped for a link to Alice's: by name it is his, on disk it is hers.
    await rm(join(users, 'bob'), { recursive: true });
    await symlink(join(users, 'alice'), join(users, 'bob'));
    try {
      const done = await run(bob, task({ inputs: [{ path: '/in/x', url: `${users}/bob/in.txt` }], executors: sh('cat /in/x') }));
      expect(done.state).toBe('SYSTEM_ERROR');
      // Alice's directory lies in users/ too: what stops Bob is that below users/ only real directories count.
      expect(systemLogs(done)).toMatch(/inputs\[0\] .* could not be staged: the directory .*\/bob: .*bob leads through a symbolic link/);
      expect(JSON.stringify(done)).not.toContain('alice data');
    } finally {
      await rm(join(users, 'bob'));
      await mkdir(join(users, 'bob'));
    }
  });
});

describe('host files without TES_LOCAL_FILE_DIRS', () => {
  const idle: WorkflowPort = { start: () => Promise.resolve(), stop: () => Promise.resolve('stopped'), status: () => Promise.resolve('absent') };

  it('are a 400 saying the variable names no directory', async () => {
    const plain = await startLocalStack({ port: 0, workflow: idle });
    try {
      for (const url of ['/home/me/work/.command.run', 'file:///home/me/data.txt']) {
        const reply = await fetch(`${plain.url}/tasks`, { method: 'POST', body: JSON.stringify(task({ inputs: [{ path: '/in/x', url }] })) });
        const body = (await reply.json()) as { code: string; message: string };
        expect(reply.status).toBe(400);
        expect(body.code).toBe('INVALID_TASK');
        expect(body.message).toMatch(/inputs\[0\]\.url: a (bare path|file:\/\/ URL) names a file on this machine's disk, which tasks may use only in the directories TES_LOCAL_FILE_DIRS names, and it names none here/);
      }
    } finally {
      await plain.close();
    }
  });

  it.each([
    ['relative/dir=read', /TES_LOCAL_FILE_DIRS: "relative\/dir=read" must name an absolute directory/],
    ['/nonexistent-tes-dir=readwrite', /TES_LOCAL_FILE_DIRS: "\/nonexistent-tes-dir": \/nonexistent-tes-dir does not exist/],
    [`${tmpdir()}=readwrite`, /holds the system's temporary directory/],
    ['/=read', /names the whole disk/],
  ])('refuse to start with %s, naming the variable', async (value, message) => {
    await expect(startLocalStack({ port: 0, workflow: idle, env: { TES_LOCAL_FILE_DIRS: value } })).rejects.toThrow(message);
  });

  it("refuse to start with a directory that holds the stack's own data", async () => {
    const data = await mkdtemp(join(tmpdir(), 'tes-host-files-own-'));
    try {
      await expect(startLocalStack({ port: 0, dataDir: join(data, 'inner'), workflow: idle, env: { TES_LOCAL_FILE_DIRS: `${data}=read` } })).rejects.toThrow(/overlaps the stack's own data/);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
