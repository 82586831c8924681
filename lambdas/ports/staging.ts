/**
 * The staging contract between the trusted stage-in/stage-out code and the staging broker. The
 * broker holds the AWS permissions; stage-in/out hold only a per-run capability (a ticket traded
 * once for a session token), which the broker trades for URLs limited to that task's declared
 * inputs, outputs and log objects, within its owner's storage scopes.
 */

import type { OutputPage } from '../domain/output-list.js';

/** One input, resolved to what stage-in needs to put it in place. */
export interface InputSource {
  /** Index into the task's inputs, for error messages. */
  index: number;
  path: string;
  type: 'FILE' | 'DIRECTORY';
  /** The TES url (or `content`), for error messages. */
  source: string;
  /**
   * Files to fetch: `relative` is '' for a FILE input, the path below `path` for a DIRECTORY.
   * `external`: a URL the task named (http/https), fetched only from public addresses; otherwise
   * one the broker made.
   */
  files: { relative: string; url: string; external?: boolean; sha256?: string }[];
}

export interface OutputSpec {
  index: number;
  path: string;
  pathPrefix?: string;
  type: 'FILE' | 'DIRECTORY';
  /** The TES url the output goes to. */
  url: string;
}

export interface StagingPlan {
  taskId: string;
  executorIndex: number;
  executorCount: number;
  ignoreError: boolean;
  /** Container directories the task's containers share. */
  mounts: string[];
  /** Directories to create inside the mounts (workdirs, stdio parents). */
  directories: string[];
  inputs: InputSource[];
  outputs: OutputSpec[];
  /**
   * The task's volumes travel between executors as an archive: each executor is its own Fargate
   * task with fresh volumes. One archive per mount, in mount order: `restore` (GETs) for every
   * executor after the first, `save` (PUTs) for every executor before the last. `restoreSha256`:
   * what each archive must hash to, from the previous stage-out's sealed report.
   */
  carry: { restore?: string[]; restoreSha256?: string[]; save?: string[] };
}

/** A file stage-out wants to upload: output `output`, at `relative` below it ('' for a FILE output). */
export interface UploadRequest {
  output: number;
  relative: string;
}

export type ReportName = 'stage-in' | 'stage-out';

export interface StagingSession {
  token: string;
  plan: StagingPlan;
}

export interface StagingBroker {
  /** Trades a run's ticket (from stage-in's environment), once, for the session token every other call takes, and the run's plan. */
  session(ticket: string): Promise<StagingSession>;
  plan(token: string): Promise<StagingPlan>;
  /** A PUT URL for each requested file, in order; refuses anything outside the declared outputs. */
  uploadTargets(token: string, files: UploadRequest[]): Promise<string[]>;
  /** Where stage-in/out leave their report for the workflow to read. */
  report(token: string, name: ReportName, report: StageReport): Promise<void>;
  /**
   * Keeps page `page` of a long output list (stage-out, before its report); answers the SHA-256 of
   * the page as kept, which the report then names. Refuses files outside the task's outputs.
   */
  outputPage(token: string, page: number, files: UploadedFile[]): Promise<OutputPage>;
}

export interface UploadedFile {
  url: string;
  path: string;
  size_bytes: string;
}

export interface StageReport {
  ok: boolean;
  /** Why staging failed (names the input or output). */
  error?: string;
  warnings: string[];
  /** The uploaded files, when their list is short; a long list is in `outputPages` instead. */
  outputs?: UploadedFile[];
  /** A long output list, page by page, as the broker kept it (count and SHA-256 of each page). */
  outputPages?: OutputPage[];
  /** How many files were uploaded, and their bytes, all of them. */
  outputCount?: number;
  outputBytes?: number;
  /** Stage-out only: the executor's exit code as it saw it. */
  exitCode?: number;
  /** Stage-out before another executor: the SHA-256 of each carried archive, in mount order. */
  carry?: string[];
  /** The broker's seal over the stored report (whatever staging sent under this name is replaced). */
  seal?: string;
}
