/**
 * `tes`, the command line, black box: spawned as a user runs it (`npx tes`, or `node bin/tes.mjs`,
 * the same file) against a local stack it reaches over HTTP, as it would reach any TES.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { EXIT } from '../cli/exit-codes.js';
import { startTestStack } from './support/local-stack.js';
import { RUN_ID } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

const REPO = join(import.meta.dirname, '..');
const BIN = join(REPO, 'bin', 'tes.mjs');

let stack: LocalStack;
let secured: LocalStack;

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  pid: number;
  stdout(): string;
  stderr(): string;
  ended: Promise<Ended>;
}

/** Starts `tes` with these arguments: `npx tes …` with `npx`, else `node bin/tes.mjs …`. */
function start(args: readonly string[], options: { env?: Record<string, string>; input?: string; npx?: boolean } = {}): Running {
  const env = { ...process.env, TES_SERVER: stack.url, TES_TOKEN: '', ...options.env };
  const child = options.npx === true ? spawn('npx', ['tes', ...args], { cwd: REPO, env }) : spawn(process.execPath, [BIN, ...args], { cwd: REPO, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.end(options.input ?? '');
  const ended = new Promise<Ended>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { pid: child.pid as number, stdout: () => stdout, stderr: () => stderr, ended };
}

const tes = (args: readonly string[], options: Parameters<typeof start>[1] = {}): Promise<Ended> => start(args, options).ended;

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function getTask(id: string, server = stack): Promise<TesTask> {
  return (await (await fetch(`${server.url}/tasks/${id}?view=BASIC`)).json()) as TesTask;
}

/** The id `tes submit` printed. */
async function submit(args: readonly string[]): Promise<string> {
  const { code, stdout, stderr } = await tes(['submit', '--image', TEST_IMAGE, '--tag', `run=${RUN_ID}`, ...args]);
  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(/^[0-9a-z]{26}\n$/);
  return stdout.trim();
}

const ID_CREATED = /task ([0-9a-z]{26}) created/;

beforeAll(async () => {
  [stack, secured] = await Promise.all([startTestStack({ port: 0 }), startTestStack({ port: 0, auth: 'jwt' })]);
  // The first call builds the bundle every later one runs.
  const { code, stderr } = await tes(['--help']);
  expect(code, stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await Promise.all([stack?.close(), secured?.close()]);
});

describe('tes run', () => {
  it("npx tes run prints the executor's stdout and exits with its exit code", async () => {
    const { code, stdout, stderr } = await tes(['run', '--image', TEST_IMAGE, '--', 'sh', '-c', 'echo hi; exit 3'], { npx: true });
    expect(stdout, stderr).toBe('hi\n');
    expect(code).toBe(3);
    expect(stderr).toMatch(/EXECUTOR_ERROR/);
  });

  it('prints output as the executor writes it, while the task still runs, and its stderr on stderr', async () => {
    const run = start(['run', '--image', TEST_IMAGE, '--tag', `run=${RUN_ID}`, '--', 'sh', '-c', 'echo hi; echo warning >&2; sleep 3; echo bye; exit 3']);
    await until('hi on stdout', () => run.stdout().includes('hi\n'));
    const id = ID_CREATED.exec(run.stderr())?.[1] as string;
    expect(id).toBeDefined();
    // Seen before the end: the task is still running its `sleep 3`.
    expect((await getTask(id)).state).toBe('RUNNING');
    expect(run.stdout()).toBe('hi\n');
    const { code, stdout, stderr } = await run.ended;
    expect(stdout).toBe('hi\nbye\n');
    expect(stderr).toContain('warning\n');
    expect(code).toBe(3);
  });

  it("exits 0 for a completed task, with every executor's output in order, from a task document on stdin", async () => {
    const document = { executors: [{ image: TEST_IMAGE, command: ['echo', 'first'] }, { image: TEST_IMAGE, command: ['sh', '-c', 'echo second; echo note >&2'] }] };
    const { code, stdout, stderr } = await tes(['run', '--file', '-', '--name', 'from-stdin', '--tag', `run=${RUN_ID}`], { input: JSON.stringify(document) });
    expect(stdout).toBe('first\nsecond\n');
    expect(stderr).toContain('note\n');
    expect(code, stderr).toBe(0);
    const id = ID_CREATED.exec(stderr)?.[1] as string;
    expect(await getTask(id)).toMatchObject({ name: 'from-stdin', tags: { run: RUN_ID }, state: 'COMPLETE' });
  });

  it('with --quiet writes nothing of its own, only what the executor wrote', async () => {
    const { code, stdout, stderr } = await tes(['run', '-q', '--image', TEST_IMAGE, '--', 'sh', '-c', 'echo out; echo err >&2']);
    expect([code, stdout, stderr]).toEqual([0, 'out\n', 'err\n']);
  });

  it('with --json prints the ended task as TES JSON instead of the output', async () => {
    const { code, stdout } = await tes(['run', '--json', '--image', TEST_IMAGE, '--', 'sh', '-c', 'echo hi; exit 5']);
    expect(code).toBe(5);
    const task = JSON.parse(stdout) as TesTask;
    expect(task.state).toBe('EXECUTOR_ERROR');
    expect(task.logs?.[0]?.logs[0]).toMatchObject({ exit_code: 5, stdout: 'hi\n' });
  });

  it('exits with the SYSTEM_ERROR code, showing the system logs, when an input cannot be fetched', async () => {
    const missing = `s3://${stack.s3.bucket}/users/local/${RUN_ID}/missing.txt`;
    const { code, stderr } = await tes(['run', '--image', TEST_IMAGE, '--input', `${missing}:/data/in.txt`, '--', 'cat', '/data/in.txt']);
    expect(code, stderr).toBe(EXIT.systemError);
    expect(stderr).toMatch(/ended SYSTEM_ERROR:\n/);
    expect(stderr).toContain('missing.txt');
  });

  it('cancels the task on Ctrl-C, says so, and exits 130', async () => {
    const run = start(['run', '--image', TEST_IMAGE, '--', 'sleep', '60']);
    await until('the task to run', () => /RUNNING/.test(run.stderr()));
    const id = ID_CREATED.exec(run.stderr())?.[1] as string;
    process.kill(run.pid, 'SIGINT');
    const { code, stderr } = await run.ended;
    expect(code).toBe(EXIT.interrupted);
    expect(stderr).toContain(`Ctrl-C: canceling task ${id}`);
    expect(stderr).toContain(`task ${id} canceled`);
    await until('the task to be canceled', async () => (await getTask(id)).state === 'CANCELED');
  });

  it('with --detach only prints the new id', async () => {
    const { code, stdout } = await tes(['run', '-d', '--image', TEST_IMAGE, '--', 'true']);
    expect(code).toBe(0);
    expect((await getTask(stdout.trim())).id).toBe(stdout.trim());
  });

  it('refuses bad options with the usage code, sending nothing', async () => {
    const before = (await (await fetch(`${stack.url}/tasks?page_size=2048`)).json()) as { tasks: TesTask[] };
    for (const args of [
      ['run', '--image', TEST_IMAGE, '--cpu', 'two', '--', 'true'],
      ['run', '--image', TEST_IMAGE],
      ['run', '--bogus', '--', 'true'],
      ['run', '--file', '/nonexistent/task.json'],
    ]) {
      const { code, stderr } = await tes(args);
      expect(code, args.join(' ')).toBe(EXIT.usage);
      expect(stderr).toMatch(/^tes: /m);
    }
    const after = (await (await fetch(`${stack.url}/tasks?page_size=2048`)).json()) as { tasks: TesTask[] };
    expect(after.tasks.length).toBe(before.tasks.length);
  });

  it("shows an INVALID_TASK's details, one problem a line", async () => {
    const document = { executors: [{ image: 'docker.io/library/alpine:3', command: ['true'] }, { command: [] }], inputs: [{ path: 'relative', content: 'x' }] };
    const { code, stdout, stderr } = await tes(['submit', '--file', '-'], { input: JSON.stringify(document) });
    expect(code).toBe(EXIT.server);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('tes: the server refused the task (400 INVALID_TASK):');
    expect(lines.slice(1)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ {2}executors\[1\]\.image: required$/),
        expect.stringMatching(/^ {2}executors\[1\]\.command: /),
        expect.stringMatching(/^ {2}inputs\[0\]\.path: .*\(rule normalized_paths\)$/),
      ]),
    );
    const refused = await tes(['submit', '--image', 'docker.io/library/alpine:3', '--', 'true']);
    expect(refused.code).toBe(EXIT.server);
    expect(refused.stderr).toMatch(/^ {2}executors\[0\]\.image: .*\(rule allowed_image_prefixes\)$/m);
  });
});

