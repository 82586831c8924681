/**
 * Data belongs to its owner, attacked as another user would: Mallory, an ordinary user, and then an
 * admin, try to read, list and overwrite Bob's data and to run code inside Bob's task, through every
 * URL a task can name; and someone who can write the service bucket changes a task's stored content
 * and carried volumes. Each attack must end contained: a 400 at CreateTask with rule storage_scope
 * naming the field and nothing stored, or a task that fails without touching Bob's data; Bob's
 * objects are byte-identical afterwards and his task never runs the attacker's code.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { startTestStack, TEST_STORAGE_RULES } from './support/local-stack.js';
import { stackClient, TesHttp } from './support/target.js';
import { task, waitForTerminal } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

let stack: LocalStack;
let dataDir: string;
let s3: S3Client;
let bucket: string;
let bob: TesHttp;
let mallory: TesHttp;
let admin: TesHttp;
let asUser: (user: string) => Promise<TesHttp>;
/** Bob's objects as they were before any attack. */
const bobsObjects = new Map<string, string>();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tes-storage-attacks-'));
  // One executor at a time, so a task can be held waiting for room while its stored objects are changed.
  // On dynalite: its stand-in is attacked below.
  stack = await startTestStack({ port: 0, dataDir, auth: 'jwt', env: { TES_LOCAL_CPUS: '1', TES_LOCAL_MEMORY_GB: '4', TES_LOCAL_STORE: 'dynamodb' } });
  bucket = stack.s3.bucket;
  s3 = new S3Client({ region: 'us-east-1', endpoint: stack.s3.endpoint, forcePathStyle: true, credentials: stack.s3.credentials });
  const as = (user: string, claims: Record<string, unknown> = {}) => stackClient(stack, user, claims);
  asUser = (user) => as(user);
  bob = await as('bob');
  mallory = await as('mallory');
  admin = await as('root-person', { groups: ['tes-admins'] });
  for (const [key, body] of [
    ['users/bob/secret.txt', 'bob only\n'],
    ['users/bob/results/final.txt', 'bob result\n'],
  ] as const) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    bobsObjects.set(key, body);
  }
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function objectText(key: string): Promise<string | undefined> {
  try {
    return await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString('utf8');
  } catch {
    return undefined;
  }
}

async function bobsDataUntouched(): Promise<void> {
  const listed = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'users/bob/' }))).Contents?.map((o) => o.Key).sort();
  expect(listed).toEqual([...bobsObjects.keys()].sort());
  for (const [key, body] of bobsObjects) expect(await objectText(key), key).toBe(body);
}

async function run(as: TesHttp, body: TesTask, timeoutMs = 60_000): Promise<TesTask> {
  const reply = await as.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return waitForTerminal((path) => as.get<TesTask>(path), reply.body.id, timeoutMs);
}

const systemLogs = (t: TesTask) => t.logs?.map((l) => l.system_logs?.join('\n') ?? '').join('\n') ?? '';

