/**
 * The local stand-ins admit only the holder of the stack's key: s3rver and dynalite check no
 * signature themselves, so what runs in front of them does (sigv4.ts). Each case is what another
 * local account, or a task holding one presigned URL, would try.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '../adapters/aws-clients.js';
import { S3ObjectStore } from '../adapters/s3-object-store.js';
import { ObjectMissingError } from '../ports/object-store.js';
import { startDynalite, type LocalDynamoDb } from './dynamodb-local.js';
import { localS3Credentials, startS3rver, type LocalS3 } from './s3-local.js';

let dir: string;
let s3: LocalS3;
let dynamo: LocalDynamoDb;
let good: S3Client;
const BUCKET = 'tes-local';

const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials });

/** A raw request, exactly as written (no client normalizes the path). */
function raw(method: string, path: string, body = ''): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(s3.endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tes-stand-ins-'));
  const credentials = await localS3Credentials(dir);
  s3 = await startS3rver(join(dir, 's3'), BUCKET, credentials);
  dynamo = await startDynalite(credentials);
  good = client(credentials);
  await good.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'users/bob/secret.txt', Body: 'bob only' }));
});
afterAll(async () => {
  await s3.close();
  await dynamo.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the local S3', () => {
  it("keeps its key in the data directory, readable by the stack's user only, and the same across restarts", async () => {
    expect((await stat(join(dir, 's3-credentials.json'))).mode & 0o777).toBe(0o600);
    const again = await localS3Credentials(dir);
    expect([again.accessKeyId, again.secretAccessKey]).toEqual([s3.credentials.accessKeyId, s3.credentials.secretAccessKey]);
    expect(s3.credentials.secretAccessKey.length).toBeGreaterThanOrEqual(40);
  });

  it('serves a client signing with the stack’s key', async () => {
    const out = await good.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'users/bob/secret.txt' }));
    expect(await out.Body?.transformToString()).toBe('bob only');
  });

  it('refuses the old fixed key, a guessed secret, and unsigned requests', async () => {
    for (const credentials of [{ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, { ...s3.credentials, secretAccessKey: 'guess' }]) {
      await expect(client(credentials).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'users/bob/secret.txt' }))).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(client(credentials).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'users/bob/secret.txt', Body: 'overwritten' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    }
    expect(await raw('GET', `/${BUCKET}/users/bob/secret.txt`)).toMatchObject({ status: 403, text: expect.stringContaining('not signed') });
    expect((await raw('GET', `/${BUCKET}?list-type=2`)).status).toBe(403);
    expect((await raw('PUT', `/${BUCKET}/users/bob/secret.txt`, 'overwritten')).status).toBe(403);
    const out = await good.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'users/bob/secret.txt' }));
    expect(await out.Body?.transformToString()).toBe('bob only');
  });

  it('honours a presigned URL only for its own key and method, and only until it expires', async () => {
    const url = await getSignedUrl(good, new GetObjectCommand({ Bucket: BUCKET, Key: 'users/alice/mine.txt' }), { expiresIn: 300 });
    await good.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'users/alice/mine.txt', Body: 'alice' }));
    expect(await (await fetch(url)).text()).toBe('alice');
    const other = url.replace('/users/alice/mine.txt', '/users/bob/secret.txt');
    expect((await fetch(other)).status).toBe(403);
    expect((await fetch(url, { method: 'PUT', body: 'x' })).status).toBe(403);
    const listing = url.replace('/users/alice/mine.txt', '').replace('?', '?list-type=2&');
    expect((await fetch(listing)).status).toBe(403);
    const expired = await getSignedUrl(good, new GetObjectCommand({ Bucket: BUCKET, Key: 'users/alice/mine.txt' }), { expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) });
    expect(await (await fetch(expired)).text()).toContain('expired');
    const put = await getSignedUrl(good, new PutObjectCommand({ Bucket: BUCKET, Key: 'users/alice/new.txt' }), { expiresIn: 300 });
    expect((await fetch(put, { method: 'PUT', body: 'new' })).status).toBe(200);
    expect((await fetch(put.replace('/users/alice/new.txt', '/users/bob/secret.txt'), { method: 'PUT', body: 'overwritten' })).status).toBe(403);
  });

  it("refuses keys with '.' or '..' segments in any spelling, so nothing is written outside its directory", async () => {
    const before = await readdir(dir);
    for (const key of ['../escaped', '..%2Fescaped', '%2e%2e%2Fescaped', 'users/%2E%2E/%2E%2E/../escaped', 'a/%2e/b']) {
      const reply = await raw('PUT', `/${BUCKET}/${key}`, 'x');
      expect(reply.status, key).toBe(400);
    }
    expect((await raw('PUT', '/../escaped', 'x')).status).toBe(400);
    await expect(good.send(new PutObjectCommand({ Bucket: BUCKET, Key: '../../escaped', Body: 'x' }))).rejects.toThrow();
    expect(await readdir(dir)).toEqual(before);
    expect(await readdir(join(dir, 's3'))).toEqual([BUCKET]);
  });
});