describe('tes submit, get, wait, logs and cancel', () => {
  it('submit prints the id, or {"id": …} with --json', async () => {
    const id = await submit(['--', 'true']);
    const { stdout } = await tes(['submit', '--json', '--image', TEST_IMAGE, '--', 'true']);
    expect(JSON.parse(stdout)).toEqual({ id: expect.stringMatching(/^[0-9a-z]{26}$/) });
    expect((await getTask(id)).executors).toEqual([{ image: TEST_IMAGE, command: ['true'] }]);
  });

  it('wait exits 0 once every task completed, and as the first that did not otherwise', async () => {
    const ok = await submit(['--', 'true']);
    const failed = await submit(['--', 'sh', '-c', 'exit 4']);
    const done = await tes(['wait', ok, failed]);
    expect(done.code).toBe(4);
    expect(done.stdout.split('\n').sort()).toEqual(['', `${failed} EXECUTOR_ERROR`, `${ok} COMPLETE`].sort());
    expect((await tes(['wait', ok])).code).toBe(0);
    const json = await tes(['wait', '--json', ok, failed]);
    expect(JSON.parse(json.stdout)).toEqual({ tasks: [{ id: ok, state: 'COMPLETE' }, { id: failed, state: 'EXECUTOR_ERROR' }] });
  });

  it('get shows a summary, and the TES JSON in the asked view with --json', async () => {
    const id = await submit(['--name', 'summarised', '--', 'sh', '-c', 'echo shown']);
    await tes(['wait', id]);
    const human = await tes(['get', id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^id +${id}$`, 'm'));
    expect(human.stdout).toMatch(/^state +COMPLETE$/m);
    expect(human.stdout).toMatch(/^name +summarised$/m);
    expect(human.stdout).toContain(`0: ${TEST_IMAGE} sh -c 'echo shown'  exit 0`);
    const full = JSON.parse((await tes(['get', '--json', '--view', 'FULL', id])).stdout) as TesTask;
    expect(full.logs?.[0]?.logs[0]?.stdout).toBe('shown\n');
    const minimal = JSON.parse((await tes(['--json', 'get', id, '--view', 'MINIMAL'])).stdout) as TesTask;
    expect(minimal).toEqual({ id, state: 'COMPLETE' });
  });

  it('get of a task that is not there names it, with the server code', async () => {
    const { code, stderr } = await tes(['get', '01aaaaaaaaaaaaaaaaaaaaaaaa']);
    expect(code).toBe(EXIT.server);
    expect(stderr).toMatch(/^tes: no task 01aaaaaaaaaaaaaaaaaaaaaaaa at http:\/\/127\.0\.0\.1:\d+\/ga4gh\/tes\/v1 \(404 NOT_FOUND/);
  });

  it('logs -f follows a running task to its end: stdout on stdout, stderr on stderr', async () => {
    const id = await submit(['--', 'sh', '-c', 'echo one; sleep 1; echo two >&2; sleep 1; echo three']);
    const follow = await tes(['logs', '-f', id]);
    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout).toBe('one\nthree\n');
    expect(follow.stderr).toBe('two\n');
    expect((await getTask(id)).state).toBe('COMPLETE');
    expect((await tes(['logs', id, '--stderr'])).stdout).toBe('two\n');
    const json = JSON.parse((await tes(['logs', '--json', id])).stdout) as { state: string; logs: { executor: number; stdout: string; stderr: string }[] };
    expect(json).toMatchObject({ state: 'COMPLETE', logs: [{ executor: 0, stdout: 'one\nthree\n', stderr: 'two\n' }] });
  });

  it('logs --executor picks one executor, and refuses one the task does not have', async () => {
    const { stdout } = await tes(['run', '-d', '--file', '-'], { input: JSON.stringify({ executors: [{ image: TEST_IMAGE, command: ['echo', 'zero'] }, { image: TEST_IMAGE, command: ['echo', 'one'] }] }) });
    const id = stdout.trim();
    await tes(['wait', id]);
    expect((await tes(['logs', id, '--executor', '1'])).stdout).toBe('one\n');
    expect((await tes(['logs', id])).stdout).toBe('zero\none\n');
    const missing = await tes(['logs', id, '--executor', '2']);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain('has 2 executors');
  });

  it('cancel cancels, and wait then exits with the CANCELED code', async () => {
    const id = await submit(['--', 'sleep', '60']);
    const canceled = await tes(['cancel', id]);
    expect([canceled.code, canceled.stdout]).toEqual([0, `${id}\n`]);
    const waited = await tes(['wait', id]);
    expect(waited.code).toBe(EXIT.canceled);
    expect(waited.stdout).toBe(`${id} CANCELED\n`);
    const json = await tes(['cancel', '--json', id]);
    expect(JSON.parse(json.stdout)).toEqual({ canceled: [id] });
  });

  it('cancel goes on past a task that is not there, and exits with the server code', async () => {
    const id = await submit(['--', 'sleep', '60']);
    const { code, stdout, stderr } = await tes(['cancel', '01aaaaaaaaaaaaaaaaaaaaaaaa', id]);
    expect(code).toBe(EXIT.server);
    expect(stdout).toBe(`${id}\n`);
    expect(stderr).toContain('no task 01aaaaaaaaaaaaaaaaaaaaaaaa');
    await until('the task to be canceled', async () => (await getTask(id)).state === 'CANCELED');
  });
});

describe('tes list', () => {
  const tag = `list-${RUN_ID}`;
  const ids: string[] = [];
  beforeAll(async () => {
    for (const name of ['first', 'second', 'third']) ids.unshift(await submit(['--name', name, '--tag', `group=${tag}`, '--', 'true']));
  });

  it('shows one page as a table, newest first, and says how to get the next', async () => {
    const { code, stdout, stderr } = await tes(['list', '--tag', `group=${tag}`, '--page-size', '2']);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATE +NAME +AGE +DURATION$/);
    expect(lines.slice(1).map((line) => line.split(/ +/)[0])).toEqual(ids.slice(0, 2));
    expect(lines[1]).toMatch(/ third +\d+s/);
    const token = /--page-token (\S+)/.exec(stderr)?.[1] as string;
    expect(token).toBeDefined();
    const next = await tes(['list', '--tag', `group=${tag}`, '--page-size', '2', '--page-token', token]);
    expect(next.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/ +/)[0])).toEqual(ids.slice(2));
    expect(next.stderr).not.toContain('--page-token');
  });

  it('--all follows every page', async () => {
    const { stdout, stderr } = await tes(['list', '--all', '--tag', `group=${tag}`, '--page-size', '1']);
    expect(stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/ +/)[0])).toEqual(ids);
    expect(stderr).not.toContain('--page-token');
    const json = JSON.parse((await tes(['list', '--all', '--json', '--tag', `group=${tag}`, '--page-size', '1', '--view', 'MINIMAL'])).stdout) as { tasks: TesTask[]; next_page_token?: string };
    expect(json.tasks.map((task) => task.id)).toEqual(ids);
    expect(json.next_page_token).toBeUndefined();
  });

  it('--json gives the page as the server sent it, with its next_page_token', async () => {
    const page = JSON.parse((await tes(['list', '--json', '--tag', `group=${tag}`, '--page-size', '2', '--name-prefix', 's'])).stdout) as { tasks: TesTask[]; next_page_token?: string };
    expect(page.tasks.map((task) => task.name)).toEqual(['second']);
    expect(page.next_page_token).toBeUndefined();
  });

  it('takes --server without its path, before TES_SERVER, and filters by state', async () => {
    await until('the three tasks to complete', async () => (await Promise.all(ids.map((id) => getTask(id)))).every((task) => task.state === 'COMPLETE'));
    const root = stack.url.replace(/\/ga4gh\/tes\/v1$/, '');
    const env = { TES_SERVER: 'http://127.0.0.1:9/nowhere' };
    const complete = await tes(['list', '--server', root, '--tag', `group=${tag}`, '--state', 'COMPLETE', '--view', 'MINIMAL'], { env });
    expect(complete.code, complete.stderr).toBe(0);
    expect(complete.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/ +/).slice(0, 2))).toEqual(ids.map((id) => [id, 'COMPLETE']));
    const running = await tes(['--server', root, 'list', '--tag', `group=${tag}`, '--state', 'RUNNING'], { env });
    expect([running.code, running.stdout, running.stderr]).toEqual([0, '', 'tes: no tasks\n']);
  });
});

describe('attack: terminal escapes in what a task holds', () => {
  // A task's fields are whoever created it's; an admin's `tes list` shows everyone's. Written raw, these
  // would write the clipboard (OSC 52), clear the screen, retitle the window or reverse the text.
  const hostile = `evil\u001b]52;c;ZWNobyBwd25lZA==\u0007\u001b[2J\u001b]0;title\u0007\u202egnp.exe`;
  let id: string;
  beforeAll(async () => {
    const reply = await fetch(`${stack.url}/tasks`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: hostile,
        description: hostile,
        tags: { [`k${hostile}`]: hostile, run: RUN_ID },
        executors: [{ image: TEST_IMAGE, command: ['echo', hostile] }],
      }),
    });
    id = ((await reply.json()) as { id: string }).id;
  });

  it('list and get show them as escapes, never as control characters', async () => {
    // eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
    const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    for (const args of [['list', '--tag', `run=${RUN_ID}`, '--all'], ['get', id]]) {
      const { code, stdout, stderr } = await tes(args);
      expect(code, stderr).toBe(0);
      expect(stdout).toContain(id);
      expect(stdout).not.toMatch(raw);
      expect(stdout).toContain('evil\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J');
      expect(stdout).toContain('\\u202egnp.exe');
    }
    // --json is for programs: the server's JSON as it is (its escapes are JSON's).
    const json = await tes(['get', id, '--json']);
    expect((JSON.parse(json.stdout) as TesTask).name).toBe(hostile);
  });
});

describe('reaching the server', () => {
  it('asks for a token when the server wants one, and works with one from the flag or TES_TOKEN', async () => {
    const none = await tes(['list'], { env: { TES_SERVER: secured.url } });
    expect(none.code).toBe(EXIT.server);
    expect(none.stderr).toBe('tes: the server wants a token: --token or TES_TOKEN\n');
    const token = (await secured.issuer?.issue('alice')) as string;
    const flagged = await tes(['list', '--token', token], { env: { TES_SERVER: secured.url } });
    expect(flagged.code, flagged.stderr).toBe(0);
    const run = await tes(['run', '--image', TEST_IMAGE, '--', 'echo', 'as alice'], { env: { TES_SERVER: secured.url, TES_TOKEN: token } });
    expect([run.code, run.stdout]).toEqual([0, 'as alice\n']);
    const wrong = await tes(['list', '--token', 'not-a-token'], { env: { TES_SERVER: secured.url } });
    expect(wrong.code).toBe(EXIT.server);
    expect(wrong.stderr).toMatch(/the server refused the token \(401.*\): check --token or TES_TOKEN/);
  });

  it('names the URL it could not reach, with the server code', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const { code, stdout, stderr } = await tes(['list'], { env: { TES_SERVER: `http://127.0.0.1:${port}` } });
    expect(code).toBe(EXIT.server);
    expect(stdout).toBe('');
    expect(stderr).toBe(`tes: cannot reach the TES server at http://127.0.0.1:${port}/ga4gh/tes/v1: connection refused (is it running? npm start runs one here)\n`);
  });

  it('documents its exit codes in --help', async () => {
    const { code, stdout } = await tes(['--help']);
    expect(code).toBe(0);
    for (const value of Object.values(EXIT).filter((value) => value !== 0)) expect(stdout).toMatch(new RegExp(`^ {2}${value} +\\S`, 'm'));
  });
});