describe('storage scopes at CreateTask', () => {
  const S = () => `s3://${bucket}`;
  const attacks: [string, () => Partial<TesTask>, string][] = [
    ["read another user's file", () => ({ inputs: [{ path: '/in/x', url: `${S()}/users/bob/secret.txt` }] }), 'inputs[0].url'],
    ['list the whole bucket (DIRECTORY s3://bucket/)', () => ({ inputs: [{ path: '/in/all', url: `${S()}/`, type: 'DIRECTORY' }] }), 'inputs[0].url'],
    ["list every user's prefix (DIRECTORY users/)", () => ({ inputs: [{ path: '/in/users', url: `${S()}/users`, type: 'DIRECTORY' }] }), 'inputs[0].url'],
    ["list another user's prefix", () => ({ inputs: [{ path: '/in/bob', url: `${S()}/users/bob/`, type: 'DIRECTORY' }] }), 'inputs[0].url'],
    ["read the service's own objects (content, carry, reports, logs)", () => ({ inputs: [{ path: '/in/t', url: `${S()}/tasks/`, type: 'DIRECTORY' }] }), 'inputs[0].url'],
    ["a '..' segment out of one's own prefix", () => ({ inputs: [{ path: '/in/x', url: `${S()}/users/mallory/../bob/secret.txt` }] }), 'inputs[0].url'],
    ['a prefix that only starts like one\'s own (users/mallory…)', () => ({ inputs: [{ path: '/in/x', url: `${S()}/users/mallory-and-bob/x`, type: 'DIRECTORY' }] }), 'inputs[0].url'],
    ['a bucket no rule names', () => ({ inputs: [{ path: '/in/x', url: 's3://elsewhere-bucket/x' }] }), 'inputs[0].url'],
    ["overwrite another user's result", () => ({ outputs: [{ path: '/out/x', url: `${S()}/users/bob/results/final.txt` }] }), 'outputs[0].url'],
    ["a DIRECTORY output into another user's prefix", () => ({ outputs: [{ path: '/out', url: `${S()}/users/bob`, type: 'DIRECTORY' }] }), 'outputs[0].url'],
    ['a wildcard output into users/', () => ({ outputs: [{ path: '/out/*.txt', path_prefix: '/out', url: `${S()}/users` }] }), 'outputs[0].url'],
    ["rewrite queued tasks' scripts (DIRECTORY output to tasks/)", () => ({ outputs: [{ path: '/out', url: `${S()}/tasks/`, type: 'DIRECTORY' }] }), 'outputs[0].url'],
    ['write the bucket root', () => ({ outputs: [{ path: '/out/x', url: `${S()}/x` }] }), 'outputs[0].url'],
  ];

  it.each(attacks)('%s: 400 storage_scope, nothing stored', async (_name, body, field) => {
    const before = (await mallory.get<{ tasks?: unknown[] }>('/tasks?page_size=100')).body.tasks?.length ?? 0;
    const reply = await mallory.post<{ details?: { path: string; rule?: string }[] }>('/tasks', task(body()));
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.details).toEqual([expect.objectContaining({ path: field, rule: 'storage_scope' })]);
    expect((await mallory.get<{ tasks?: unknown[] }>('/tasks?page_size=100')).body.tasks?.length ?? 0).toBe(before);
    await bobsDataUntouched();
  });

  it('an admin gets no storage bypass: no rule gives admins more here', async () => {
    const reply = await admin.post('/tasks', task({ inputs: [{ path: '/in/x', url: `s3://${bucket}/users/bob/secret.txt` }] }));
    expect(reply.status, reply.text).toBe(400);
    expect(reply.text).toContain('storage_scope');
  });

  it('service-info tells each caller their own prefix, and the anonymous caller where users’ prefixes are', async () => {
    // Then the example buckets the test stack's rules share with everyone (TEST_STORAGE_RULES).
    const shared = TEST_STORAGE_RULES.split(',').map((rule) => rule.replace(/=readwrite$/, ''));
    expect((await mallory.get<{ storage: string[] }>('/service-info')).body.storage).toEqual([`s3://${bucket}/users/mallory/`, ...shared]);
    expect((await bob.get<{ storage: string[] }>('/service-info')).body.storage).toEqual([`s3://${bucket}/users/bob/`, ...shared]);
    const anonymous = (await (await fetch(`${stack.url}/service-info`)).json()) as { storage: string[] };
    expect(anonymous.storage).toEqual([`s3://${bucket}/users/{owner}/`, ...shared]);
  });
});

