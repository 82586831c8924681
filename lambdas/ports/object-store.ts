/** An object that is not there (never written, or expired by the bucket's lifecycle): not a failure to read one. */
export class ObjectMissingError extends Error {
  constructor(readonly key: string) {
    super(`no object ${key}`);
    this.name = 'ObjectMissingError';
  }
}

/** Where large task content and (later) logs live: S3 in the cloud, s3rver locally. */
export interface ObjectStore {
  /** The bucket, for service-info's `storage` list. */
  readonly bucket: string;
  put(key: string, body: string | Uint8Array): Promise<void>;
  /** Streams a file's content to `key` (nothing held whole in memory). */
  putFile(key: string, path: string): Promise<void>;
  /** The object as text; ObjectMissingError when there is none, any other error as it came. */
  getText(key: string): Promise<string>;
}
