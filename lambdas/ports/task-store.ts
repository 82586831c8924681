import type { LogOverflow, TaskRecord, TaskSummary } from '../domain/task-record.js';
import type { TesState, TesTaskLog } from '../domain/tes.js';

/** One run of a newest-first index. */
export interface SummaryPage {
  entries: TaskSummary[];
  /** True when the index holds nothing after the last entry. */
  exhausted: boolean;
  /** Where the walk got to, when it read past the last entry (entries it filtered out). */
  last?: string;
  /** Read capacity this call consumed (0 where the store cannot tell). */
  readUnits: number;
}

export interface SummaryQuery {
  /** Whose tasks; undefined walks every owner's (for an admin). */
  owner?: string;
  /** Walk only tasks in this state. */
  state?: TesState;
  /** Start after this task id (exclusive). */
  after?: string;
  limit: number;
}

/** A state change, written only if the task is still as it was read (same state and version). */
export interface StateChange {
  to: TesState;
  /** Replaces the task's logs in the same write, when given. */
  logs?: TesTaskLog[];
}

/** Thrown when a conditional write lost a race: `current` is the task as it is now. */
export class StaleWriteError extends Error {
  constructor(readonly current: TaskRecord | undefined) {
    super('the task changed since it was read');
    this.name = 'StaleWriteError';
  }
}

export interface TaskStore {
  /** Stores a new task; fails if the id exists. */
  create(record: TaskRecord): Promise<void>;
  get(id: string): Promise<TaskRecord | undefined>;
  /** The tasks with these ids, in the same order; ids that do not exist are left out. */
  getMany(ids: readonly string[]): Promise<TaskRecord[]>;
  /** Ids of tasks not yet ended, oldest first, after `after`; `more` when another page exists. */
  listActive(after?: string, limit?: number): Promise<{ ids: string[]; more: boolean }>;
  /** Newest first, one owner's tasks (or every owner's), optionally in one state. */
  listSummaries(query: SummaryQuery): Promise<SummaryPage>;
  /**
   * Replaces `read`'s logs (and, when given, the pointers to what of them is kept outside the item)
   * if the task is still as read (same version); throws StaleWriteError otherwise.
   */
  updateLogs(read: TaskRecord, logs: TesTaskLog[], overflow?: LogOverflow): Promise<TaskRecord>;
  /**
   * Notes that the staging ticket of run `run` was traded; false if it had been already (or the task
   * does not exist). Changes nothing else of the task.
   */
  claimStagingRun(id: string, run: string): Promise<boolean>;
  /** Changes `read`'s state if the task is still as read; throws StaleWriteError when it moved on. */
  changeState(read: TaskRecord, change: StateChange): Promise<TaskRecord>;
}
