/**
 * Changing a task's state safely: check the transition table, write conditionally, and on a lost
 * race re-read and decide again. Whoever moved the task first wins; a change that is no longer
 * legal (the task ended meanwhile) is dropped and the current task returned.
 */
import { canTransition } from '../domain/states.js';
import type { TaskRecord } from '../domain/task-record.js';
import type { TesState, TesTaskLog } from '../domain/tes.js';
import { StaleWriteError } from '../ports/task-store.js';
import type { TesDeps } from './deps.js';

const MAX_ATTEMPTS = 5;

/** Moves `read` to `to` if that is (still) legal; `logs` computes the new logs from the current ones. */
export async function moveTask(
  deps: Pick<TesDeps, 'store'>,
  read: TaskRecord,
  to: TesState,
  logs?: (current: TesTaskLog[]) => TesTaskLog[],
): Promise<TaskRecord> {
  let current = read;
  for (let attempt = 1; ; attempt += 1) {
    if (!canTransition(current.state, to)) return current;
    try {
      return await deps.store.changeState(current, { to, ...(logs === undefined ? {} : { logs: logs(current.logs) }) });
    } catch (error) {
      if (!(error instanceof StaleWriteError) || error.current === undefined || attempt >= MAX_ATTEMPTS) throw error;
      current = error.current;
    }
  }
}

/**
 * Writes what `change` makes of the task's logs, made again from the task as it is now when another
 * writer came first. `change` answers undefined when there is nothing (more) to write; after
 * MAX_ATTEMPTS lost races the change is dropped (it only notes what the platform reported).
 */
export async function noteInLogs(deps: Pick<TesDeps, 'store'>, read: TaskRecord | undefined, change: (current: TaskRecord) => TesTaskLog[] | undefined): Promise<void> {
  let current = read;
  for (let attempt = 1; current !== undefined && attempt <= MAX_ATTEMPTS; attempt += 1) {
    const logs = change(current);
    if (logs === undefined) return;
    try {
      await deps.store.updateLogs(current, logs);
      return;
    } catch (error) {
      if (!(error instanceof StaleWriteError)) throw error;
      current = error.current;
    }
  }
}

/** Appends a line to the system logs of the task's latest attempt (creating the attempt's log if needed). */
export function withSystemLog(logs: TesTaskLog[], line: string): TesTaskLog[] {
  if (logs.length === 0) return [{ logs: [], outputs: [], system_logs: [line] }];
  const last = logs[logs.length - 1] as TesTaskLog;
  return [...logs.slice(0, -1), { ...last, system_logs: [...(last.system_logs ?? []), line] }];
}

/** Ends the task SYSTEM_ERROR with `reason` in its system logs (if it has not ended already). */
export function endWithSystemError(deps: Pick<TesDeps, 'store'>, read: TaskRecord, reason: string): Promise<TaskRecord> {
  return moveTask(deps, read, 'SYSTEM_ERROR', (logs) => withSystemLog(logs, `SYSTEM_ERROR: ${reason}`));
}
