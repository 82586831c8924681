/**
 * Staging's own limits, whatever runs it: nothing larger than the task's disk is fetched, uploaded
 * or archived (a sparse file or an endless input costs a clear error, not a disk), and a task with
 * very many outputs asks for its upload URLs in batches and reports a bounded list with the count.
 */
import { truncate, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageReport, StagingBroker, StagingPlan, StagingSession, UploadedFile, UploadRequest } from '../ports/staging.js';
import { OUTPUT_PAGE_FILES, sha256Hex, type OutputPage } from '../domain/output-list.js';
import { stageOut, UPLOAD_BATCH } from './staging.js';
import { download } from './transfer.js';
import { VolumeFs } from './volume-fs.js';

let server: Server;
let base: string;
let puts = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.method === 'PUT') {
      puts += 1;
      req.resume().on('end', () => res.writeHead(200).end());
    } else if (req.url === '/endless') {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      pump();
      res.on('close', () => res.removeAllListeners('drain'));
    } else if (req.url === '/declared-huge') {
      res.writeHead(200, { 'content-length': String(10 * 1024 ** 3) }).flushHeaders();
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function volume(): Promise<{ dir: string; fs: VolumeFs; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tes-staging-test-'));
  await mkdir(join(dir, 'data'));
  return { dir, fs: new VolumeFs(new Map([['/data', join(dir, 'data')]])), close: () => rm(dir, { recursive: true, force: true }) };
}

function plan(overrides: Partial<StagingPlan>): StagingPlan {
  return { taskId: 't', executorIndex: 0, executorCount: 1, ignoreError: false, mounts: ['/data'], directories: [], inputs: [], outputs: [], carry: {}, ...overrides };
}

class RecordingBroker implements StagingBroker {
  batches: number[] = [];
  session(): Promise<StagingSession> {
    throw new Error('not used');
  }
  plan(): Promise<StagingPlan> {
    throw new Error('not used');
  }
  uploadTargets(_token: string, files: UploadRequest[]): Promise<string[]> {
    this.batches.push(files.length);
    return Promise.resolve(files.map(() => `${base}/put`));
  }
  report(_token: string, _name: string, _report: StageReport): Promise<void> {
    return Promise.resolve();
  }
  pages: UploadedFile[][] = [];
  outputPage(_token: string, page: number, files: UploadedFile[]): Promise<OutputPage> {
    this.pages[page] = files;
    return Promise.resolve({ count: files.length, sha256: sha256Hex(JSON.stringify(files)) });
  }
}

describe('stage-out', () => {
  it("refuses outputs larger than the task's disk (a sparse file), uploading nothing", async () => {
    const v = await volume();
    try {
      await writeFile(join(v.dir, 'data', 'sparse'), '');
      await truncate(join(v.dir, 'data', 'sparse'), 1024 ** 4);
      const broker = new RecordingBroker();
      const before = puts;
      const report = await stageOut(
        { plan: plan({ outputs: [{ index: 0, path: '/data/sparse', type: 'FILE', url: 's3://b/k' }] }), fs: v.fs, broker, token: 't', scratchDir: join(v.dir, 's'), maxBytes: 1024 ** 3 },
        0,
      );
      expect(report.ok).toBe(false);
      expect(report.error).toBe(`the outputs add up to ${1024 ** 4} bytes, more than the task's disk (${1024 ** 3} bytes; a sparse file?): nothing was uploaded`);
      expect(broker.batches).toEqual([]);
      expect(puts).toBe(before);
    } finally {
      await v.close();
    }
  });

  it(`asks for upload URLs ${UPLOAD_BATCH} at a time and hands a long list of 2,500 files to the broker in pages of ${OUTPUT_PAGE_FILES}, in the order found`, async () => {
    const v = await volume();
    try {
      await mkdir(join(v.dir, 'data', 'many'));
      for (let i = 0; i < 2500; i += 1) await writeFile(join(v.dir, 'data', 'many', `f${i}`), 'x');
      const broker = new RecordingBroker();
      const report = await stageOut({ plan: plan({ outputs: [{ index: 0, path: '/data/many', type: 'DIRECTORY', url: 's3://b/many' }] }), fs: v.fs, broker, token: 't', scratchDir: join(v.dir, 's') }, 0);
      expect(report.ok).toBe(true);
      expect(broker.batches).toEqual([500, 500, 500, 500, 500]);
      expect(report.outputs).toEqual([]);
      expect(report.outputPages?.map((p) => p.count)).toEqual([1000, 1000, 500]);
      expect(report.outputPages?.[2]?.sha256).toBe(sha256Hex(JSON.stringify(broker.pages[2])));
      const listed = broker.pages.flat();
      expect(new Set(listed.map((f) => f.path)).size).toBe(2500);
      expect(listed[0]).toEqual({ url: expect.stringMatching(/^s3:\/\/b\/many\/f\d+$/) as unknown, path: expect.stringMatching(/^\/data\/many\/f\d+$/) as unknown, size_bytes: '1' });
      expect(report.outputCount).toBe(2500);
      expect(report.outputBytes).toBe(2500);
    } finally {
      await v.close();
    }
  });

  it('keeps a short list in the report itself', async () => {
    const v = await volume();
    try {
      await mkdir(join(v.dir, 'data', 'few'));
      for (let i = 0; i < 20; i += 1) await writeFile(join(v.dir, 'data', 'few', `f${i}`), 'xy');
      const broker = new RecordingBroker();
      const report = await stageOut({ plan: plan({ outputs: [{ index: 0, path: '/data/few', type: 'DIRECTORY', url: 's3://b/few/' }] }), fs: v.fs, broker, token: 't', scratchDir: join(v.dir, 's') }, 0);
      expect(report.outputs).toHaveLength(20);
      expect(report.outputs?.[0]?.url).toMatch(/^s3:\/\/b\/few\/f\d+$/);
      expect(report.outputPages).toBeUndefined();
      expect(broker.pages).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it("refuses to carry volumes larger than the task's disk to the next executor", async () => {
    const v = await volume();
    try {
      await writeFile(join(v.dir, 'data', 'sparse'), '');
      await truncate(join(v.dir, 'data', 'sparse'), 1024 ** 4);
      const report = await stageOut(
        { plan: plan({ executorCount: 2, carry: { save: [`${base}/put`] } }), fs: v.fs, broker: new RecordingBroker(), token: 't', scratchDir: join(v.dir, 's'), maxBytes: 1024 ** 3 },
        0,
      );
      expect(report.ok).toBe(false);
      expect(report.error).toMatch(/the volumes hold files of 1099511627776 bytes, more than the task's disk .*nothing was saved for executor 1/);
    } finally {
      await v.close();
    }
  });
});

describe('download', () => {
  it('stops an endless input once it passes the limit', async () => {
    const v = await volume();
    try {
      await expect(download(`${base}/endless`, join(v.dir, 'data', 'in'), 0o644, 1024 * 1024)).rejects.toThrow("it is larger than the task's disk (1048576 bytes)");
    } finally {
      await v.close();
    }
  });

  it('refuses an input whose declared length is larger than the limit, before reading it', async () => {
    const v = await volume();
    try {
      await expect(download(`${base}/declared-huge`, join(v.dir, 'data', 'in'), 0o644, 1024 * 1024)).rejects.toThrow(`it is ${10 * 1024 ** 3} bytes, larger than the task's disk`);
    } finally {
      await v.close();
    }
  });
});
