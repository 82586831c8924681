/**
 * What each `tes` command does, given its parsed options: one function a command, each answering
 * the exit code. Errors are thrown (errors.ts) and turned into a line and an exit code by main.ts.
 */
import { readFile } from 'node:fs/promises';
import { text as readStream } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TesState, TesTask, TesView } from '../lambdas/domain/tes.js';
import { isTerminal } from '../lambdas/domain/states.js';
import type { TesClient } from './client.js';
import { errorExitCode, UsageError } from './errors.js';
import { EXIT, taskExitCode } from './exit-codes.js';
import { followTask, Interrupted } from './follow.js';
import { formatAge, printable, table, taskDuration, taskSummary } from './format.js';
import type { Chunk, Stream } from './log-follower.js';
import { LogFollower } from './log-follower.js';
import { createProgress, progressKind } from './progress.js';
import { parseKeyValue, taskFromDocument, taskFromOptions, type TaskOptions } from './task-args.js';

/** What every command is given: the server, how to speak, where to write. */
export interface Context {
  client: TesClient;
  json: boolean;
  quiet: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: NodeJS.ReadableStream;
  /** What progress can use: a terminal of this width, or none. */
  terminal: { isTTY?: boolean; columns?: number };
  environment: Readonly<Record<string, string | undefined>>;
}