describe('attacks beyond the issue’s list', () => {
  it("an upper-case scheme (S3://) to Bob's file is the same URL: 400 storage_scope", async () => {
    const reply = await mallory.post<{ details?: { path: string; rule?: string }[] }>('/tasks', task({ inputs: [{ path: '/in/x', url: `S3://${bucket}/users/bob/secret.txt` }] }));
    expect(reply.status, reply.text).toBe(400);
    expect(reply.body.details).toEqual([expect.objectContaining({ path: 'inputs[0].url', rule: 'storage_scope' })]);
    await bobsDataUntouched();
  });

  it("percent-encoded dot segments inside one's own prefix stay a literal key: the task reads nothing of Bob's and writes nothing outside", async () => {
    const url = `s3://${bucket}/users/mallory/%2E%2E/bob/secret.txt`;
    const done = await run(mallory, task({ inputs: [{ path: '/in/x', url }], outputs: [{ path: '/out/y', url: `s3://${bucket}/users/mallory/%2e%2e/bob/results/final.txt` }], executors: [{ image: TEST_IMAGE, command: ['sh', '-c', 'echo overwritten > /out/y'] }] }));
    // The key is users/mallory/%2E%2E/bob/secret.txt, which does not exist: the input fails, nothing else happens.
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/inputs\[0\] .* could not be staged: HTTP 404/);
    expect(JSON.stringify(done)).not.toContain('bob only');
    await bobsDataUntouched();
  });

  it('a token whose subject is a path (../bob, bob/.., bob/x) gets a hashed prefix of its own, never Bob’s', async () => {
    for (const subject of ['../bob', 'bob/..', 'bob/x', 'users/bob']) {
      const odd = await asUser(subject);
      const storage = (await odd.get<{ storage: string[] }>('/service-info')).body.storage[0];
      expect(storage, subject).toMatch(new RegExp(`^s3://${bucket}/users/~[0-9a-f]{32}/$`));
      const reply = await odd.post('/tasks', task({ inputs: [{ path: '/in/x', url: `s3://${bucket}/users/bob/secret.txt` }] }));
      expect(reply.status, subject).toBe(400);
      expect((await odd.get<{ tasks?: unknown[] }>('/tasks')).body.tasks ?? []).toEqual([]);
    }
    await bobsDataUntouched();
  });
});

describe('at run time', () => {
  it("a task writes its outputs only under its owner's prefix, DIRECTORY and wildcard outputs file by file", async () => {
    const done = await run(
      mallory,
      task({
        outputs: [
          { path: '/out', url: `s3://${bucket}/users/mallory/dir`, type: 'DIRECTORY' },
          { path: '/out/*.txt', path_prefix: '/out', url: `s3://${bucket}/users/mallory/glob` },
        ],
        executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', 'mkdir -p /out/sub; echo a > /out/a.txt; echo b > /out/sub/b.txt'] }],
      }),
    );
    expect(done.state, systemLogs(done)).toBe('COMPLETE');
    const keys = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'users/mallory/' }))).Contents?.map((o) => o.Key).sort();
    expect(keys).toEqual(['users/mallory/dir/a.txt', 'users/mallory/dir/sub/b.txt', 'users/mallory/glob/a.txt']);
    await bobsDataUntouched();
  });

  it("an http(s) input naming the local S3 or the TES API gets nothing: not a public address", async () => {
    const done = await run(
      mallory,
      task({
        inputs: [
          { path: '/in/s3', url: `${stack.s3.endpoint}/${bucket}/users/bob/secret.txt` },
          { path: '/in/api', url: `${stack.url}/tasks` },
        ],
      }),
    );
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/inputs\[0\] .* could not be staged: .*not a public address/);
    await bobsDataUntouched();
  });

  it('an operator can turn http(s) inputs off: then any is a 400', async () => {
    const off = await startTestStack({ port: 0, workflow: { start: () => Promise.resolve() } as never, env: { TES_HTTP_INPUTS: 'off' } });
    try {
      const reply = await new TesHttp({ url: off.url, root: '', headers: {}, close: () => Promise.resolve() }).post<{ details?: unknown[] }>(
        '/tasks',
        task({ inputs: [{ path: '/in/web', url: 'https://example.org/data.txt' }] }),
      );
      expect(reply.status).toBe(400);
      expect(reply.body.details).toEqual([expect.objectContaining({ path: 'inputs[0].url', rule: 'storage_scope' })]);
    } finally {
      await off.close();
    }
  });
});

