/**
 * CancelTask. Primary course: the caller's active task goes CANCELING, its workflow is stopped,
 * and once nothing of it runs any more it is CANCELED. A task that already ended, or is already
 * being canceled, is left as it is (200, no change).
 */
import type { Caller } from '../domain/caller.js';
import { isCancelable } from '../domain/states.js';
import { ecsTaskArns } from '../domain/task-record.js';
import type { TesCancelTaskResponse } from '../domain/tes.js';
import type { TesDeps } from './deps.js';
import { loadOwnTask } from './get-task.js';
import { moveTask } from './transitions.js';

export async function cancelTask(deps: TesDeps, caller: Caller, id: string): Promise<TesCancelTaskResponse> {
  const read = await loadOwnTask(deps, caller, id);
  if (!isCancelable(read.state)) return {};
  const canceling = await moveTask(deps, read, 'CANCELING');
  if (canceling.state !== 'CANCELING') return {};
  const reason = caller.owner === read.owner ? `canceled by ${caller.owner}` : `canceled by admin ${caller.owner}`;
  const outcome = await deps.workflow.stop(id, reason, { ecsTaskArns: ecsTaskArns(canceling.logs.at(-1)) });
  if (outcome === 'stopped') await moveTask(deps, canceling, 'CANCELED');
  return {};
}
