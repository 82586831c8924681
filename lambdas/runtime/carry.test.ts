/**
 * Volumes carried from one executor to the next: what travels (files, directories, hard links, as
 * the same content), what does not (symbolic links), and an archive changed on the way is refused.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { link, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreVolumes, saveVolumes } from './carry.js';
import { VolumeFs } from './volume-fs.js';

let server: Server;
let base: string;
let dir: string;
const objects = new Map<string, Buffer>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tes-carry-'));
  server = createServer((req, res) => {
    if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        objects.set(req.url ?? '', Buffer.concat(chunks));
        res.end();
      });
    } else {
      const body = objects.get(req.url ?? '');
      if (body === undefined) res.writeHead(404).end();
      else res.end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('carrying volumes', () => {
  it('carries files, directories and hard-linked files (as the same content); symbolic links stay behind', async () => {
    const from = join(dir, 'from');
    await mkdir(join(from, 'sub'), { recursive: true });
    await writeFile(join(from, 'a.txt'), 'shared content');
    await link(join(from, 'a.txt'), join(from, 'sub', 'b.txt'));
    await symlink('/etc/passwd', join(from, 'link'));
    const hashes = await saveVolumes(['/vol'], new VolumeFs(new Map([['/vol', from]])), join(dir, 'scratch1'), [`${base}/vol.tar`]);

    const to = join(dir, 'to');
    await mkdir(to);
    await restoreVolumes(['/vol'], new VolumeFs(new Map([['/vol', to]])), join(dir, 'scratch2'), [`${base}/vol.tar`], hashes);
    expect(await readFile(join(to, 'a.txt'), 'utf8')).toBe('shared content');
    expect(await readFile(join(to, 'sub', 'b.txt'), 'utf8')).toBe('shared content');
    await expect(stat(join(to, 'link'))).rejects.toThrow();
  });

  it('refuses an archive changed on the way, and unpacks nothing of it', async () => {
    const from = join(dir, 'from2');
    await mkdir(from);
    await writeFile(join(from, 'run.sh'), 'echo mine');
    const hashes = await saveVolumes(['/vol'], new VolumeFs(new Map([['/vol', from]])), join(dir, 'scratch3'), [`${base}/vol2.tar`]);
    const archive = objects.get('/vol2.tar') as Buffer;
    objects.set('/vol2.tar', Buffer.from(archive.toString('latin1').replace('echo mine', 'echo evil'), 'latin1'));
    const to = join(dir, 'to2');
    await mkdir(to);
    await expect(restoreVolumes(['/vol'], new VolumeFs(new Map([['/vol', to]])), join(dir, 'scratch4'), [`${base}/vol2.tar`], hashes)).rejects.toThrow(
      /the archive of \/vol is not what the service stored/,
    );
    await expect(stat(join(to, 'run.sh'))).rejects.toThrow();
  });
});
