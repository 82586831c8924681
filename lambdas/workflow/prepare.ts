/**
 * Prepare. Primary course: move the task QUEUED → INITIALIZING (a conditional write: a task
 * canceled first is left alone), size it for Fargate, register or reuse one task definition per
 * executor, and hand the workflow one run plan per executor.
 */
import { fargateSize } from '../domain/fargate.js';
import { mountDirectories } from '../domain/mounts.js';
import { maxRuntimeSeconds, runTimeoutSeconds } from '../domain/backend-parameters.js';
import { executorTaskDefinition, LONGEST_RUN_SECONDS, runPlan } from '../domain/task-definition.js';
import type { TesTaskLog } from '../domain/tes.js';
import { moveTask } from '../usecases/transitions.js';
import type { WorkflowDeps } from './deps.js';
import type { WorkflowState } from './state.js';

/** Staging tokens outlive the longest task Step Functions can run (one year). */
const TOKEN_LIFETIME_SECONDS = 366 * 24 * 3600;

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
  const expires = Math.floor(now.getTime() / 1000) + TOKEN_LIFETIME_SECONDS;
  const runs = [];
  for (const [index, executor] of initializing.task.executors.entries()) {
    const definition = executorTaskDefinition(executor, mounts, size, deps.platform);
    const taskDefinitionArn = await deps.registry.ensure(definition);
    const token = deps.stagingTokens.issue({ taskId: read.id, executorIndex: index, expires });
    runs.push(
      runPlan({
        taskId: read.id,
        executorIndex: index,
        executor,
        taskDefinitionArn,
        size,
        platform: deps.platform,
        stagingEnvironment: {
          TES_STAGING_TOKEN: token,
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
