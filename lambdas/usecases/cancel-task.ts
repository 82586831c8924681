/**
 * CancelTask. Primary course: the caller's active task goes CANCELING, its workflow is stopped,
 * and once nothing of it runs any more it is CANCELED. A task that already ended, or is already
 * being canceled, is left as it is (200, no change).
 */
import type { Caller } from '../domain/caller.js';
import { isCancelable } from '../domain/states.js';
import type { TesCancelTaskResponse } from '../domain/tes.js';
import type { TesDeps } from './deps.js';
import { loadOwnTask } from './get-task.js';
import { moveTask } from './transitions.js';

export async function cancelTask(deps: TesDeps, caller: Caller, id: string): Promise<TesCancelTaskResponse> {
  const read = await loadOwnTask(deps, caller, id);
  if (!isCancelable(read.state)) return {};
  const canceling = await moveTask(deps, read, 'CANCELING');
  if (canceling.state !== 'CANCELING') return {};
  // The ECS tasks the task's runs started, as the workflow noted them in the attempt's metadata.
  const ecsTaskArns = Object.entries(canceling.logs.at(-1)?.metadata ?? {})
    .filter(([key]) => key.startsWith('ecs_task_'))
    .map(([, arn]) => arn);
  const outcome = await deps.workflow.stop(id, caller.owner === read.owner ? `canceled by ${caller.owner}` : `canceled by admin ${caller.owner}`, { ecsTaskArns });
  if (outcome === 'stopped') await moveTask(deps, canceling, 'CANCELED');
  return {};
}
