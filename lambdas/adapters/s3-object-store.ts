import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { open } from 'node:fs/promises';
import { ObjectMissingError, type ObjectStore } from '../ports/object-store.js';
import { s3Client, type AwsConfig } from './aws-clients.js';

/** Files up to this size are read whole and sent as one buffer (a stream costs more than it saves). */
const WHOLE_FILE_BYTES = 1024 * 1024;

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, body: string | Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
  }

  async putFile(key: string, path: string): Promise<void> {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const body = size <= WHOLE_FILE_BYTES ? await file.readFile() : file.createReadStream({ autoClose: false });
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: size }));
    } finally {
      await file.close();
    }
  }

  async getText(key: string): Promise<string> {
    let out;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) throw new ObjectMissingError(key);
      throw error;
    }
    if (out.Body === undefined) throw new Error(`s3://${this.bucket}/${key} has no body`);
    return out.Body.transformToString('utf8');
  }
}

/** The object store CreateTask's and GetTask's modules give the cloud wiring (api/config.ts CloudParts). */
export function s3ObjectStore(aws: AwsConfig, bucket: string): S3ObjectStore {
  return new S3ObjectStore(s3Client(aws), bucket);
}
