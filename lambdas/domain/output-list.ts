/**
 * Outputs and logs of any size. A task's DynamoDB item ends at 400 KB, so what does not fit it lives
 * in the service bucket under the task's own prefix, which only the service writes, and the item
 * keeps the SHA-256 of each piece so no one can change it unseen:
 *  - a long output list: stage-out hands it to the staging broker in pages of OUTPUT_PAGE_FILES
 *    files; the stage-out report (sealed by the broker) holds each page's count and hash, and the
 *    item holds the report's hash. GetTask merges the pages back, `outputs_from` at a time.
 *  - executor log tails and system log lines past LOGS_ITEM_BYTES: Record keeps them in one object
 *    per run, and the FULL view merges it back.
 */
import { createHash } from 'node:crypto';

/** Files per page of a long output list (a page stays far below the broker's 6 MB request limit). */
export const OUTPUT_PAGE_FILES = 1000;
/** ... or this many bytes of JSON, whichever comes first. */
export const OUTPUT_PAGE_BYTES = 1024 * 1024;
/** An output list whose JSON is larger than this is kept in pages, not in the task's item. */
export const INLINE_OUTPUT_BYTES = 16 * 1024;
/** The most of an output list the item takes from any report (stage-out sends at most INLINE_OUTPUT_BYTES). */
export const ITEM_OUTPUT_BYTES = 32 * 1024;
/** The most pages one stage-out may hand over (10 million files). */
export const MAX_OUTPUT_PAGES = 10_000;
/**
 * What the task item's logs may hold before a run's tails and system lines go to the bucket. The
 * item then holds at most: the task document (MAX_STORED_TASK_BYTES, 256 KB), this, ITEM_OUTPUT_BYTES
 * and, for each of up to 100 executors, what is never moved out (exit code, times, a line, the log
 * locations in metadata: about 600 bytes), well under DynamoDB's 400 KB.
 */
export const LOGS_ITEM_BYTES = 32 * 1024;

/** One page of a long output list, as the stage-out report names it. */
export interface OutputPage {
  count: number;
  sha256: string;
}

/** The item's pointer to a long output list: the sealed stage-out report that names its pages. */
export interface OutputList {
  /** Index into the task's logs (the attempt) and the executor whose stage-out uploaded them. */
  attempt: number;
  executor: number;
  /** How many files were uploaded in all. */
  count: number;
  /** SHA-256 of the stage-out report as Record read it (and checked its seal). */
  report: string;
}

/** A run's log kept out of the item: where it goes back in the FULL view. */
export interface SpilledRun {
  attempt: number;
  executor: number;
  /** Index of the run's executor log in the attempt's `logs`, when it has one. */
  log?: number;
  /** Index in the attempt's `system_logs` of the line that stands for the kept lines. */
  line: number;
  sha256: string;
}

/** What a spilled run's object holds. */
export interface SpilledLog {
  stdout?: string;
  stderr?: string;
  system_logs: string[];
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Where page `page` of executor `executorIndex`'s output list is kept. */
export function outputPageKey(taskId: string, executorIndex: number, page: number): string {
  return `tasks/${taskId}/runs/${executorIndex}/outputs/${page}.json`;
}

/** Where the log of run `executorIndex` that did not fit the item is kept. */
export function spilledLogKey(taskId: string, executorIndex: number): string {
  return `tasks/${taskId}/runs/${executorIndex}/log.json`;
}

/** Where the report of a run's stage-in or stage-out is kept, in the service bucket. */
export function reportKey(taskId: string, executorIndex: number, name: 'stage-in' | 'stage-out'): string {
  return `tasks/${taskId}/runs/${executorIndex}/${name}.json`;
}

/** The most a response body may hold: a Lambda response ends at 6 MB. */
export const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;
