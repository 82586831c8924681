/**
 * The local S3: s3rver on loopback, storing objects as files under the data directory, in a process
 * of its own (a task uploading 100,000 files loads it, not the API). Any S3 client can use it with
 * path-style addressing and the stack's credentials: requests signed with anything else, and
 * presigned URLs that were changed or have expired, are refused (s3-process.ts).
 *
 * The port is the stack's from the start, but the process behind it starts with the first
 * connection: a stack that nobody has run a task on costs neither its start-up time nor its memory.
 * The connections that arrive while it starts are handed to it, then so is the listening socket.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Socket } from 'node:net';
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

/**
 * Run from the sources (the tests), the child runs s3-process.ts with tsx, found where this
 * package's dependencies are; run from npm start's bundle, it runs the bundled s3-process.mjs beside it.
 */
const BUNDLED = import.meta.url.endsWith('.mjs');
const PROCESS = fileURLToPath(new URL(BUNDLED ? './s3-process.mjs' : './s3-process.ts', import.meta.url));
const EXEC_ARGV = BUNDLED ? [] : ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];

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

/** Starts the S3 process and answers once it serves HTTP. */
async function startProcess(directory: string, bucket: string, credentials: Credentials): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = fork(PROCESS, [directory, bucket], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: EXEC_ARGV });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send(credentials);
  await new Promise<void>((resolve, reject) => {
    child.once('message', (message: { ready?: boolean }) => (message.ready === true ? resolve() : reject(new Error('the local S3 did not start'))));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the local S3 exited with code ${code} before it started`)));
  });
  return { child, exited };
}

export async function startS3rver(directory: string, bucket: string, credentials: Credentials): Promise<LocalS3> {
  const front = createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(0, '127.0.0.1', resolve);
  });
  const port = (front.address() as AddressInfo).port;
  let starting: Promise<{ child: ChildProcess; exited: Promise<void> }> | undefined;
  front.on('connection', (socket: Socket) => {
    starting ??= startProcess(directory, bucket, credentials).then(
      (started) => {
        // From now on the kernel hands connections to the S3 process itself.
        started.child.send({ listen: true }, front);
        front.close();
        return started;
      },
      (error: unknown) => {
        front.close();
        console.error(`the local S3 could not start: ${(error as Error).message}`);
        throw error;
      },
    );
    starting.then(
      ({ child }) => child.send({ connection: true }, socket),
      () => socket.destroy(),
    );
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials,
    close: async () => {
      front.close();
      const started = await starting?.catch(() => undefined);
      if (started === undefined) return;
      const { child, exited } = started;
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
