/**
 * Figures of `npm start` as a user meets it: the time from starting the server process (as `npm
 * start` runs it) to the first answer, and the memory
 * (RSS) of the server process and of the processes it started, idle, with an empty data directory
 * and with one holding many tasks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { npmStartArgs } from '../infra-tests/support/npm-start.js';

const REPO = join(import.meta.dirname, '..');

/** RSS in MiB of `pid` and of every process below it. */
export async function treeRssMiB(pid: number): Promise<{ own: number; tree: number }> {
  const parents = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    parents.set(Number(entry), ppid);
    rss.set(Number(entry), kb);
  }
  let tree = 0;
  for (const [child] of parents) {
    for (let at: number | undefined = child; at !== undefined && at > 1; at = parents.get(at)) {
      if (at === pid) {
        tree += rss.get(child) ?? 0;
        break;
      }
    }
  }
  return { own: (rss.get(pid) ?? 0) / 1024, tree: tree / 1024 };
}

export interface Started {
  child: ChildProcess;
  url: string;
  /** From spawning the process to the first answer of service-info. */
  ms: number;
  /** What the server has printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the server on `dataDir` as `npm start` does and waits for its first answer. */
export async function startServer(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const began = performance.now();
  const child = spawn(process.execPath, npmStartArgs(), {
    cwd: REPO,
    env: { ...process.env, ...env, PORT: '0', TES_DATA_DIR: dataDir, POWERTOOLS_LOG_LEVEL: 'SILENT' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  let url: string | undefined;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited while starting:\n${text}`);
    url ??= /listening on (http:\/\/\S+\/ga4gh\/tes\/v1)/.exec(text)?.[1];
    if (url !== undefined && (await fetch(`${url}/service-info`).then((r) => r.ok, () => false))) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const ms = performance.now() - began;
  return {
    child,
    url,
    ms,
    output: () => text,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Runs a benchmark script (TypeScript, through tsx) in a Node.js process of its own and answers the
 * lines it printed, each also printed here as it comes. Its stderr passes through.
 */
export async function runScript(script: string): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, script], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const reading = (async () => {
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      lines.push(line);
      console.log(line);
    }
  })();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  await reading;
  if (code !== 0) throw new Error(`${script} exited ${code}`);
  return lines;
}
