/**
 * The staging broker's scoping, proven at the broker (the local S3 stand-in does not check
 * signatures): which URLs it agrees to give, for which task, and to whom.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StagingTokens } from '../domain/staging-token.js';
import type { TaskRecord } from '../domain/task-record.js';
import { startS3rver, type LocalS3 } from '../local/s3-local.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { brokerRequest } from '../workflow/broker-lambda.js';
import { S3StagingBroker, StagingRefusedError } from './s3-staging-broker.js';

let table: TestTable;
let s3: LocalS3;
let dir: string;
let broker: S3StagingBroker;
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

beforeAll(async () => {
  table = await startTestTable('tes-broker');
  dir = await mkdtemp(join(tmpdir(), 'tes-broker-s3-'));
  s3 = await startS3rver(dir, 'service-bucket');
  await table.store.create(task);
  const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  broker = new S3StagingBroker({ store: table.store, s3: client, bucket: 'service-bucket', tokens, clock: { now: () => now } });
});
afterAll(async () => {
  await s3.close();
  await table.close();
  await rm(dir, { recursive: true, force: true });
});

const token = (executorIndex: number, taskId = task.id, expires = future) => tokens.issue({ taskId, executorIndex, expires });

describe('the staging broker', () => {
  it('gives the first executor its declared inputs: presigned S3, plain http (marked as the task named it), content inline', async () => {
    const plan = await broker.plan(token(0));
    expect(plan).toMatchObject({ taskId: task.id, executorIndex: 0, executorCount: 2, ignoreError: false, mounts: ['/data'] });
    const [s3Input, httpInput, content] = plan.inputs;
    expect(s3Input?.files).toEqual([{ relative: '', url: expect.stringMatching(/\/user-bucket\/inputs\/in\.txt\?.*X-Amz-Signature=/) }]);
    expect(httpInput?.files).toEqual([{ relative: '', url: 'https://example.org/page', external: true }]);
    expect(content?.files[0]?.url).toBe(`data:application/octet-stream;base64,${Buffer.from('small').toString('base64')}`);
  });

  it('gives later executors no inputs (they find them in the shared volumes)', async () => {
    const plan = await broker.plan(token(1));
    expect(plan.inputs).toEqual([]);
    expect(plan.ignoreError).toBe(true);
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

  it('refuses forged, expired and unknown-task tokens', async () => {
    const forged = `${token(0).split('.')[0]}.${Buffer.alloc(32).toString('base64url')}`;
    await expect(broker.plan(forged)).rejects.toThrow(/forged/);
    await expect(broker.plan(token(0, task.id, Math.floor(now.getTime() / 1000) - 1))).rejects.toThrow(/expired/);
    await expect(broker.plan(token(0, '01othertask'))).rejects.toThrow(/does not exist/);
    await expect(broker.plan(token(5))).rejects.toThrow(/no such executor/);
    const otherKey = new StagingTokens(Buffer.alloc(32, 6)).issue({ taskId: task.id, executorIndex: 0, expires: future });
    await expect(broker.plan(otherKey)).rejects.toThrow(/forged/);
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
