/**
 * The local stack as users run it (`npm start`, i.e. `tsx lambdas/local/main.ts`), in a child
 * process of its own process group, so a test can kill it hard (SIGKILL, no clean-up at all) and
 * see what it leaves behind: the processes it started, and its data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmStartArgs } from './npm-start.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: with the pid, it names one process even if the pid is reused. */
  start: number;
  command: string;
}

/** What /proc says about one process, or undefined once it is gone (a zombie counts as gone). */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ... starttime: fields after the command name, which may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      // gone meanwhile, or not ours to read
    }
    return { pid, ppid: Number(fields[1]), start: Number(fields[19]), command };
  } catch {
    return undefined;
  }
}

/** Every living process descended from `root` (not `root` itself). */
export function descendants(root: number): ProcessInfo[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => processInfo(Number(name)))
    .filter((info): info is ProcessInfo => info !== undefined);
  const children = new Map<number, ProcessInfo[]>();
  for (const info of all) children.set(info.ppid, [...(children.get(info.ppid) ?? []), info]);
  const found: ProcessInfo[] = [];
  const walk = (pid: number): void => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child.pid);
    }
  };
  walk(root);
  return found;
}

/** True while that very process (same pid, same start time) still runs. */
export function stillRunning(info: ProcessInfo): boolean {
  return processInfo(info.pid)?.start === info.start;
}

export interface StackProcess {
  /** Base URL of the TES API, ending in /ga4gh/tes/v1. */
  url: string;
  /** The embedded S3 endpoint. */
  s3Endpoint: string;
  /** The line about tasks the last run left, once the start-up reconciliation (which runs while the API answers) has printed it. */
  leftByLastRun(): Promise<string>;
  pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** SIGKILL to the whole process group; resolves once no process of the group is left. */
  kill(): Promise<void>;
  /** SIGTERM (the stack closes cleanly); resolves once the process has exited. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts the local stack as `npm start` does, on a free port with the given data directory. */
export async function startStackProcess(options: {
  dataDir: string;
  tmpDir: string;
  env?: Record<string, string>;
  /** Another user to run it as (the server not root: rootless runtimes, bubblewrap as that user). */
  user?: { uid: number; gid: number };
}): Promise<StackProcess> {
  // Authentication is off unless the suite turns it on (TES_AUTH=jwt in `env`), whatever the shell says.
  const env: Record<string, string | undefined> = { ...process.env, TES_AUTH: 'none', ...options.env, PORT: '0', TES_DATA_DIR: options.dataDir, TMPDIR: options.tmpDir };
  delete env['TES_IN_MEMORY'];
  const child: ChildProcess = spawn(process.execPath, npmStartArgs(), {
    cwd: REPO,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid }),
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the local stack did not start');
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let gone = false;
  void exited.then(() => (gone = true));
  /** Set once no process of the group is left. */
  let ended = false;

  const deadline = Date.now() + 60_000;
  // "tasks run in:" is printed once the API answers (the line about tasks the last run left comes later).
  while (!/tasks run in: .*\n/.test(text)) {
    if (gone) throw new Error(`the local stack exited while starting:\n${text}`);
    if (Date.now() > deadline) {
      process.kill(-pid, 'SIGKILL');
      throw new Error(`the local stack did not start within 60 s:\n${text}`);
    }
    await sleep(50);
  }
  await sleep(50);
  const url = /listening on (http:\/\/\S+\/ga4gh\/tes\/v1)/.exec(text)?.[1];
  const s3Endpoint = /S3: +(http:\/\/\S+) bucket/.exec(text)?.[1];
  if (url === undefined || s3Endpoint === undefined) throw new Error(`unexpected start-up output:\n${text}`);
  return {
    url,
    s3Endpoint,
    leftByLastRun: async () => {
      const until = Date.now() + 120_000;
      for (;;) {
        const line = /tasks left by the last run: (.*)\n/.exec(text)?.[1];
        if (line !== undefined) return line;
        if (gone || Date.now() > until) throw new Error(`the local stack printed no line about the tasks its last run left:\n${text}`);
        await sleep(50);
      }
    },
    pid,
    output: () => text,
    kill: async () => {
      if (ended) return; // the group id may belong to someone else by now
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
      // tsx runs the stack in a child node process: wait for the whole group, which holds the data directory's locks.
      const until = Date.now() + 10_000;
      while (groupAlive(pid) && Date.now() < until) await sleep(20);
      ended = !groupAlive(pid);
    },
    stop: async () => {
      if (ended) return;
      if (!gone) process.kill(pid, 'SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      const until = Date.now() + 10_000;
      while (groupAlive(pid) && Date.now() < until) await sleep(20);
      if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
      ended = true;
    },
  };
}