describe('long output lists and kept logs (outputs and logs of any size)', () => {
  it("Carol's long output list reads back to Carol alone; file names carrying JSON and line breaks are listed as they are", async () => {
    // 300 files (a paged list): names with quotes, braces and a line break. (The local S3 refuses a
    // backslash in a key, which S3 takes; so a backslash is left out here.)
    const script = 'mkdir -p /out; i=0; while [ $i -lt 300 ]; do : > "/out/f$i\\"},{x"; i=$((i+1)); done; : > "/out/$(printf \'line\\nbreak\')"';
    const carol = await asUser('carol');
    const done = await run(carol, task({ outputs: [{ path: '/out', url: `s3://${bucket}/users/carol/many`, type: 'DIRECTORY' }], executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '-c', script] }] }));
    expect(done.state, systemLogs(done)).toBe('COMPLETE');
    const listed = (await carol.get<TesTask>(`/tasks/${done.id as string}?view=BASIC&outputs_from=0`)).body.logs?.[0];
    expect(listed?.metadata?.['outputs_total']).toBe('301');
    expect(listed?.outputs).toHaveLength(301);
    const paths = new Set(listed?.outputs.map((o) => o.path));
    expect(paths.has('/out/f7"},{x')).toBe(true);
    expect(paths.has('/out/line\nbreak')).toBe(true);
    expect(listed?.outputs.every((o) => o.url.startsWith(`s3://${bucket}/users/carol/many/`))).toBe(true);
    // Mallory, with and without outputs_from, gets what she gets for a task that does not exist.
    expect((await mallory.get(`/tasks/${done.id as string}?view=BASIC&outputs_from=0`)).status).toBe(404);
    expect((await mallory.get(`/tasks/${done.id as string}?view=FULL&outputs_from=100`)).status).toBe(404);
    await bobsDataUntouched();
  }, 90_000);

  it("Mallory cannot name the service's own copy of Bob's output pages, stage reports or kept logs as her input: 400 storage_scope", async () => {
    const own = (await bob.post<{ id: string }>('/tasks', task({}))).body.id;
    for (const key of [`tasks/${own}/runs/0/outputs/0.json`, `tasks/${own}/runs/0/stage-out.json`, `tasks/${own}/runs/0/log.json`]) {
      const reply = await mallory.post<{ details?: { rule?: string }[] }>('/tasks', task({ inputs: [{ path: '/in/x', url: `s3://${bucket}/${key}` }] }));
      expect(reply.status, key).toBe(400);
      expect(reply.body.details?.[0]?.rule).toBe('storage_scope');
    }
  });

  it("Mallory cannot name them as her outputs either: no task writes a stage report (a silent stage-in leaves none to overwrite), an output page or kept logs", async () => {
    const own = (await bob.post<{ id: string }>('/tasks', task({}))).body.id;
    for (const key of [`tasks/${own}/runs/0/stage-in.json`, `tasks/${own}/runs/0/stage-out.json`, `tasks/${own}/runs/0/outputs/0.json`, `tasks/${own}/logs/0/stdout`]) {
      const reply = await mallory.post<{ details?: { rule?: string }[] }>('/tasks', task({ outputs: [{ path: '/out/x', url: `s3://${bucket}/${key}` }] }));
      expect(reply.status, key).toBe(400);
      expect(reply.body.details?.[0]?.rule).toBe('storage_scope');
    }
  });
});

