/** Where large task content and (later) logs live: S3 in the cloud, s3rver locally. */
export interface ObjectStore {
  /** The bucket, for service-info's `storage` list. */
  readonly bucket: string;
  put(key: string, body: string | Uint8Array): Promise<void>;
  /** Streams a file's content to `key` (nothing held whole in memory). */
  putFile(key: string, path: string): Promise<void>;
  getText(key: string): Promise<string>;
}
