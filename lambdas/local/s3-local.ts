/**
 * The local S3: s3rver on loopback, storing objects as files under the data directory, in a process
 * of its own (a task uploading 100,000 files loads it, not the API). Any S3 client can use it with
 * path-style addressing and the credentials printed at start.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

/** Credentials s3rver accepts (it does not check signatures); shown to users at start. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

const PROCESS = fileURLToPath(new URL('./s3-process.mjs', import.meta.url));

export async function startS3rver(directory: string, bucket: string): Promise<LocalS3> {
  const child = fork(PROCESS, [directory, bucket], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port?: number }) => (message.port === undefined ? reject(new Error('the local S3 did not start')) : resolve(message.port)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the local S3 exited with code ${code} before it started`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    close: async () => {
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
