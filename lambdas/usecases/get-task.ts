/**
 * GetTask: the caller's task in the asked view; another user's task is indistinguishable from none
 * (an admin sees every task).
 */
import { createHash } from 'node:crypto';
import type { Caller } from '../domain/caller.js';
import { TaskNotFoundError } from '../domain/errors.js';
import type { TaskRecord } from '../domain/task-record.js';
import type { TesExecutorLog, TesTask, TesView } from '../domain/tes.js';
import { LOG_TAIL_BYTES } from '../ports/log-store.js';
import { ObjectMissingError } from '../ports/object-store.js';
import { renderTask } from '../domain/views.js';
import type { TesDeps } from './deps.js';

/** Task ids are ULIDs; anything else is answered 404 without a read. */
const PLAUSIBLE_TASK_ID = /^[0-9A-Za-z]{1,64}$/;

/** Loads a task the caller may see (their own; any, for an admin), or throws a 404 that says nothing about other users' tasks. */
export async function loadOwnTask(deps: Pick<TesDeps, 'store'>, caller: Caller, id: string): Promise<TaskRecord> {
  // Nothing that could not be a task id reaches the store (DynamoDB refuses keys over 2 KiB).
  if (!PLAUSIBLE_TASK_ID.test(id)) throw new TaskNotFoundError(id.length > 64 ? `${id.slice(0, 64)}…` : id);
  const record = await deps.store.get(id);
  if (record === undefined || (record.owner !== caller.owner && !caller.admin)) throw new TaskNotFoundError(id);
  return record;
}

/** Puts large `content` inputs back from the object store (FULL view only needs them). */
export async function withContent(deps: Pick<TesDeps, 'objects'>, record: TaskRecord): Promise<TaskRecord> {
  if (record.offloaded === undefined) return record;
  const inputs = [...(record.task.inputs ?? [])];
  for (const ref of record.offloaded) {
    const input = inputs[ref.input];
    if (input === undefined) continue;
    let content: string;
    try {
      content = await deps.objects.getText(ref.key);
    } catch (error) {
      // Expired by the bucket's lifecycle (taskDataRetentionDays): the task is still shown, without it.
      if (error instanceof ObjectMissingError) continue;
      throw error;
    }
    // Content changed in the bucket is not the client's: it is not shown (the task itself fails at stage-in).
    if (ref.sha256 !== undefined && createHash('sha256').update(content, 'utf8').digest('hex') !== ref.sha256) continue;
    inputs[ref.input] = { ...input, content };
  }
  return { ...record, task: { ...record.task, inputs } };
}

/**
 * While an executor runs, the FULL view shows its log so far: start time and stdout/stderr tails
 * from the log store. It has no end_time yet; its exit_code (required by the schema) reads 0 until
 * the executor has ended.
 */
export async function withRunningExecutor(deps: Pick<TesDeps, 'logs'>, record: TaskRecord): Promise<TaskRecord> {
  const attempt = record.logs.at(-1);
  if (deps.logs === undefined || record.state !== 'RUNNING' || attempt === undefined) return record;
  const index = attempt.logs.length;
  if (index >= record.task.executors.length) return record;
  const stdout = await deps.logs.tail(record.id, index, 'stdout', LOG_TAIL_BYTES);
  const stderr = await deps.logs.tail(record.id, index, 'stderr', LOG_TAIL_BYTES);
  const running: TesExecutorLog = { exit_code: 0, ...(attempt.start_time ? { start_time: attempt.start_time } : {}) };
  if (stdout !== undefined) running.stdout = stdout;
  if (stderr !== undefined) running.stderr = stderr;
  return { ...record, logs: [...record.logs.slice(0, -1), { ...attempt, logs: [...attempt.logs, running] }] };
}

export async function getTask(deps: TesDeps, caller: Caller, id: string, view: TesView): Promise<TesTask> {
  const record = await loadOwnTask(deps, caller, id);
  return renderTask(view === 'FULL' ? await withRunningExecutor(deps, await withContent(deps, record)) : record, view);
}
