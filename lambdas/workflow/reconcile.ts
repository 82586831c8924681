/**
 * The reconciler: no task stays stuck because its workflow vanished. For every task not yet ended
 * whose workflow is not running: a QUEUED one is started (again: execution names make that safe),
 * a CANCELING one becomes CANCELED, and any other ends SYSTEM_ERROR with the reason. Runs on a
 * schedule in AWS, and at every start of the local stack.
 */
import { moveTask, endWithSystemError } from '../usecases/transitions.js';
import type { Clock } from '../ports/clock.js';
import type { TaskStore } from '../ports/task-store.js';
import type { WorkflowPort } from '../ports/workflow.js';

export interface ReconcileOutcome {
  checked: number;
  resumed: string[];
  canceled: string[];
  ended: string[];
}

/**
 * Tasks read at once: the reads are independent, and one at a time they were most of a walk (30
 * tasks, 89 ms of a cold start). What is done with each stays in order, one task after another, so
 * the workflow API sees the same calls at the same pace.
 */
const READ_AHEAD = 8;

export async function reconcile(
  deps: { store: TaskStore; workflow: WorkflowPort; clock: Clock },
  options: {
    graceSeconds: number;
    /** Only tasks created before this (a local stack reconciles what its last run left while it serves new ones). */
    createdBefore?: Date;
    /** Stops the walk (a local stack closing while it reconciles). */
    signal?: AbortSignal;
  },
): Promise<ReconcileOutcome> {
  const outcome: ReconcileOutcome = { checked: 0, resumed: [], canceled: [], ended: [] };
  let after: string | undefined;
  const aborted = (): boolean => options.signal?.aborted === true;
  for (;;) {
    const page = await deps.store.listActive(after);
    for (let start = 0; start < page.ids.length; start += READ_AHEAD) {
      // A turn for whatever else waits, between every few tasks: where the store answers at once
      // (SQLite in the local server), a walk of 90,000 tasks otherwise held the API for 0.7 s.
      await new Promise((resolve) => setImmediate(resolve));
      if (aborted()) return outcome;
      const ids = page.ids.slice(start, start + READ_AHEAD);
      const reads = await Promise.all(ids.map((id) => deps.store.get(id)));
      for (const [i, id] of ids.entries()) {
        if (aborted()) return outcome;
        after = id;
        outcome.checked += 1;
        const read = reads[i];
        if (read === undefined) continue;
        const age = (deps.clock.now().getTime() - Date.parse(read.creationTime)) / 1000;
        if (age < options.graceSeconds) continue;
        if (options.createdBefore !== undefined && Date.parse(read.creationTime) >= options.createdBefore.getTime()) continue;
        const status = await deps.workflow.status(id);
        if (status === 'running') continue;
        if (read.state === 'QUEUED' && status === 'absent') {
          await deps.workflow.start(id);
          outcome.resumed.push(id);
        } else if (read.state === 'CANCELING') {
          await moveTask(deps, read, 'CANCELED');
          outcome.canceled.push(id);
        } else {
          const ended = await endWithSystemError(
            deps,
            read,
            `the task's workflow ${status === 'absent' ? 'vanished' : 'ended'} while the task was ${read.state}; the reconciler ended it`,
          );
          if (ended.state === 'SYSTEM_ERROR') outcome.ended.push(id);
        }
      }
    }
    if (!page.more) return outcome;
  }
}
