/**
 * The object store the run tests put inputs in and read outputs from: where the TES under test
 * says the caller's own storage is (service-info's first `storage` location, the caller's prefix),
 * through the local stack's S3 and its credentials, or, against TES_URL, with the ambient AWS
 * credentials (which must reach that prefix).
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { TesHttp, type Target } from './target.js';

export interface TestStorage {
  bucket: string;
  /** The caller's own key prefix (`users/<owner key>/`), where its tasks may read and write. */
  home: string;
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  list(prefix: string): Promise<string[]>;
}

export async function testStorage(target: Target): Promise<TestStorage> {
  const info = await new TesHttp(target).get<{ storage?: string[] }>('/service-info');
  const own = /^s3:\/\/([^/]+)\/(.*)$/.exec(info.body.storage?.[0] ?? '');
  if (own === null) throw new Error(`service-info names no s3:// storage for this caller: ${info.text}`);
  const [, bucket, home] = own as unknown as [string, string, string];
  const client =
    target.local !== undefined
      ? new S3Client({ region: 'us-east-1', endpoint: target.local.s3.endpoint, forcePathStyle: true, credentials: target.local.s3.credentials })
      : new S3Client({});
  return {
    bucket,
    home,
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
