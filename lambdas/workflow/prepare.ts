/**
 * Prepare. Primary course: move the task QUEUED → INITIALIZING (a conditional write: a task
 * canceled first is left alone), size it for Fargate, register or reuse one task definition per
 * executor, and hand the workflow one run plan per executor.
 */
import { fargateSize } from '../domain/fargate.js';
import { mountDirectories } from '../domain/mounts.js';
import { maxRuntimeSeconds, runTimeoutSeconds } from '../domain/backend-parameters.js';
import { executorTaskDefinition, LONGEST_RUN_SECONDS, runPlan } from '../domain/task-definition.js';
import { TICKET_SLACK_SECONDS } from '../domain/staging-token.js';
import type { TesTaskLog } from '../domain/tes.js';
import { moveTask } from '../usecases/transitions.js';
import type { WorkflowDeps } from './deps.js';
import type { WorkflowState } from './state.js';


export async function prepare(deps: WorkflowDeps, input: { taskId: string }): Promise<WorkflowState> {
  const read = await deps.store.get(input.taskId);
  if (read === undefined) throw new Error(`task ${input.taskId} does not exist`);
  if (read.state !== 'QUEUED') return { taskId: read.id };
  const now = deps.clock.now();
  const size = fargateSize(read.task.resources, deps.sizing);
  const startAttempt = (logs: TesTaskLog[]): TesTaskLog[] => {
    const metadata = {
      fargate_cpu_units: String(size.cpu),
      fargate_memory_mib: String(size.memory),
      fargate_ephemeral_storage_gib: String(size.ephemeralStorageGiB),
      fargate_architecture: size.architecture,
      capacity_provider: size.spot ? 'FARGATE_SPOT' : 'FARGATE',
    };
    const first = logs[0];
    if (first === undefined) return [{ logs: [], outputs: [], start_time: now.toISOString(), metadata }];
    return [{ ...first, start_time: now.toISOString(), metadata: { ...first.metadata, ...metadata } }, ...logs.slice(1)];
  };
  const initializing = await moveTask(deps, read, 'INITIALIZING', startAttempt);
  if (initializing.state !== 'INITIALIZING') return { taskId: read.id };

  const mounts = mountDirectories(initializing.task);
  const timeoutSeconds = runTimeoutSeconds(
    maxRuntimeSeconds(initializing.task.resources),
    undefined,
    now,
    deps.platform.longestRunSeconds ?? LONGEST_RUN_SECONDS,
  ) as number;
  // Tickets expire with the task's time (and are void once their run is recorded, whatever is left).
  const expires = Math.floor(now.getTime() / 1000) + timeoutSeconds + TICKET_SLACK_SECONDS;
  const tokens = deps.stagingTokens;
  if (tokens === undefined) throw new Error('TES_STAGING_SECRET is not set (Prepare signs staging tickets)');
  const runs = [];
  for (const [index, executor] of initializing.task.executors.entries()) {
    const definition = executorTaskDefinition(executor, mounts, size, deps.platform);
    const taskDefinitionArn = await deps.registry.ensure(definition);

    runs.push(
      runPlan({
        taskId: read.id,
        executorIndex: index,
        executor,
        taskDefinitionArn,
        size,
        platform: deps.platform,
        ticket: tokens.ticket(read.id, index, expires),
        stagingEnvironment: {
          TES_EXECUTOR_INDEX: String(index),
          TES_EXECUTOR_USER: deps.platform.executorUser,
          // Staging fetches, uploads and carries no more than the task's disk.
          TES_DISK_LIMIT_BYTES: String(size.ephemeralStorageGiB * 1024 ** 3),
          ...(deps.brokerUrl ? { TES_BROKER_URL: deps.brokerUrl } : {}),
          ...(deps.httpInputAllow ? { TES_HTTP_INPUT_ALLOW: deps.httpInputAllow } : {}),
        },
        timeoutSeconds,
      }),
    );
  }
  return { taskId: read.id, index: 0, runs, run: runs[0] as (typeof runs)[number], outcome: { runSeconds: 0 } };
}
