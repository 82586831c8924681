/** Streaming HTTP transfers for staging: nothing is held whole in memory, whatever the file size. */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { publicGet, type PublicFetchOptions } from './public-fetch.js';

export class TooLargeError extends Error {}

/** Counts what passes and fails once more than `max` bytes have. */
function capped(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) done(new TooLargeError(`it is larger than the task's disk (${max} bytes)`));
      else done(null, chunk);
    },
  });
}

/**
 * Downloads `url` into `path`, replacing a regular file there but never following a symbolic link,
 * and stops once more than `maxBytes` have come (an endless or huge input fails, it does not fill a disk).
 * `publicOnly`: the URL is one a task named, so it is fetched only from public addresses (public-fetch.ts);
 * without it the URL is one the staging broker made (a presigned S3 URL).
 */
export async function download(url: string, path: string, mode = 0o644, maxBytes = Number.POSITIVE_INFINITY, publicOnly?: PublicFetchOptions): Promise<number> {
  let body: Readable | undefined;
  let length: number;
  if (publicOnly !== undefined) {
    const response = await publicGet(url, publicOnly);
    body = response;
    length = Number(response.headers['content-length'] ?? Number.NaN);
  } else {
    const response = await fetch(url);
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    body = response.body === null ? undefined : Readable.fromWeb(response.body);
    length = Number(response.headers.get('content-length') ?? Number.NaN);
  }
  if (length > maxBytes) {
    body?.destroy();
    throw new TooLargeError(`it is ${length} bytes, larger than the task's disk (${maxBytes} bytes)`);
  }
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  if (body === undefined) {
    await file.close();
    return 0;
  }
  // The write stream owns the handle from here and closes it when done or destroyed.
  const out = file.createWriteStream();
  await pipeline(body, capped(maxBytes), out);
  return out.bytesWritten;
}

/** PUTs the file at `path` to a (presigned) URL, streaming it with its exact length. */
export async function upload(url: string, path: string): Promise<number> {
  const { size } = await stat(path);
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  await new Promise<void>((resolve, reject) => {
    const req = send(target, { method: 'PUT', headers: { 'content-length': size } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        if (chunks.length < 4) chunks.push(chunk);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`HTTP ${status} ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    createReadStream(path, { flags: (constants.O_RDONLY | constants.O_NOFOLLOW) as unknown as string }).on('error', reject).pipe(req);
  });
  return size;
}

/** The hex SHA-256 of the file at `path` (never through a symbolic link). */
export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { flags: (constants.O_RDONLY | constants.O_NOFOLLOW) as unknown as string }), hash);
  return hash.digest('hex');
}

export class IntegrityError extends Error {}

/** Throws unless the file at `path` has the hex SHA-256 `expected`: what the service stored was changed. */
export async function checkSha256(path: string, expected: string, what: string): Promise<void> {
  const actual = await sha256Of(path);
  if (actual !== expected) throw new IntegrityError(`${what} is not what the service stored (SHA-256 ${actual}, expected ${expected}); it was changed and is not used`);
}
