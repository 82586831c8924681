/**
 * Finalize. Primary course: the task ends COMPLETE, EXECUTOR_ERROR (an executor exited non-zero) or
 * SYSTEM_ERROR (staging or the platform failed), with the attempt's end time and its Fargate usage
 * and estimated cost in the log metadata. A task being canceled becomes CANCELED instead.
 */
import { maxRuntimeSeconds } from '../domain/backend-parameters.js';
import { FARGATE_PRICES, fargateCost, fargateSize } from '../domain/fargate.js';
import { isTerminal } from '../domain/states.js';
import { ecsTaskArns, executorStartMetadataKey } from '../domain/task-record.js';
import type { TesState, TesTaskLog } from '../domain/tes.js';
import { moveTask, noteInLogs, withSystemLog } from '../usecases/transitions.js';
import type { WorkflowDeps } from './deps.js';
import type { StepFailure, WorkflowState } from './state.js';

export async function finalize(deps: WorkflowDeps, state: WorkflowState): Promise<{ state: TesState }> {
  const read = await deps.store.get(state.taskId);
  if (read === undefined) throw new Error(`task ${state.taskId} vanished`);
  if (read.state === 'CANCELING') return { state: (await moveTask(deps, read, 'CANCELED')).state };
  if (isTerminal(read.state)) return { state: read.state };
  if (read.state === 'QUEUED') return { state: read.state };
  const outcome = state.outcome ?? {};
  const final: TesState = outcome.systemError !== undefined ? 'SYSTEM_ERROR' : outcome.executorFailed ? 'EXECUTOR_ERROR' : 'COMPLETE';
  const size = fargateSize(read.task.resources, deps.sizing);
  // Each run priced as it ran (Record); a workflow started before that was kept prices the sum once.
  const cost = outcome.usage ?? fargateCost(size, outcome.runSeconds ?? 0, deps.prices);
  const now = deps.clock.now().toISOString();
  const finish = (logs: TesTaskLog[]): TesTaskLog[] => {
    let next = logs.length === 0 ? [{ logs: [], outputs: [] } as TesTaskLog] : logs;
    if (outcome.systemError !== undefined) next = withSystemLog(next, `SYSTEM_ERROR: ${outcome.systemError}`);
    const attempt = next.at(-1) as TesTaskLog;
    const metadata = {
      ...attempt.metadata,
      vcpu_seconds: cost.vcpuSeconds.toFixed(1),
      gb_seconds: cost.gbSeconds.toFixed(1),
      estimated_cost_usd: cost.usd.toFixed(6),
      cost_prices: (deps.prices ?? FARGATE_PRICES).name,
    };
    return [...next.slice(0, -1), { ...attempt, end_time: now, metadata }];
  };
  return { state: (await moveTask(deps, read, final, finish)).state };
}

/** Any failure of the workflow itself ends the task SYSTEM_ERROR (or CANCELED, if it was being canceled). */
export async function recordFailure(deps: WorkflowDeps, state: WorkflowState): Promise<{ state: TesState }> {
  const read = await deps.store.get(state.taskId);
  if (read === undefined) return { state: 'UNKNOWN' };
  if (read.state === 'CANCELING') return { state: (await moveTask(deps, read, 'CANCELED')).state };
  const failure: StepFailure = state.failure ?? { Error: 'unknown' };
  let reason = `the task's workflow failed: ${failure.Error}${failure.Cause ? `: ${failure.Cause.slice(0, 1000)}` : ''}`;
  if (failure.Error === 'States.Timeout') {
    // Only RunExecutor has a timeout: what was left of max_runtime_seconds.
    reason = `the task ran past its max_runtime_seconds (${maxRuntimeSeconds(read.task.resources) ?? '?'}); executor ${state.index ?? 0} was stopped`;
    await deps.stopExecutors?.(read.id, ecsTaskArns(read.logs.at(-1)), 'max_runtime_seconds exceeded');
  }
  const ended = await moveTask(deps, read, 'SYSTEM_ERROR', (logs) => withSystemLog(logs, `SYSTEM_ERROR: ${reason}`));
  return { state: ended.state };
}

/** When an executor started, as the platform saw it. */
export interface ExecutorStart {
  index: number;
  at: Date;
}

/** The attempt's logs with executor `start.index`'s start noted in its metadata (unchanged when noted already). */
function withExecutorStart(logs: TesTaskLog[], start: ExecutorStart): TesTaskLog[] {
  const last = logs.at(-1);
  const key = executorStartMetadataKey(start.index);
  if (last === undefined || last.metadata?.[key] !== undefined) return logs;
  return [...logs.slice(0, -1), { ...last, metadata: { ...last.metadata, [key]: start.at.toISOString() } }];
}

/**
 * The executor's container started (the ECS task-state event): INITIALIZING → RUNNING, and when it
 * started noted for the running executor's log (a second executor's is its own, not the task's).
 */
export async function executorStarted(deps: Pick<WorkflowDeps, 'store'>, taskId: string, start?: ExecutorStart): Promise<void> {
  const read = await deps.store.get(taskId);
  if (read === undefined) return;
  if (read.state === 'INITIALIZING') {
    await moveTask(deps, read, 'RUNNING', start === undefined ? undefined : (logs) => withExecutorStart(logs, start));
    return;
  }
  if (start === undefined) return;
  await noteInLogs(deps, read, (current) => {
    if (current.state !== 'RUNNING') return undefined;
    const logs = withExecutorStart(current.logs, start);
    // A late event for a run Record has already written up changes nothing.
    return logs === current.logs || start.index < (current.logs.at(-1)?.logs.length ?? 0) ? undefined : logs;
  });
}