describe('the local S3 process', () => {
  /** The local S3 processes below this one (their command line names s3-process). */
  async function s3Processes(): Promise<number> {
    let count = 0;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      if ((await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).includes('s3-process')) count += 1;
    }
    return count;
  }

  it('starts with the first connection, and serves every connection that came while it started', async () => {
    const before = await s3Processes();
    const lazy = await startS3rver(join(dir, 's3-lazy'), BUCKET, s3.credentials);
    try {
      expect(await s3Processes()).toBe(before);
      // Separate clients, so these are separate connections arriving together.
      const puts = Array.from({ length: 8 }, (_, i) =>
        new S3Client({ region: 'us-east-1', endpoint: lazy.endpoint, forcePathStyle: true, credentials: s3.credentials }).send(
          new PutObjectCommand({ Bucket: BUCKET, Key: `first/${i}`, Body: `object ${i}` }),
        ),
      );
      await Promise.all(puts);
      expect(await s3Processes()).toBe(before + 1);
      // Later connections reach the process itself, and see what the first ones wrote.
      const later = new S3Client({ region: 'us-east-1', endpoint: lazy.endpoint, forcePathStyle: true, credentials: s3.credentials });
      const out = await later.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'first/7' }));
      expect(await out.Body?.transformToString()).toBe('object 7');
    } finally {
      await lazy.close();
    }
    expect(await s3Processes()).toBe(before);
  });
});

describe('the object store over it', () => {
  it('tells a missing object (ObjectMissingError) from a failure to read one', async () => {
    const store = new S3ObjectStore(good, BUCKET);
    await expect(store.getText('users/nobody/none.txt')).rejects.toBeInstanceOf(ObjectMissingError);
    const refused = await new S3ObjectStore(client({ ...s3.credentials, secretAccessKey: 'guess' }), BUCKET).getText('users/bob/secret.txt').catch((e: unknown) => e);
    expect(refused).not.toBeInstanceOf(ObjectMissingError);
    expect(refused).toMatchObject({ name: 'AccessDenied' });
    expect(await store.getText('users/bob/secret.txt')).toBe('bob only');
  });

  it('keeps a file byte for byte, whether it is empty, small (sent whole) or large (streamed)', async () => {
    // The client the stack makes (a stand-in wants no chunked upload with a trailing checksum).
    const store = new S3ObjectStore(s3Client({ region: 'us-east-1', endpoints: { s3: s3.endpoint }, credentials: s3.credentials }), BUCKET);
    const sizes = [0, 5, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 7];
    for (const size of sizes) {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i += 1) bytes[i] = (i * 7 + size) % 256;
      const file = join(dir, `put-${size}.bin`);
      await writeFile(file, bytes);
      await store.putFile(`users/local/put-${size}.bin`, file);
      const out = await good.send(new GetObjectCommand({ Bucket: BUCKET, Key: `users/local/put-${size}.bin` }));
      const kept = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
      expect(kept.length, `${size} bytes`).toBe(size);
      expect(kept.equals(bytes), `${size} bytes`).toBe(true);
    }
  });
});

describe('the local DynamoDB', () => {
  it('answers only requests signed with the stack’s key: another account reads no task', async () => {
    const mine = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: s3.credentials });
    expect((await mine.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    const theirs = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await expect(theirs.send(new ListTablesCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    const unsigned = await fetch(dynamo.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables' }, body: '{}' });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.text()).toContain('not signed');
  });
});
