import { ObjectMissingError, type ObjectStore } from '../ports/object-store.js';

/** An in-memory ObjectStore for tests that need no S3 protocol. */
export class MemoryObjects implements ObjectStore {
  readonly bucket = 'test-bucket';
  readonly objects = new Map<string, string>();

  put(key: string, body: string | Uint8Array): Promise<void> {
    this.objects.set(key, typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
    return Promise.resolve();
  }

  async putFile(key: string, path: string): Promise<void> {
    const { readFile } = await import('node:fs/promises');
    this.objects.set(key, await readFile(path, 'utf8'));
  }

  getText(key: string): Promise<string> {
    const value = this.objects.get(key);
    return value === undefined ? Promise.reject(new ObjectMissingError(key)) : Promise.resolve(value);
  }
}
