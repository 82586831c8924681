/**
 * The stored form of a task: the client's task document (spec fields only) plus what the server
 * owns (id, owner, state, version, creation time, logs). Large `content` inputs live in the object
 * store; the record keeps a pointer instead, so items stay small and cheap to read.
 */
import type { OutputList, SpilledRun } from './output-list.js';
import type { TesState, TesTask, TesTaskLog } from './tes.js';

/** An input whose `content` was moved to the object store. */
export interface OffloadedContent {
  /** Index into `task.inputs`. */
  input: number;
  /** Object-store key holding the content (UTF-8). */
  key: string;
  bytes: number;
  /** Hex SHA-256 of the content: stage-in refuses anything else (absent on tasks stored before it was kept). */
  sha256?: string;
}

export interface TaskRecord {
  id: string;
  owner: string;
  /** The owner held the admin claim when creating it: storage rules for admins apply to its staging. */
  admin?: boolean;
  state: TesState;
  /** Bumped on every write; conditional writes check it so a stale writer loses. */
  version: number;
  /** RFC 3339. */
  creationTime: string;
  /** The client's document without id, state, logs and creation_time. */
  task: TesTask;
  logs: TesTaskLog[];
  offloaded?: OffloadedContent[];
  /** A long output list kept in the bucket (domain/output-list.ts). */
  outputList?: OutputList;
  /** Runs whose log tails and system lines are kept in the bucket: the item stays under 400 KB. */
  spilled?: SpilledRun[];
}

/** What a write of the logs may set with them (the overflow of the item). */
export type LogOverflow = Pick<TaskRecord, 'outputList' | 'spilled'>;

/** The index entry a listing walks: enough to filter and to answer the MINIMAL view. */
export interface TaskSummary {
  id: string;
  state: TesState;
  name?: string;
  tags?: Record<string, string>;
}

/** Content inputs at least this large are kept in the object store, not in the task item. */
export const OFFLOAD_CONTENT_BYTES = 16 * 1024;

/** The attempt-metadata key under which the workflow notes the ECS task of executor `index`'s run. */
export function ecsTaskMetadataKey(executorIndex: number): string {
  return `ecs_task_${executorIndex}`;
}

/** The attempt-metadata key under which the workflow notes when executor `index` started (RFC 3339). */
export function executorStartMetadataKey(executorIndex: number): string {
  return `executor_${executorIndex}_start_time`;
}

/** The ECS tasks an attempt's runs started, as the workflow noted them in its metadata. */
export function ecsTaskArns(attempt: TesTaskLog | undefined): string[] {
  return Object.entries(attempt?.metadata ?? {})
    .filter(([key]) => /^ecs_task_\d+$/.test(key))
    .map(([, arn]) => arn);
}
