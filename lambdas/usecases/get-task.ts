/**
 * GetTask: the caller's task in the asked view; another user's task is indistinguishable from none
 * (an admin sees every task).
 */
import type { Caller } from '../domain/caller.js';
import { TaskNotFoundError } from '../domain/errors.js';
import { executorStartMetadataKey, type TaskRecord } from '../domain/task-record.js';
import { MAX_RESPONSE_BYTES, outputPageKey, reportKey, sha256Hex, spilledLogKey, type OutputPage, type SpilledLog } from '../domain/output-list.js';
import type { TesExecutorLog, TesOutputFileLog, TesTask, TesView } from '../domain/tes.js';
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
    if (ref.sha256 !== undefined && sha256Hex(content) !== ref.sha256) continue;
    inputs[ref.input] = { ...input, content };
  }
  return { ...record, task: { ...record.task, inputs } };
}

/**
 * While an executor runs, the FULL view shows its log so far: its own start time and stdout/stderr tails
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
  // Its own start as the platform noted it; before that note, the attempt's start for the first executor only.
  const startTime = attempt.metadata?.[executorStartMetadataKey(index)] ?? (index === 0 ? attempt.start_time : undefined);
  const running: TesExecutorLog = { exit_code: 0, ...(startTime ? { start_time: startTime } : {}) };
  if (stdout !== undefined) running.stdout = stdout;
  if (stderr !== undefined) running.stderr = stderr;
  return { ...record, logs: [...record.logs.slice(0, -1), { ...attempt, logs: [...attempt.logs, running] }] };
}

/** An object of the task's own prefix if it is still there and still what the item says it was. */
async function sealedText(deps: Pick<TesDeps, 'objects'>, key: string, sha256: string): Promise<{ text: string } | { missing: 'expired' | 'changed' }> {
  let text: string;
  try {
    text = await deps.objects.getText(key);
  } catch (error) {
    // Expired by the bucket's lifecycle (taskDataRetentionDays).
    if (error instanceof ObjectMissingError) return { missing: 'expired' };
    throw error;
  }
  return sha256Hex(text) === sha256 ? { text } : { missing: 'changed' };
}

/** Puts back the log tails and system lines Record kept outside the item (domain/output-list.ts). */
export async function withSpilledLogs(deps: Pick<TesDeps, 'objects'>, record: TaskRecord): Promise<TaskRecord> {
  if (record.spilled === undefined) return record;
  const logs = record.logs.map((attempt) => ({ ...attempt, logs: [...attempt.logs], system_logs: [...(attempt.system_logs ?? [])] }));
  const kept = await Promise.all(record.spilled.map((run) => sealedText(deps, spilledLogKey(record.id, run.executor), run.sha256)));
  // From the last line back, so each run's position still holds when its lines go in.
  const order = record.spilled.map((run, i) => ({ run, kept: kept[i] })).sort((a, b) => b.run.line - a.run.line);
  for (const { run, kept: found } of order) {
    const attempt = logs[run.attempt];
    if (attempt === undefined || found === undefined || !('text' in found)) continue;
    const body = JSON.parse(found.text) as SpilledLog;
    const log = run.log === undefined ? undefined : attempt.logs[run.log];
    if (log !== undefined && run.log !== undefined) {
      attempt.logs[run.log] = { ...log, ...(body.stdout === undefined ? {} : { stdout: body.stdout }), ...(body.stderr === undefined ? {} : { stderr: body.stderr }) };
    }
    attempt.system_logs.splice(run.line, 1, ...body.system_logs);
  }
  return { ...record, logs: logs.map(({ system_logs: lines, ...attempt }) => (lines.length === 0 ? attempt : { ...attempt, system_logs: lines })) };
}

/** Pages read at once while a long output list fills a response. */
const PAGE_READS = 8;

/**
 * The output list from file `from` on, as much as fits `budget` bytes of JSON: a long list is read
 * back from its pages in the bucket, each checked against the hash its sealed report names. The
 * attempt's metadata then says how many files there are (`outputs_total`) and, when the response
 * could not hold them all, where the next call starts (`outputs_next`, GetTask's `outputs_from`).
 */
