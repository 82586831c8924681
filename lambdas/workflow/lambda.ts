/**
 * The workflow's Lambda handlers, one function each in AWS (the state machine's Task states, the
 * ECS task-state rule's target; the reconciler is reconcile-lambda.ts). Each builds its dependencies from the
 * environment once per container and then only passes the event on.
 */
import { ecsTaskMetadataKey } from '../domain/task-record.js';
import { CONTAINERS } from '../domain/task-definition.js';
import { moveTask, noteInLogs } from '../usecases/transitions.js';
import { workflowFromEnv, type CloudWorkflow } from './config.js';
import { executorStarted, finalize, recordFailure } from './finalize.js';
import { prepare } from './prepare.js';
import { record } from './record.js';
import type { WorkflowState } from './state.js';
import type { WorkflowDeps } from './deps.js';

let cloud: CloudWorkflow | undefined;
const wiring = (): CloudWorkflow => (cloud ??= workflowFromEnv(process.env));

export const prepareHandler = (event: { taskId: string }) => prepare(wiring().deps, event);
export const recordHandler = (event: WorkflowState) => record(wiring().deps, event);
export const finalizeHandler = (event: WorkflowState) => finalize(wiring().deps, event);
export const recordFailureHandler = (event: WorkflowState) => recordFailure(wiring().deps, event);

/** EventBridge "ECS Task State Change" for tasks in a `tes:<id>` group. */
export interface EcsTaskStateChange {
  /** When ECS saw the change (RFC 3339): for a RUNNING executor container, when it started. */
  time?: string;
  detail: {
    group?: string;
    taskArn?: string;
    lastStatus?: string;
    containers?: { name?: string; lastStatus?: string }[];
    overrides?: { containerOverrides?: { name?: string; environment?: { name?: string; value?: string }[] }[] };
  };
}

/** Which executor an ECS task runs: Prepare puts its index in stage-in's environment. */
function executorIndexOf(event: EcsTaskStateChange): number | undefined {
  const stageIn = event.detail.overrides?.containerOverrides?.find((c) => c.name === CONTAINERS.stageIn);
  const value = stageIn?.environment?.find((e) => e.name === 'TES_EXECUTOR_INDEX')?.value;
  return value === undefined || !/^\d+$/.test(value) ? undefined : Number(value);
}

/**
 * RUNNING once the executor container runs; the ECS task noted for its log stream; and a task that
 * is being canceled becomes CANCELED once its ECS task has stopped (teardown seen).
 */
export async function onEcsTaskStateChange(deps: Pick<WorkflowDeps, 'store'>, event: EcsTaskStateChange): Promise<void> {
  const taskId = event.detail.group?.startsWith('tes:') ? event.detail.group.slice(4) : undefined;
  if (taskId === undefined) return;
  const executor = event.detail.containers?.find((c) => c.name === CONTAINERS.executor);
  if (executor?.lastStatus === 'RUNNING') {
    const index = executorIndexOf(event);
    const at = event.time === undefined ? undefined : new Date(event.time);
    await executorStarted(deps, taskId, index === undefined || at === undefined || Number.isNaN(at.getTime()) ? undefined : { index, at });
  }
  const read = await deps.store.get(taskId);
  if (read === undefined) return;
  // Notes the run's ECS task (its log stream) for the executor now running: a write lost to another
  // writer is tried again, and a run started again after a Spot interruption replaces the note.
  const arn = event.detail.taskArn;
  if (arn !== undefined && event.detail.lastStatus !== 'STOPPED') {
    await noteInLogs(deps, read, (current) => {
      const last = current.logs.at(-1);
      if (last === undefined) return undefined;
      const index = executorIndexOf(event) ?? last.logs.length;
      const key = ecsTaskMetadataKey(index);
      // A late event of a run Record has already written up changes nothing.
      if (index < last.logs.length || last.metadata?.[key] === arn) return undefined;
      return [...current.logs.slice(0, -1), { ...last, metadata: { ...last.metadata, [key]: arn } }];
    });
  }
  if (event.detail.lastStatus === 'STOPPED') {
    const current = await deps.store.get(taskId);
    if (current?.state === 'CANCELING') await moveTask(deps, current, 'CANCELED');
  }
}

export const ecsEventHandler = (event: EcsTaskStateChange) => onEcsTaskStateChange(wiring().deps, event);

