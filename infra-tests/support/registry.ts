/**
 * A container registry on loopback for the image tests: the read side of the OCI distribution API
 * (`/v2/`, manifests by tag or digest, blobs), served from an OCI image layout on disk. No registry
 * on the internet is reachable from a test machine; this one lets pulls really happen.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface Registry {
  /** host:port, the registry part of an image reference. */
  host: string;
  /** Every request path it answered, in order. */
  requests: string[];
  close(): Promise<void>;
}

interface IndexEntry {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code, message }] }));
}

/** Serves the OCI layout at `layout` as repository `repository` (tags are the layout's ref names). */
export async function startRegistry(layout: string, repository: string): Promise<Registry> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: IndexEntry[] };
  const requests: string[] = [];
  const blobPath = (digest: string) => (/^sha256:[0-9a-f]{64}$/.test(digest) ? join(layout, 'blobs', 'sha256', digest.slice(7)) : undefined);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(`${req.method} ${path}`);
    void (async () => {
      if (path === '/v2/' || path === '/v2') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
      if (match === null || match[1] !== repository) return error(res, 404, 'NAME_UNKNOWN', `no repository at ${path}`);
      const [, , kind, ref] = match as unknown as [string, string, string, string];
      if (kind === 'manifests') {
        const entry = index.manifests.find((m) => m.digest === ref || m.annotations?.['org.opencontainers.image.ref.name'] === ref);
        const file = entry === undefined ? undefined : blobPath(entry.digest);
        if (entry === undefined || file === undefined) return error(res, 404, 'MANIFEST_UNKNOWN', `manifest unknown: ${ref}`);
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': entry.mediaType, 'docker-content-digest': entry.digest, 'content-length': body.length });
        return void res.end(req.method === 'HEAD' ? undefined : body);
      }
      const file = blobPath(ref);
      const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
      if (file === undefined || info === undefined) return error(res, 404, 'BLOB_UNKNOWN', `blob unknown: ${ref}`);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'docker-content-digest': ref, 'content-length': info.size });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(file).pipe(res);
    })().catch((e: Error) => error(res, 500, 'UNKNOWN', e.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
