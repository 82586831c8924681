/**
 * The local S3: s3rver on loopback, storing objects as files under the data directory, in a process
 * of its own (a task uploading 100,000 files loads it, not the API). Any S3 client can use it with
 * path-style addressing and the stack's credentials: requests signed with anything else, and
 * presigned URLs that were changed or have expired, are refused (s3-process.ts).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Credentials } from './sigv4.js';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** The only credentials it accepts. */
  credentials: Credentials;
  close(): Promise<void>;
}

const PROCESS = fileURLToPath(new URL('./s3-process.ts', import.meta.url));
/** The child runs TypeScript as the stack does (tsx), found where this package's dependencies are. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * The stack's S3 credentials: made once and kept in the data directory, readable only by the user
 * who runs the stack (so the same `aws --profile` keeps working across restarts), or fresh each
 * time without one.
 */
export async function localS3Credentials(dataDir: string | undefined): Promise<Credentials> {
  const fresh = (): Credentials => ({ accessKeyId: `TESLOCAL${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64url') });
  if (dataDir === undefined) return fresh();
  const file = join(dataDir, 's3-credentials.json');
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Credentials;
    if (typeof stored.accessKeyId === 'string' && typeof stored.secretAccessKey === 'string') return stored;
  } catch {
    // none yet, or unreadable: made again below
  }
  const made = fresh();
  await writeFile(file, JSON.stringify(made), { mode: 0o600 });
  return made;
}

export async function startS3rver(directory: string, bucket: string, credentials: Credentials): Promise<LocalS3> {
  const child = fork(PROCESS, [directory, bucket], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--import', TSX] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send(credentials);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port?: number }) => (message.port === undefined ? reject(new Error('the local S3 did not start')) : resolve(message.port)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the local S3 exited with code ${code} before it started`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials,
    close: async () => {
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
