/**
 * The staging broker's scoping, proven at the broker: which URLs it agrees to give, for which task,
 * and to whom (the task owner's storage scopes, key by key), and its seal over carried volumes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputPageKey, sha256Hex } from '../domain/output-list.js';
import { InvalidStagingTokenError, StagingTokens } from '../domain/staging-token.js';
import type { UploadedFile } from '../ports/staging.js';
import { storagePolicyFromEnv } from '../domain/storage-policy.js';
import type { TaskRecord } from '../domain/task-record.js';
import { startS3rver, type LocalS3 } from '../local/s3-local.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { brokerRequest } from '../workflow/broker-lambda.js';
import { reportKey, S3StagingBroker, StagingRefusedError } from './s3-staging-broker.js';

let table: TestTable;
let s3: LocalS3;
let dir: string;
let broker: S3StagingBroker;
let client: S3Client;
const tokens = new StagingTokens(Buffer.alloc(32, 5));
const now = new Date('2026-06-01T00:00:00Z');
const future = Math.floor(now.getTime() / 1000) + 3600;

const task: TaskRecord = {
  id: '01brokertask0000000000000a',
  owner: 'o',
  state: 'INITIALIZING',
  version: 1,
  creationTime: now.toISOString(),
  task: {
    inputs: [
      { path: '/data/in.txt', url: 's3://user-bucket/inputs/in.txt' },
      { path: '/data/page', url: 'https://example.org/page' },
      { path: '/data/small.txt', content: 'small' },
    ],
    outputs: [
      { path: '/data/out.txt', url: 's3://user-bucket/results/out.txt' },
      { path: '/data/dir', url: 's3://user-bucket/results/dir', type: 'DIRECTORY' },
    ],
    executors: [
      { image: 'a', command: ['x'] },
      { image: 'b', command: ['y'], ignore_error: true },
    ],
  },
  logs: [],
};

/** A task stored as if admitted under a looser policy: the broker must still refuse what its owner may not reach. */
const sneaky: TaskRecord = {
  ...task,
  id: '01brokertask0000000000000b',
  task: {
    inputs: [
      { path: '/in/other', url: 's3://service-bucket/users/victim/secret.txt' },
      { path: '/in/tasks', url: 's3://service-bucket/tasks/', type: 'DIRECTORY' },
    ],
    outputs: [
      { path: '/out/x', url: 's3://user-bucket/inputs/x' },
      { path: '/out/dir', url: 's3://service-bucket/users/o/dir', type: 'DIRECTORY' },
    ],
    executors: [{ image: 'a', command: ['x'] }],
  },
};

/** Two executors sharing a volume: the second needs the first one's sealed archive hashes. */
const noSeal: TaskRecord = { ...task, id: '01brokertask0000000000000c', task: { executors: [{ image: 'a', command: ['x'] }, { image: 'b', command: ['y'] }], volumes: ['/vol'] } };

beforeAll(async () => {
  table = await startTestTable('tes-broker');
  dir = await mkdtemp(join(tmpdir(), 'tes-broker-s3-'));
  s3 = await startS3rver(dir, 'service-bucket', { accessKeyId: 'broker-test', secretAccessKey: 'broker-test-secret' });
  await table.store.create(task);
  for (const other of [sneaky, noSeal]) await table.store.create(other);
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
  const storage = storagePolicyFromEnv({ TES_STORAGE_RULES: 's3://user-bucket/inputs/=read,s3://user-bucket/results/=readwrite' }, 'service-bucket');
  broker = new S3StagingBroker({ store: table.store, s3: client, bucket: 'service-bucket', tokens, clock: { now: () => now }, storage });
});
afterAll(async () => {
  await s3.close();
  await table.close();
  await rm(dir, { recursive: true, force: true });
});

/** A session token, as stage-in gets one for its ticket. */
const token = (executorIndex: number, taskId = task.id, expires = future) => tokens.issue({ taskId, executorIndex, expires, run: `run-${executorIndex}`, kind: 'session' });

