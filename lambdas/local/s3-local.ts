/**
 * The local S3: s3rver on loopback, storing objects as files under the data directory. Any S3
 * client can use it with path-style addressing and the credentials printed at start.
 */
import S3rver from 's3rver';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

/** Credentials s3rver accepts (it does not check signatures); shown to users at start. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export async function startS3rver(directory: string, bucket: string): Promise<LocalS3> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address = (await server.run());
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    close: () => server.close(),
  };
}