export async function withOutputList(deps: Pick<TesDeps, 'objects'>, record: TaskRecord, from: number, budget: number): Promise<TaskRecord> {
  const list = record.outputList;
  const index = list?.attempt ?? record.logs.length - 1;
  const attempt = record.logs[index];
  if (attempt === undefined || (list === undefined && from === 0)) return record;
  const metadata: Record<string, string> = { ...attempt.metadata };
  const chosen: TesOutputFileLog[] = [];
  let bytes = 0;
  let position = 0;
  let full = false;
  const take = (files: readonly TesOutputFileLog[]): void => {
    for (const file of files) {
      if (full) return;
      if (position >= from) {
        const size = Buffer.byteLength(JSON.stringify(file), 'utf8') + 1;
        if (bytes + size > budget && chosen.length > 0) {
          full = true;
          return;
        }
        bytes += size;
        chosen.push(file);
      }
      position += 1;
    }
  };
  take(attempt.outputs);
  let total = attempt.outputs.length;
  if (list !== undefined) {
    total += list.count;
    const report = await sealedText(deps, reportKey(record.id, list.executor, 'stage-out'), list.report);
    if ('text' in report) {
      const pages = (JSON.parse(report.text) as { outputPages?: OutputPage[] }).outputPages ?? [];
      const wanted: number[] = [];
      let start = attempt.outputs.length;
      for (const [page, { count }] of pages.entries()) {
        if (start + count > from) wanted.push(page);
        else position += count;
        start += count;
      }
      for (let i = 0; i < wanted.length && !full; i += PAGE_READS) {
        const batch = wanted.slice(i, i + PAGE_READS);
        const read = await Promise.all(batch.map((page) => sealedText(deps, outputPageKey(record.id, list.executor, page), (pages[page] as OutputPage).sha256)));
        for (const found of read) {
          if (!('text' in found)) {
            metadata['outputs_unavailable'] = `part of the output list ${found.missing === 'expired' ? 'expired with the task data' : 'was changed in the bucket'}`;
            full = true;
            break;
          }
          take(JSON.parse(found.text) as TesOutputFileLog[]);
          if (full) break;
        }
      }
    } else {
      metadata['outputs_unavailable'] = `the output list ${report.missing === 'expired' ? 'expired with the task data' : 'was changed in the bucket'}`;
    }
  }
  metadata['outputs_total'] = String(total);
  const next = from + chosen.length;
  if (next < total && metadata['outputs_unavailable'] === undefined) metadata['outputs_next'] = String(next);
  const logs = [...record.logs];
  logs[index] = { ...attempt, outputs: chosen, metadata };
  return { ...record, logs };
}

/** A listing shows only the output files the item holds; `outputs_next` says where GetTask goes on. */
export function withListedOutputsOnly(record: TaskRecord): TaskRecord {
  const list = record.outputList;
  const attempt = list === undefined ? undefined : record.logs[list.attempt];
  if (list === undefined || attempt === undefined || list.count === 0) return record;
  const logs = [...record.logs];
  logs[list.attempt] = { ...attempt, metadata: { ...attempt.metadata, outputs_total: String(attempt.outputs.length + list.count), outputs_next: String(attempt.outputs.length) } };
  return { ...record, logs };
}

export async function getTask(deps: TesDeps, caller: Caller, id: string, view: TesView, outputsFrom = 0): Promise<TesTask> {
  const record = await loadOwnTask(deps, caller, id);
  if (view === 'MINIMAL') return renderTask(record, view);
  const shown = view === 'FULL' ? await withRunningExecutor(deps, await withSpilledLogs(deps, await withContent(deps, record))) : record;
  if (shown.outputList === undefined && outputsFrom === 0) return renderTask(shown, view);
  // The output list gets what the rest of the response leaves of a Lambda response.
  const emptied = { ...shown, logs: shown.logs.map((attempt) => ({ ...attempt, outputs: [] })) };
  const budget = MAX_RESPONSE_BYTES - Buffer.byteLength(JSON.stringify(renderTask(emptied, view)), 'utf8');
  return renderTask(await withOutputList(deps, shown, outputsFrom, budget), view);
}
