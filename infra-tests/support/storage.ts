/**
 * The object store the run tests put inputs in and read outputs from: the local stack's S3
 * (s3rver), or, against TES_URL, the bucket in TES_TEST_BUCKET with the ambient AWS credentials.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Target } from './target.js';

export interface TestStorage {
  bucket: string;
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  list(prefix: string): Promise<string[]>;
}

export function testStorage(target: Target): TestStorage {
  let client: S3Client;
  let bucket: string;
  if (target.local !== undefined) {
    client = new S3Client({
      region: 'us-east-1',
      endpoint: target.local.s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    bucket = target.local.s3.bucket;
  } else {
    const given = process.env['TES_TEST_BUCKET'];
    if (!given) throw new Error('the run tests against TES_URL need TES_TEST_BUCKET (a bucket the TES may read and write) and AWS credentials');
    client = new S3Client({});
    bucket = given;
  }
  return {
    bucket,
    put: async (key, body) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    get: async (key) => {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await out.Body?.transformToString('utf8');
      } catch {
        return undefined;
      }
    },
    list: async (prefix) => {
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key as string).sort();
    },
  };
}
