/**
 * The local broker's host files, proven at the broker: it checks every host path again when it
 * copies or signs (a task stored under a looser policy gets nothing), names the input in stage-in's
 * report when it refuses one, and writes to the host only what stage-out uploaded for the task's own
 * outputs.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReport, reportKey, StagingRefusedError } from '../adapters/s3-staging-broker.js';
import { StagingTokens } from '../domain/staging-token.js';
import { parseLocalDirs, storagePolicyFromEnv } from '../domain/storage-policy.js';
import type { TaskRecord } from '../domain/task-record.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { HostFileStagingBroker, hostFilesPrefix } from './host-file-broker.js';
import { HostFiles } from './host-files.js';
import { startS3rver, type LocalS3 } from './s3-local.js';

let table: TestTable;
let s3: LocalS3;
let s3Dir: string;
let base: string;
let client: S3Client;
let broker: HostFileStagingBroker;
const tokens = new StagingTokens(Buffer.alloc(32, 7));
const now = new Date('2026-06-01T00:00:00Z');
const future = Math.floor(now.getTime() / 1000) + 3600;
let ids = 0;

/** A task of Alice's, stored as it is (as if admitted under another policy). */
async function stored(task: TaskRecord['task']): Promise<TaskRecord> {
  ids += 1;
  const record: TaskRecord = { id: `01hostbroker${String(ids).padStart(14, '0')}`, owner: 'alice', state: 'INITIALIZING', version: 1, creationTime: now.toISOString(), task, logs: [] };
  await table.store.create(record);
  return record;
}

const session = (taskId: string) => tokens.issue({ taskId, executorIndex: 0, expires: future, run: 'run-0', kind: 'session' });