function printJson(context: Context, value: unknown): void {
  context.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** A line of ours on stderr, unless --quiet. */
function note(context: Context, line: string): void {
  if (!context.quiet) context.stderr(`tes: ${line}\n`);
}

export interface RunOptions extends TaskOptions {
  file?: string;
  detach?: boolean;
}

async function readTask(context: Context, options: RunOptions, command: readonly string[]): Promise<TesTask> {
  if (options.file === undefined) return taskFromOptions(options, command, context.environment);
  const source = options.file === '-' ? 'the task on stdin' : options.file;
  let text: string;
  try {
    text = options.file === '-' ? await readStream(context.stdin) : await readFile(options.file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${source}: ${(error as Error).message}`);
  }
  return taskFromDocument(text, source, options, command);
}

/** `tes submit`: creates the task and prints its id. */
export async function submit(context: Context, options: RunOptions, command: readonly string[]): Promise<number> {
  const id = await context.client.createTask(await readTask(context, options, command));
  if (context.json) printJson(context, { id });
  else context.stdout(`${id}\n`);
  return EXIT.ok;
}

/** Where a chunk of executor output goes: each stream to ours, or every stream to stdout. */
function printer(context: Context, allToStdout: boolean): (chunk: Chunk) => void {
  return (chunk) => {
    if ('notice' in chunk) context.stderr(`${chunk.notice}\n`);
    else if (chunk.stream === 'stdout' || allToStdout) context.stdout(chunk.text);
    else context.stderr(chunk.text);
  };
}

/** Why a task that did not complete ended, from its system logs. */
function explainEnd(context: Context, task: TesTask): void {
  if (task.state === 'SYSTEM_ERROR') {
    const lines = task.logs?.flatMap((attempt) => attempt.system_logs ?? []) ?? [];
    context.stderr(`tes: task ${task.id} ended SYSTEM_ERROR${lines.length === 0 ? '' : `:\n${lines.slice(-5).map((line) => `  ${printable(line)}`).join('\n')}`}\n`);
  } else if (task.state === 'CANCELED') {
    context.stderr(`tes: task ${task.id} was canceled\n`);
  }
}

/** `tes run`: creates the task and follows it, its executors' output on ours; exits as it ended. */
export async function run(context: Context, options: RunOptions, command: readonly string[]): Promise<number> {
  if (options.detach === true) return submit(context, options, command);
  const task = await readTask(context, options, command);
  const started = Date.now();
  // Ctrl-C while the task is being created: it is canceled as soon as it has an id.
  let early = false;
  const onEarly = (): void => {
    early = true;
  };
  process.on('SIGINT', onEarly);
  let id: string;
  try {
    id = await context.client.createTask(task);
  } finally {
    process.off('SIGINT', onEarly);
  }
  if (early) {
    context.stderr(`tes: Ctrl-C: canceling task ${id}\n`);
    await context.client.cancelTask(id).then(
      () => context.stderr(`tes: task ${id} canceled\n`),
      (error: unknown) => context.stderr(`tes: could not cancel task ${id}: ${(error as Error).message}\n`),
    );
    throw new Interrupted('interrupted');
  }
  const kind = progressKind(context.terminal, context.quiet);
  if (kind === 'lines') note(context, `task ${id} created`);
  const progress = await createProgress(kind, id, started, context.stderr);
  const ended = await followTask(context.client, id, {
    streams: context.json ? [] : ['stdout', 'stderr'],
    print: printer(context, false),
    progress,
    onInterrupt: 'cancel',
    tell: (line) => context.stderr(`tes: ${line}\n`),
  });
  if (context.json) printJson(context, ended);
  else explainEnd(context, ended);
  return taskExitCode(ended) ?? EXIT.server;
}

/** `tes get`: one task, summarised or as the server sent it. */
export async function get(context: Context, id: string, view: TesView | undefined): Promise<number> {
  const task = await context.client.getTask(id, view ?? 'BASIC');
  if (context.json) printJson(context, task);
  else context.stdout(`${taskSummary(task, Date.now(), task.state !== undefined && isTerminal(task.state))}\n`);
  return EXIT.ok;
}

export interface ListOptions {
  state?: TesState;
  namePrefix?: string;
  tag?: string[];
  view?: TesView;
  pageSize?: number;
  pageToken?: string;
  all?: boolean;
}

/** `tes list`: a page of tasks (or every page), newest first. */
export async function list(context: Context, options: ListOptions): Promise<number> {
  const query = {
    view: options.view ?? 'BASIC',
    ...(options.state === undefined ? {} : { state: options.state }),
    ...(options.namePrefix === undefined ? {} : { namePrefix: options.namePrefix }),
    tags: (options.tag ?? []).map((pair) => parseKeyValue(pair, '--tag')),
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
  };
  const tasks: TesTask[] = [];
  let token = options.pageToken;
  let next: string | undefined;
  do {
    const page = await context.client.listTasks({ ...query, ...(token === undefined ? {} : { pageToken: token }) });
    tasks.push(...page.tasks);
    next = page.next_page_token === undefined || page.next_page_token === '' ? undefined : page.next_page_token;
    token = next;
  } while (options.all === true && next !== undefined);
  if (context.json) {
    printJson(context, next === undefined ? { tasks } : { tasks, next_page_token: next });
    return EXIT.ok;
  }
  const now = Date.now();
  const rows = tasks.map((task) => {
    const ended = task.state !== undefined && isTerminal(task.state);
    const created = task.creation_time === undefined ? NaN : Date.parse(task.creation_time);
    return [task.id ?? '', task.state ?? '', task.name ?? '', Number.isNaN(created) ? '' : formatAge(now - created), taskDuration(task, now, ended)];
  });
  if (rows.length > 0) context.stdout(`${table([['ID', 'STATE', 'NAME', 'AGE', 'DURATION'], ...rows])}\n`);
  else note(context, 'no tasks');
  if (next !== undefined) note(context, `more tasks: the same command with --page-token ${next} (or --all for every page)`);
  return EXIT.ok;
}

/** `tes cancel`: asks for each task to be canceled; goes on past one that fails, and says so. */
export async function cancel(context: Context, ids: readonly string[]): Promise<number> {
  const canceled: string[] = [];
  let code: number = EXIT.ok;
  for (const id of ids) {
    try {
      await context.client.cancelTask(id);
      canceled.push(id);
      if (!context.json) context.stdout(`${id}\n`);
    } catch (error) {
      context.stderr(`tes: ${(error as Error).message}\n`);
      code = errorExitCode(error);
    }
  }
  if (context.json) printJson(context, { canceled });
  return code;
}

/** Polls at this pace while waiting for tasks to end (MINIMAL view: the cheapest ask). */
const WAIT_POLL_MS = [250, 500, 1000, 2000];

/** `tes wait`: until every task has ended; exits as the first that did not complete, in the order given. */
export async function wait(context: Context, ids: readonly string[]): Promise<number> {
  const ended = new Map<string, TesTask>();
  const onInterrupt = () => process.exit(EXIT.interrupted);
  process.on('SIGINT', onInterrupt);
  try {
    for (let round = 0; ended.size < ids.length; round += 1) {
      if (round > 0) await sleep(WAIT_POLL_MS[Math.min(round - 1, WAIT_POLL_MS.length - 1)]);
      for (const id of ids.filter((id) => !ended.has(id))) {
        const task = await context.client.getTask(id, 'MINIMAL');
        if (task.state === undefined || !isTerminal(task.state)) continue;
        // The executors' exit codes are in BASIC: asked for only when they decide the exit code.
        ended.set(id, task.state === 'EXECUTOR_ERROR' ? await context.client.getTask(id, 'BASIC') : task);
        if (!context.json && !context.quiet) context.stdout(`${id} ${task.state}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  const tasks = ids.map((id) => ended.get(id) as TesTask);
  if (context.json) printJson(context, { tasks: tasks.map(({ id, state }) => ({ id, state })) });
  return tasks.map((task) => taskExitCode(task) ?? EXIT.server).find((code) => code !== EXIT.ok) ?? EXIT.ok;
}

export interface LogsOptions {
  follow?: boolean;
  executor?: number;
  stderr?: boolean;
}

/** `tes logs`: the executors' output; `-f` follows a task that still runs until it ends. */
export async function logs(context: Context, id: string, options: LogsOptions): Promise<number> {
  const streams: Stream[] = options.stderr === true ? ['stderr'] : ['stdout', 'stderr'];
  const selection = { streams, ...(options.executor === undefined ? {} : { executor: options.executor }) };
  let task = await context.client.getTask(id, 'FULL');
  const count = task.executors?.length ?? 0;
  if (options.executor !== undefined && options.executor >= count) {
    throw new UsageError(`task ${id} has ${count} executor${count === 1 ? '' : 's'}: --executor takes 0${count > 1 ? `-${count - 1}` : ''}`);
  }
  const print = printer(context, options.stderr === true);
  if (options.follow === true && !(task.state !== undefined && isTerminal(task.state))) {
    // Like `docker logs -f`, nothing but the output unless a terminal can show a live line beside it.
    const kind = progressKind(context.terminal, context.quiet) === 'live' ? 'live' : 'none';
    task = await followTask(context.client, id, {
      ...selection,
      streams: context.json ? [] : streams,
      print,
      progress: await createProgress(kind, id, Date.now(), context.stderr),
      onInterrupt: 'leave',
      tell: (line) => context.stderr(`tes: ${line}\n`),
    });
  } else if (!context.json) {
    for (const chunk of new LogFollower(selection).update(task)) print(chunk);
  }
  if (context.json) {
    const executorLogs = (task.logs?.at(-1)?.logs ?? []).map((log, executor) => ({ executor, ...log }));
    printJson(context, { id: task.id, state: task.state, logs: executorLogs.filter((log) => options.executor === undefined || log.executor === options.executor) });
  }
  return EXIT.ok;
}