describe('the staging broker', () => {
  it('gives the first executor its declared inputs: presigned S3, plain http (marked as the task named it), content inline', async () => {
    const plan = await broker.plan(token(0));
    expect(plan).toMatchObject({ taskId: task.id, executorIndex: 0, executorCount: 2, ignoreError: false, mounts: ['/data'] });
    const [s3Input, httpInput, content] = plan.inputs;
    expect(s3Input?.files).toEqual([{ relative: '', url: expect.stringMatching(/\/user-bucket\/inputs\/in\.txt\?.*X-Amz-Signature=/) }]);
    expect(httpInput?.files).toEqual([{ relative: '', url: 'https://example.org/page', external: true }]);
    expect(content?.files[0]?.url).toBe(`data:application/octet-stream;base64,${Buffer.from('small').toString('base64')}`);
  });

  it('gives later executors no inputs (they find them in the shared volumes) and the sealed hashes of the archives they restore', async () => {
    const hash = 'a'.repeat(64);
    await broker.report(token(0), 'stage-out', { ok: true, warnings: [], carry: [hash], seal: 'made-up' });
    const stored = JSON.parse(
      (await (await client.send(new GetObjectCommand({ Bucket: 'service-bucket', Key: reportKey(task.id, 0, 'stage-out') }))).Body?.transformToString()) ?? '',
    ) as { seal: string };
    expect(stored.seal).not.toBe('made-up');
    const plan = await broker.plan(token(1));
    expect(plan.inputs).toEqual([]);
    expect(plan.ignoreError).toBe(true);
    expect(plan.carry).toMatchObject({ restore: [expect.any(String)], restoreSha256: [hash] });
  });

  it('refuses to hand on carried volumes whose report lost its seal (a report changed in the bucket)', async () => {
    const noSealToken = token(1, noSeal.id);
    await expect(broker.plan(noSealToken)).rejects.toThrow(/no seal of this service/);
    await broker.report(token(0, noSeal.id), 'stage-out', { ok: true, warnings: [], carry: ['b'.repeat(64)] });
    expect((await broker.plan(noSealToken)).carry.restoreSha256).toEqual(['b'.repeat(64)]);
    const key = reportKey(noSeal.id, 0, 'stage-out');
    const report = JSON.parse((await (await client.send(new GetObjectCommand({ Bucket: 'service-bucket', Key: key }))).Body?.transformToString()) ?? '') as Record<string, unknown>;
    await client.send(new PutObjectCommand({ Bucket: 'service-bucket', Key: key, Body: JSON.stringify({ ...report, carry: ['c'.repeat(64)] }) }));
    await expect(broker.plan(noSealToken)).rejects.toThrow(/no seal of this service/);
  });

  it("signs nothing outside the owner's scopes, even for a task stored under a looser policy", async () => {
    const sneakyToken = token(0, sneaky.id);
    await expect(broker.plan(sneakyToken)).rejects.toThrow(/inputs\[0\]: s3:\/\/service-bucket\/users\/victim\/secret\.txt is outside what the task's owner may read/);
    await expect(broker.uploadTargets(sneakyToken, [{ output: 0, relative: '' }])).rejects.toThrow(/outside what the task's owner may write/);
    // The owner's own prefix (users/o/) is theirs: a DIRECTORY output below it is signed file by file.
    const [own] = await broker.uploadTargets(sneakyToken, [{ output: 1, relative: 'a/b.txt' }]);
    expect(own).toMatch(/\/service-bucket\/users\/o\/dir\/a\/b\.txt\?/);
  });

  it('stages no file on the server’s own disk, even for a task stored with a file:// URL or a bare path', async () => {
    const host: TaskRecord = {
      ...task,
      id: '01brokertask0000000000000g',
      task: { inputs: [{ path: '/in/x', url: 'file:///etc/shadow' }], outputs: [{ path: '/out/x', url: '/root/.ssh/authorized_keys' }], executors: [{ image: 'a', command: ['x'] }] },
    };
    await table.store.create(host);
    await expect(broker.plan(token(0, host.id))).rejects.toThrow(/inputs\[0\]: file:\/\/\/etc\/shadow names a file on the server's own disk; this service stages none/);
    await expect(broker.uploadTargets(token(0, host.id), [{ output: 0, relative: '' }])).rejects.toThrow(/outputs\[0\]: \/root\/\.ssh\/authorized_keys names a file on the server's own disk/);
  });

  it("refuses a DIRECTORY input holding a key with '..' segments (fetched, it would be another key)", async () => {
    // S3 keeps such a key as it is (the local stand-in refuses to store one): its listing is S3's answer here.
    const listing = { send: (command: unknown) => Promise.resolve(command instanceof ListObjectsV2Command ? { Contents: [{ Key: 'users/o/dots/../../victim/x' }] } : {}) };
    const storage = storagePolicyFromEnv({}, 'service-bucket');
    const dotted = new S3StagingBroker({ store: table.store, s3: listing as unknown as S3Client, bucket: 'service-bucket', tokens, clock: { now: () => now }, storage });
    const dots: TaskRecord = { ...task, id: '01brokertask0000000000000d', task: { inputs: [{ path: '/in', url: 's3://service-bucket/users/o/dots', type: 'DIRECTORY' }], executors: [{ image: 'a', command: ['x'] }] } };
    await table.store.create(dots);
    await expect(dotted.plan(token(0, dots.id))).rejects.toThrow(/users\/o\/dots\/\.\.\/\.\.\/victim\/x is outside/);
  });

  it('signs uploads only below the declared output URLs', async () => {
    const [file, inDir] = await broker.uploadTargets(token(0), [
      { output: 0, relative: '' },
      { output: 1, relative: 'sub/x.txt' },
    ]);
    expect(file).toMatch(/\/user-bucket\/results\/out\.txt\?/);
    expect(inDir).toMatch(/\/user-bucket\/results\/dir\/sub\/x\.txt\?/);
  });

  it.each([
    [{ output: 1, relative: '../escape' }],
    [{ output: 1, relative: '/abs' }],
    [{ output: 1, relative: 'a/./b' }],
    [{ output: 7, relative: '' }],
  ])('refuses to sign %j', async (request) => {
    await expect(broker.uploadTargets(token(0), [request])).rejects.toBeInstanceOf(StagingRefusedError);
  });

  it("keeps a page of a long output list in the task's own prefix and answers its hash", async () => {
    const files = [
      { url: 's3://user-bucket/results/dir/a', path: '/data/dir/a', size_bytes: '1' },
      { url: 's3://user-bucket/results/out.txt', path: '/data/out.txt', size_bytes: '22' },
    ];
    const page = await broker.outputPage(token(1), 3, files);
    const kept = await client.send(new GetObjectCommand({ Bucket: 'service-bucket', Key: outputPageKey(task.id, 1, 3) }));
    const text = (await kept.Body?.transformToString('utf8')) ?? '';
    expect(JSON.parse(text)).toEqual(files);
    expect(page).toEqual({ count: 2, sha256: sha256Hex(text) });
  });

  it.each([
    ['a file outside the declared outputs', 0, [{ url: 's3://user-bucket/results/dirty/x', path: '/x', size_bytes: '1' }]],
    ['another bucket', 0, [{ url: 's3://service-bucket/users/victim/x', path: '/x', size_bytes: '1' }]],
    ['a size that is no number', 0, [{ url: 's3://user-bucket/results/dir/a', path: '/a', size_bytes: '1e9' }]],
    ['an entry that is no file', 0, [null]],
    ['an empty page', 0, []],
    ['a page past the last', 10_000, [{ url: 's3://user-bucket/results/dir/a', path: '/a', size_bytes: '1' }]],
    ['a negative page', -1, [{ url: 's3://user-bucket/results/dir/a', path: '/a', size_bytes: '1' }]],
  ])('refuses an output page naming %s', async (_what, page, files) => {
    await expect(broker.outputPage(token(0), page, files as UploadedFile[])).rejects.toBeInstanceOf(StagingRefusedError);
  });

  it('refuses an output page over 1,000 files, and one without a session', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ url: `s3://user-bucket/results/dir/${i}`, path: `/data/dir/${i}`, size_bytes: '1' }));
    await expect(broker.outputPage(token(0), 0, many)).rejects.toThrow(/1 to 1000 files/);
    const ticket = tokens.issue({ taskId: task.id, executorIndex: 0, expires: future, run: 'run-0', kind: 'ticket' });
    await expect(broker.outputPage(ticket, 0, many.slice(0, 1))).rejects.toBeInstanceOf(InvalidStagingTokenError);
  });

  it('refuses forged, expired and unknown-task tokens', async () => {
    const forged = `${token(0).split('.')[0]}.${Buffer.alloc(32).toString('base64url')}`;
    await expect(broker.plan(forged)).rejects.toThrow(/forged/);
    await expect(broker.plan(token(0, task.id, Math.floor(now.getTime() / 1000) - 1))).rejects.toThrow(/expired/);
    await expect(broker.plan(token(0, '01othertask'))).rejects.toThrow(/does not exist/);
    await expect(broker.plan(token(5))).rejects.toThrow(/no such executor/);
    const otherKey = new StagingTokens(Buffer.alloc(32, 6)).issue({ taskId: task.id, executorIndex: 0, expires: future, run: 'r', kind: 'session' });
    await expect(broker.plan(otherKey)).rejects.toThrow(/forged/);
  });

  it('trades a ticket once for a session; a ticket is no session and a session no ticket', async () => {
    const ticket = tokens.ticket(task.id, 0, future);
    await expect(broker.plan(ticket)).rejects.toThrow(/a staging ticket is traded for a session first/);
    const { token: session, plan } = await broker.session(ticket);
    expect(plan.executorIndex).toBe(0);
    expect((await broker.plan(session)).executorIndex).toBe(0);
    await expect(broker.session(ticket)).rejects.toThrow(/traded already/);
    await expect(broker.session(session)).rejects.toThrow(/not a staging ticket/);
    // Another run of the same executor (a Spot retry) gets a ticket of its own.
    expect((await broker.session(tokens.ticket(task.id, 0, future))).plan.executorIndex).toBe(0);
  });

  it("voids a run's tokens once the workflow has recorded the run, and every token once the task has ended", async () => {
    const ran: TaskRecord = { ...task, id: '01brokertask0000000000000e', logs: [{ logs: [{ exit_code: 0 }], outputs: [] }] };
    await table.store.create(ran);
    await expect(broker.plan(token(0, ran.id))).rejects.toThrow(/executor 0's run has been recorded/);
    await expect(broker.session(tokens.ticket(ran.id, 0, future))).rejects.toThrow(/executor 0's run has been recorded/);
    expect(await broker.uploadTargets(token(1, ran.id), [{ output: 0, relative: '' }])).toHaveLength(1);
    const ended: TaskRecord = { ...task, id: '01brokertask0000000000000f', state: 'COMPLETE' };
    await table.store.create(ended);
    await expect(broker.uploadTargets(token(1, ended.id), [{ output: 0, relative: '' }])).rejects.toThrow(/has ended \(COMPLETE\)/);
  });

  it('answers over HTTP: 401 without a token, 403 for a refused one, 200 with a good one', async () => {
    const event = (path: string, authorization?: string): APIGatewayProxyEventV2 =>
      ({ rawPath: path, headers: authorization ? { authorization } : {}, body: '{}', isBase64Encoded: false }) as unknown as APIGatewayProxyEventV2;
    expect((await brokerRequest(broker, event('/staging/plan'))).statusCode).toBe(401);
    expect((await brokerRequest(broker, event('/staging/plan', 'Bearer nonsense.x'))).statusCode).toBe(403);
    expect((await brokerRequest(broker, event('/staging/plan', `Bearer ${token(0)}`))).statusCode).toBe(200);
    // A private REST API sends version 1.0 events: `path`, and headers as the client wrote them.
    const restEvent = { path: '/staging/plan', headers: { Authorization: `Bearer ${token(0)}` }, body: null, isBase64Encoded: false };
    expect((await brokerRequest(broker, restEvent)).statusCode).toBe(200);
  });
});