async function keys(prefix: string): Promise<string[]> {
  return ((await client.send(new ListObjectsV2Command({ Bucket: 'tes-local', Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string);
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'tes-host-broker-'));
  for (const dir of ['users/alice', 'users/bob']) await mkdir(join(base, dir), { recursive: true });
  await writeFile(join(base, 'users', 'alice', 'in.txt'), 'alice\n');
  await writeFile(join(base, 'users', 'bob', 'secret.txt'), 'bob\n');
  table = await startTestTable('tes-host-broker');
  s3Dir = await mkdtemp(join(tmpdir(), 'tes-host-broker-s3-'));
  s3 = await startS3rver(s3Dir, 'tes-local', { accessKeyId: 'host-broker', secretAccessKey: 'host-broker-secret' });
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
  const storage = { ...storagePolicyFromEnv({}, 'tes-local'), localDirs: parseLocalDirs(`${base}/users/{owner}=readwrite`) };
  broker = new HostFileStagingBroker({ store: table.store, s3: client, bucket: 'tes-local', tokens, clock: { now: () => now }, storage }, { files: await HostFiles.create([s3Dir]) });
});

afterAll(async () => {
  await s3.close();
  await table.close();
  await rm(s3Dir, { recursive: true, force: true });
  await rm(base, { recursive: true, force: true });
});

describe('the local broker’s host files', () => {
  it('copies a host input into the task’s prefix when stage-in trades its ticket, presigns it, and drops the copy once stage-in reports', async () => {
    const record = await stored({ inputs: [{ path: '/in/x', url: `${base}/users/alice/in.txt` }], executors: [{ image: 'a', command: ['x'] }] });
    const { token, plan } = await broker.session(tokens.ticket(record.id, 0, future));
    expect(plan.inputs[0]?.files).toEqual([{ relative: '', url: expect.stringMatching(new RegExp(`/tes-local/tasks/${record.id}/files/in/0\\?.*X-Amz-Signature=`)) }]);
    expect(await (await fetch(plan.inputs[0]?.files[0]?.url as string)).text()).toBe('alice\n');
    // Stage-out's plan copies nothing again.
    expect((await broker.plan(token)).inputs[0]?.files).toEqual([]);
    await broker.report(token, 'stage-in', { ok: true, warnings: [] });
    expect(await keys(hostFilesPrefix(record.id, 'in'))).toEqual([]);
  });

  it("refuses another user's file for a task stored with it, copying nothing, and says so in stage-in's report", async () => {
    const record = await stored({ inputs: [{ path: '/in/x', url: `file://${base}/users/bob/secret.txt` }], executors: [{ image: 'a', command: ['x'] }] });
    await expect(broker.session(tokens.ticket(record.id, 0, future))).rejects.toBeInstanceOf(StagingRefusedError);
    expect(await keys(`tasks/${record.id}/files/`)).toEqual([]);
    const text = (await (await client.send(new GetObjectCommand({ Bucket: 'tes-local', Key: reportKey(record.id, 0, 'stage-in') }))).Body?.transformToString()) ?? '';
    expect(openReport(tokens, record.id, 0, 'stage-in', text)).toEqual({
      ok: false,
      error: expect.stringMatching(/^inputs\[0\] \(file:\/\/.*\/bob\/secret\.txt\) could not be staged: .*is outside the directories this task's owner may read$/),
      warnings: [],
    });
  });

  it("signs no upload for a host output its owner may not write, or for a name the host should not get", async () => {
    const record = await stored({
      outputs: [
        { path: '/out/x', url: `${base}/users/bob/planted.txt` },
        { path: '/out/d', url: `${base}/users/alice/d`, type: 'DIRECTORY' },
      ],
      executors: [{ image: 'a', command: ['x'] }],
    });
    await expect(broker.uploadTargets(session(record.id), [{ output: 0, relative: '' }])).rejects.toThrow(/outside what the task's owner may write/);
    for (const relative of ['a\nb', 'a//b', '']) await expect(broker.uploadTargets(session(record.id), [{ output: 1, relative }])).rejects.toThrow(/is not a file name below outputs\[1\]/);
    const [url] = await broker.uploadTargets(session(record.id), [{ output: 1, relative: 'sub/f.txt' }]);
    expect(url).toMatch(new RegExp(`/tes-local/tasks/${record.id}/files/out/1/sub/f\\.txt\\?`));
  });

  it('writes what stage-out uploaded when it reports, and nothing at all when an object is no output of the task', async () => {
    const record = await stored({ outputs: [{ path: '/out/d', url: `${base}/users/alice/results`, type: 'DIRECTORY' }], executors: [{ image: 'a', command: ['x'] }] });
    const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: 'tes-local', Key: key, Body: body }));
    await put(`${hostFilesPrefix(record.id, 'out')}0/a.txt`, 'a\n');
    // Something else under the task's prefix (no broker URL writes there): the whole delivery is refused.
    await put(`${hostFilesPrefix(record.id, 'out')}5/x`, 'x\n');
    await broker.report(session(record.id), 'stage-out', { ok: true, warnings: [] });
    const text = (await (await client.send(new GetObjectCommand({ Bucket: 'tes-local', Key: reportKey(record.id, 0, 'stage-out') }))).Body?.transformToString()) ?? '';
    expect(openReport(tokens, record.id, 0, 'stage-out', text)?.error).toMatch(/files\/out\/5\/.* is no output of the task; no output was written to the host/);
    expect(await readdir(join(base, 'users', 'alice'))).toEqual(['in.txt']);

    const good = await stored({ outputs: [{ path: '/out/d', url: `${base}/users/alice/results`, type: 'DIRECTORY' }], executors: [{ image: 'a', command: ['x'] }] });
    await put(`${hostFilesPrefix(good.id, 'out')}0/sub/a.txt`, 'a\n');
    await broker.report(session(good.id), 'stage-out', { ok: true, warnings: [] });
    expect(await readFile(join(base, 'users', 'alice', 'results', 'sub', 'a.txt'), 'utf8')).toBe('a\n');
    expect(await keys(hostFilesPrefix(good.id, 'out'))).toEqual([]);
  });
});