describe('sealed service objects', () => {
  /** Waits until a task's executor runs (it then holds the one executor slot). */
  async function running(as: TesHttp, id: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await as.get<TesTask>(`/tasks/${id}`)).body.state !== 'RUNNING') {
      if (Date.now() > deadline) throw new Error(`task ${id} did not start running within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Holds the one executor slot (once its executor runs) while the victim's objects are changed. */
  async function blocker(): Promise<{ id: string; done: Promise<TesTask> }> {
    const reply = await bob.post<{ id: string }>('/tasks', task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '4'] }], resources: { cpu_cores: 1 } }));
    expect(reply.status, reply.text).toBe(200);
    return { id: reply.body.id, done: waitForTerminal((path) => bob.get<TesTask>(path), reply.body.id, 60_000) };
  }

  it("Bob's offloaded script, changed in the bucket while his task waits, fails his task and never runs", async () => {
    const holding = await blocker();
    await running(bob, holding.id);
    const script = `echo bob-was-here\n#${'x'.repeat(20_000)}\n`;
    const reply = await bob.post<{ id: string }>(
      '/tasks',
      task({ inputs: [{ path: '/work/script.sh', content: script }], executors: [{ image: TEST_IMAGE, command: ['/bin/sh', '/work/script.sh'] }], resources: { cpu_cores: 1 } }),
    );
    expect(reply.status, reply.text).toBe(200);
    const key = `tasks/${reply.body.id}/inputs/0/content`;
    expect(await objectText(key)).toBe(script);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'echo MALLORY-WAS-HERE\n' }));
    const done = await waitForTerminal((path) => bob.get<TesTask>(path), reply.body.id, 60_000);
    await holding.done;
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/inputs\[0\] \(content\) could not be staged: the content is not what the service stored/);
    expect(JSON.stringify(done.logs)).not.toContain('MALLORY-WAS-HERE');
    expect(done.logs?.[0]?.logs ?? []).toEqual([]);
  }, 90_000);

  it("the volumes Bob's first executor leaves, changed in the bucket before his second runs, fail his task and never run", async () => {
    const reply = await bob.post<{ id: string }>(
      '/tasks',
      task({
        volumes: ['/vol'],
        resources: { cpu_cores: 1 },
        executors: [
          { image: TEST_IMAGE, command: ['/bin/sh', '-c', 'echo "echo bob-step-two" > /vol/next.sh; sleep 3'] },
          { image: TEST_IMAGE, command: ['/bin/sh', '/vol/next.sh'] },
        ],
      }),
    );
    expect(reply.status, reply.text).toBe(200);
    // Queued while Bob's first executor runs, the blocker takes the slot before his second executor.
    await running(bob, reply.body.id);
    const holding = await blocker();
    const archive = `tasks/${reply.body.id}/carry/0/0.tar`;
    const deadline = Date.now() + 30_000;
    while ((await objectText(archive)) === undefined) {
      if (Date.now() > deadline) throw new Error('the first executor left no archive');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const original = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: archive }))).Body?.transformToByteArray() ?? []);
    const forged = Buffer.from(original.toString('latin1').replace('echo bob-step-two', 'echo MALLORY-STEP'), 'latin1');
    expect(forged.equals(original)).toBe(false);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: archive, Body: forged }));
    const done = await waitForTerminal((path) => bob.get<TesTask>(path), reply.body.id, 60_000);
    await holding.done;
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(systemLogs(done)).toMatch(/the volumes executor 0 left could not be restored: the archive of \/vol is not what the service stored/);
    expect(JSON.stringify(done.logs)).not.toContain('MALLORY-STEP');
    expect(done.logs?.[0]?.logs).toHaveLength(1);
  }, 90_000);
});

describe('the local stand-ins', () => {
  it('keep the data directory to the user who runs the stack', async () => {
    expect((await stat(dataDir)).mode & 0o077).toBe(0);
    expect((await stat(join(dataDir, 's3-credentials.json'))).mode & 0o777).toBe(0o600);
  });

  it("answer no request but one signed with the stack's key", async () => {
    expect((await fetch(`${stack.s3.endpoint}/${bucket}/users/bob/secret.txt`)).status).toBe(403);
    expect((await fetch(`${stack.s3.endpoint}/${bucket}?list-type=2`)).status).toBe(403);
    expect((await fetch(`${stack.s3.endpoint}/${bucket}/users/bob/secret.txt`, { method: 'PUT', body: 'overwritten' })).status).toBe(403);
    const table = await fetch(stack.dynamodbEndpoint as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.Scan' },
      body: JSON.stringify({ TableName: 'tes-tasks' }),
    });
    expect(table.status).toBe(400);
    expect(await table.text()).not.toContain('bob');
    await bobsDataUntouched();
  });
});
