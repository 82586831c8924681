/**
 * Record. Primary course: read what the executor's Fargate task reported (stage-in, the executor's
 * exit code, stage-out's uploads), append the executor's log with its stdout/stderr tails, and
 * choose what runs next: the next executor, unless this one failed without ignore_error or staging
 * failed.
 */
import { openReport, reportKey } from '../adapters/s3-staging-broker.js';
import { maxRuntimeSeconds, runTimeoutSeconds } from '../domain/backend-parameters.js';
import { fargateCost, fargateSize } from '../domain/fargate.js';
import { CONTAINERS, LONGEST_RUN_SECONDS, withTicket } from '../domain/task-definition.js';
import { TICKET_SLACK_SECONDS } from '../domain/staging-token.js';
import { ITEM_OUTPUT_BYTES, LOGS_ITEM_BYTES, sha256Hex, spilledLogKey, type SpilledLog, type SpilledRun } from '../domain/output-list.js';
import { ecsTaskMetadataKey, type LogOverflow } from '../domain/task-record.js';
import type { TesExecutorLog, TesTaskLog } from '../domain/tes.js';
import { LOG_TAIL_BYTES } from '../ports/log-store.js';
import { ObjectMissingError } from '../ports/object-store.js';
import type { ReportName, StageReport } from '../ports/staging.js';
import { StaleWriteError } from '../ports/task-store.js';
import { moveTask, withSystemLog } from '../usecases/transitions.js';
import type { WorkflowDeps } from './deps.js';
import type { EcsTaskOutput, Outcome, WorkflowState } from './state.js';

/**
 * A run's stage report, if the broker wrote it (its seal holds): one changed in the bucket counts as
 * none. With the SHA-256 of its text, by which the task's item names it.
 */
async function readReport(deps: WorkflowDeps, taskId: string, index: number, name: ReportName): Promise<{ report: StageReport; sha256: string } | undefined> {
  const tokens = deps.stagingTokens;
  if (tokens === undefined) throw new Error('TES_STAGING_SECRET is not set (Record checks the seal of stage reports)');
  let text: string;
  try {
    text = await deps.objects.getText(reportKey(taskId, index, name));
  } catch (error) {
    // None written is an answer (staging never got that far); failing to read one is not: Record fails
    // (before it has written anything) and the workflow runs it again.
    if (error instanceof ObjectMissingError) return undefined;
    throw new TransientError(`the ${name} report of executor ${index} could not be read: ${(error as Error).name}: ${(error as Error).message}`);
  }
  const report = openReport(tokens, taskId, index, name, text);
  return report === undefined ? undefined : { report, sha256: sha256Hex(text) };
}

function isoTime(value: string | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The stopped ECS task, from a normal result or from the Cause of a States.TaskFailed. */
function ecsTask(state: WorkflowState): { task?: EcsTaskOutput; failure?: string } {
  if (state.ecs !== undefined) return { task: state.ecs };
  const failure = state.ecsFailure;
  if (failure === undefined) return {};
  try {
    const parsed = JSON.parse(failure.Cause ?? '') as EcsTaskOutput;
    if (Array.isArray(parsed.Containers)) return { task: parsed };
  } catch {
    // not an ECS task description
  }
  return { failure: `${failure.Error}: ${(failure.Cause ?? '').slice(0, 1000)}` };
}

/** A failure the workflow retries with backoff (the state machine's Retry on `TES.Transient`). */
export class TransientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TES.Transient';
  }
}

/** The most uploaded files a task's `outputs` lists, across its executors: its item stays far from DynamoDB's 400 KB. */
export const MAX_LISTED_OUTPUTS = 1000;

/** Fargate Spot interruptions are retried this many times; the last retry runs on demand. */
export const SPOT_RETRIES = 2;

function interruptedBySpot(ecs: EcsTaskOutput | undefined): boolean {
  return ecs?.StopCode === 'SpotInterruption' || ecs?.StopCode === 'TerminationNotice' || /spot task was interrupted/i.test(ecs?.StoppedReason ?? '');
}

/**
 * A Spot interruption is the platform's doing, not the task's: the executor runs again (PREEMPTED
 * for a moment, then INITIALIZING), on demand the last time, so that clients which never stop
 * polling a PREEMPTED task see it finish. Out of retries, the task ends SYSTEM_ERROR.
 */
async function retryAfterSpot(deps: WorkflowDeps, state: WorkflowState, index: number, outcome: Outcome): Promise<WorkflowState | undefined> {
  const retries = outcome.spotRetries ?? 0;
  const run = state.runs?.[index];
  const read = await deps.store.get(state.taskId);
  if (run === undefined || read === undefined || retries >= SPOT_RETRIES) return undefined;
  const note = `executor ${index} was interrupted by Fargate Spot; running it again (retry ${retries + 1} of ${SPOT_RETRIES}${retries + 1 === SPOT_RETRIES ? ', on demand' : ''})`;
  const preempted = await moveTask(deps, read, 'PREEMPTED', (logs) => withSystemLog(logs, note));
  if (preempted.state !== 'PREEMPTED') return { taskId: state.taskId, index: index + 1, runs: state.runs ?? [], outcome };
  await moveTask(deps, preempted, 'INITIALIZING');
  const onDemand = retries + 1 === SPOT_RETRIES ? { ...run, capacityProviderStrategy: [{ CapacityProvider: 'FARGATE' as const, Weight: 1 }] } : run;
  // The interrupted run traded its ticket: the new one gets its own, expiring as the first would have.
  const tokens = deps.stagingTokens;
  if (tokens === undefined) throw new Error('TES_STAGING_SECRET is not set (Record signs the ticket of a run started again)');
  const again = withTicket(onDemand, tokens.ticket(state.taskId, index, Math.floor(deps.clock.now().getTime() / 1000) + run.timeoutSeconds + TICKET_SLACK_SECONDS));
  return { taskId: state.taskId, index, runs: state.runs ?? [], run: again, outcome: { ...outcome, spotRetries: retries + 1 } };
}

/**
 * Adds what this run cost: Fargate bills each task by the second with a one-minute minimum, at the
 * Spot or on-demand price it ran at, whether it finished or was interrupted.
 */
async function addUsage(deps: WorkflowDeps, state: WorkflowState, index: number, ecs: EcsTaskOutput | undefined, outcome: Outcome): Promise<void> {
  const started = isoTime(ecs?.StartedAt);
  const stopped = isoTime(ecs?.StoppedAt);
  if (started === undefined || stopped === undefined) return;
  const seconds = Math.max(0, (Date.parse(stopped) - Date.parse(started)) / 1000);
  outcome.runSeconds = (outcome.runSeconds ?? 0) + seconds;
  const task = await deps.store.get(state.taskId);
  const plan = state.run ?? state.runs?.[index];
  const spot = plan?.capacityProviderStrategy.some((s) => s.CapacityProvider === 'FARGATE_SPOT') === true;
  const cost = fargateCost({ ...fargateSize(task?.task.resources, deps.sizing), spot }, seconds, deps.prices);
  const usage = outcome.usage ?? { vcpuSeconds: 0, gbSeconds: 0, usd: 0 };
  outcome.usage = { vcpuSeconds: usage.vcpuSeconds + cost.vcpuSeconds, gbSeconds: usage.gbSeconds + cost.gbSeconds, usd: usage.usd + cost.usd };
}

/**
 * Moves this run's stdout/stderr tails and system lines out of `logs` (whose last attempt holds
 * them at its end) into one object in the bucket; one line stands for them in the item.
 */
async function spillRun(
  deps: WorkflowDeps,
  taskId: string,
  index: number,
  attemptIndex: number,
  logs: TesTaskLog[],
  before: TesTaskLog | undefined,
): Promise<{ logs: TesTaskLog[]; run: SpilledRun } | undefined> {
  const attempt = logs[attemptIndex];
  if (attempt === undefined) return undefined;
  const hadLogs = before?.logs.length ?? 0;
  const own = attempt.logs.length > hadLogs ? attempt.logs.at(-1) : undefined;
  const systemLogs = attempt.system_logs ?? [];
  const added = Math.max(0, systemLogs.length - (before?.system_logs?.length ?? 0));
  const lines = systemLogs.slice(systemLogs.length - added);
  if (own?.stdout === undefined && own?.stderr === undefined && lines.length === 0) return undefined;
  const body: SpilledLog = { system_logs: lines };
  if (own?.stdout !== undefined) body.stdout = own.stdout;
  if (own?.stderr !== undefined) body.stderr = own.stderr;
  const text = JSON.stringify(body);
  await deps.objects.put(spilledLogKey(taskId, index), text);
  const kept = systemLogs.slice(0, systemLogs.length - added);
  const line = kept.length;
  kept.push(`executor ${index}: log tails and ${lines.length} system log lines kept with the task's data (FULL view)`);
  const slimLogs = attempt.logs.map((log, i): TesExecutorLog => {
    if (own === undefined || i !== attempt.logs.length - 1) return log;
    const rest = { ...log };
    delete rest.stdout;
    delete rest.stderr;
    return rest;
  });
  const run: SpilledRun = { attempt: attemptIndex, executor: index, line, sha256: sha256Hex(text) };
  if (own !== undefined) run.log = attempt.logs.length - 1;
  const next = [...logs];
  next[attemptIndex] = { ...attempt, logs: slimLogs, system_logs: kept };
  return { logs: next, run };
}

export async function record(deps: WorkflowDeps, state: WorkflowState): Promise<WorkflowState> {
  const index = state.index ?? 0;
  const runs = state.runs ?? [];
  const outcome = { ...state.outcome };
  const { task: ecs, failure } = ecsTask(state);
  await addUsage(deps, state, index, ecs, outcome);
  if (interruptedBySpot(ecs)) {
    const retry = await retryAfterSpot(deps, state, index, outcome);
    if (retry !== undefined) return retry;
    outcome.systemError = `executor ${index} was interrupted by Fargate Spot ${SPOT_RETRIES + 1} times`;
    return { taskId: state.taskId, index: index + 1, runs, outcome };
  }
  const [stageInRead, stageOutRead] = await Promise.all([readReport(deps, state.taskId, index, 'stage-in'), readReport(deps, state.taskId, index, 'stage-out')]);
  const stageIn = stageInRead?.report;
  const stageOut = stageOutRead?.report;
  const executor = ecs?.Containers?.find((c) => c.Name === CONTAINERS.executor);
  const exitCode = executor?.ExitCode;
  const started = isoTime(ecs?.StartedAt);
  const stopped = isoTime(ecs?.StoppedAt);

  const systemLines: string[] = [];
  const pullStarted = isoTime(ecs?.PullStartedAt);
  const pullStopped = isoTime(ecs?.PullStoppedAt);
  if (pullStarted !== undefined && pullStopped !== undefined) {
    const seconds = Math.max(0, (Date.parse(pullStopped) - Date.parse(pullStarted)) / 1000);
    systemLines.push(`executor ${index}'s image was pulled in ${seconds.toFixed(1)} s (${pullStarted} to ${pullStopped})`);
  }
  systemLines.push(...(stageIn?.warnings ?? []), ...(stageOut?.warnings ?? []));
  const listed = (stageOut?.outputs?.length ?? 0) + (stageOut?.outputPages ?? []).reduce((sum, page) => sum + page.count, 0);
  if (stageOut?.outputCount !== undefined && stageOut.outputCount > listed) {
    systemLines.push(`executor ${index}: ${stageOut.outputCount} files (${stageOut.outputBytes ?? 0} bytes) were uploaded; outputs lists the first ${listed}`);
  }
  const stageInContainer = ecs?.Containers?.find((c) => c.Name === CONTAINERS.stageIn);
  const stageOutContainer = ecs?.Containers?.find((c) => c.Name === CONTAINERS.stageOut);
  const howItEnded = (c: { ExitCode?: number; Reason?: string } | undefined) =>
    c === undefined ? '' : `${c.ExitCode === undefined ? '' : ` (exit code ${c.ExitCode})`}${c.Reason === undefined ? '' : `: ${c.Reason}`}`;
  // Why the platform stopped an executor that did run (Fargate: OutOfMemoryError; locally: DiskLimitExceeded).
  if (exitCode !== undefined && executor?.Reason !== undefined) systemLines.push(`executor ${index} exited ${exitCode}: ${executor.Reason}`);
  let systemError: string | undefined;
  if (failure !== undefined) systemError = `executor ${index}'s Fargate task failed: ${failure}`;
  else if (stageIn !== undefined && !stageIn.ok) systemError = stageIn.error ?? 'stage-in failed';
  else if (stageIn === undefined && stageInContainer?.ExitCode !== undefined && stageInContainer.ExitCode !== 0) {
    systemError = `stage-in did not finish${howItEnded(stageInContainer)}`;
  } else if (exitCode === undefined) {
    systemError = `executor ${index} did not run: ${executor?.Reason ?? ecs?.StoppedReason ?? 'no exit code was reported'}`;
  } else if (stageOut !== undefined && !stageOut.ok) systemError = stageOut.error ?? 'stage-out failed';
  else if (stageOut === undefined) {
    systemError = `executor ${index}'s outputs were not staged: ${stageOutContainer?.Reason ?? ecs?.StoppedReason ?? 'stage-out reported nothing'}${stageOutContainer?.ExitCode === undefined ? '' : ` (exit code ${stageOutContainer.ExitCode})`}`;
  }

  let executorLog: TesExecutorLog | undefined;
  if (exitCode !== undefined) {
    executorLog = { exit_code: exitCode };
    if (started !== undefined) executorLog.start_time = started;
    if (stopped !== undefined) executorLog.end_time = stopped;
    // This run's own ECS task: the note in the task may be missing or an earlier run's (Spot).
    const [stdout, stderr] = await Promise.all([
      deps.logs.tail(state.taskId, index, 'stdout', LOG_TAIL_BYTES, ecs?.TaskArn),
      deps.logs.tail(state.taskId, index, 'stderr', LOG_TAIL_BYTES, ecs?.TaskArn),
    ]);
    if (stdout !== undefined) executorLog.stdout = stdout;
    if (stderr !== undefined) executorLog.stderr = stderr;
  }
  const update = (logs: TesTaskLog[]): TesTaskLog[] => {
    const attempt: TesTaskLog = logs.at(-1) ?? { logs: [], outputs: [] };
    // The item lists at most MAX_LISTED_OUTPUTS files in ITEM_OUTPUT_BYTES (a long list comes in
    // pages, kept in the bucket): anything past that in a report is counted in the system logs.
    const reported = stageOut?.outputs ?? [];
    let bytes = Buffer.byteLength(JSON.stringify(attempt.outputs), 'utf8');
    let room = 0;
    while (room < reported.length && attempt.outputs.length + room < MAX_LISTED_OUTPUTS) {
      bytes += Buffer.byteLength(JSON.stringify(reported[room]), 'utf8') + 1;
      if (bytes > ITEM_OUTPUT_BYTES) break;
      room += 1;
    }
    const lines = [...systemLines];
    if (reported.length > room) {
      lines.push(`executor ${index}: ${reported.length - room} of its listed outputs are left out of outputs, which lists at most ${MAX_LISTED_OUTPUTS} files in ${ITEM_OUTPUT_BYTES} bytes for a task`);
    }
    const next: TesTaskLog = {
      ...attempt,
      logs: executorLog === undefined ? attempt.logs : [...attempt.logs, executorLog],
      outputs: [...attempt.outputs, ...reported.slice(0, room)],
    };
    if (lines.length > 0) next.system_logs = [...(attempt.system_logs ?? []), ...lines];
    const metadata: Record<string, string> = { ...attempt.metadata };
    if (ecs?.TaskArn !== undefined) metadata[ecsTaskMetadataKey(index)] = ecs.TaskArn;
    if (executorLog !== undefined) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const location = deps.logs.location(state.taskId, index, stream, ecs?.TaskArn);
        if (location !== undefined) metadata[`executor_${index}_${stream}`] = location;
      }
    }
    if (stageOut?.outputPages !== undefined && stageOut.outputCount !== undefined) metadata['outputs_total'] = String(stageOut.outputCount);
    if (Object.keys(metadata).length > 0) next.metadata = metadata;
    return [...logs.slice(0, -1), next];
  };
  for (let attempt = 0; ; attempt += 1) {
    const current = await deps.store.get(state.taskId);
    if (current === undefined) throw new Error(`task ${state.taskId} vanished`);
    let logs = update(current.logs);
    const overflow: LogOverflow = {};
    const attemptIndex = logs.length - 1;
    if (stageOut?.outputPages !== undefined && stageOutRead !== undefined) {
      overflow.outputList = { attempt: attemptIndex, executor: index, count: stageOut.outputCount ?? 0, report: stageOutRead.sha256 };
    }
    // Past LOGS_ITEM_BYTES, this run's tails and system lines are kept in the bucket (the FULL view
    // merges them back), so the item stays under DynamoDB's 400 KB however many executors log.
    if (Buffer.byteLength(JSON.stringify(logs), 'utf8') > LOGS_ITEM_BYTES) {
      const spilled = await spillRun(deps, state.taskId, index, attemptIndex, logs, current.logs.at(-1));
      if (spilled !== undefined) {
        logs = spilled.logs;
        overflow.spilled = [...(current.spilled ?? []), spilled.run];
      }
    }
    try {
      await deps.store.updateLogs(current, logs, overflow);
      break;
    } catch (error) {
      if (!(error instanceof StaleWriteError) || attempt >= 4) throw error;
    }
  }

  if (exitCode !== undefined && exitCode !== 0) outcome.executorFailed = true;
  if (systemError !== undefined) outcome.systemError = systemError;
  const current = await deps.store.get(state.taskId);
  const ignoreError = current?.task.executors[index]?.ignore_error === true;
  const goOn = systemError === undefined && (exitCode === 0 || ignoreError) && index + 1 < runs.length;
  const nextState: WorkflowState = { taskId: state.taskId, index: index + 1, runs, outcome };
  const next = runs[index + 1];
  if (goOn && next !== undefined) {
    // The next executor gets what is left of max_runtime_seconds; none left ends the task here.
    const maxRuntime = maxRuntimeSeconds(current?.task.resources);
    const timeout = runTimeoutSeconds(maxRuntime, current?.logs.at(-1)?.start_time, deps.clock.now(), deps.platform.longestRunSeconds ?? LONGEST_RUN_SECONDS);
    if (timeout === undefined) outcome.systemError = `the task ran past its max_runtime_seconds (${maxRuntime}) before executor ${index + 1} could start`;
    else nextState.run = { ...next, timeoutSeconds: timeout };
  }
  return nextState;
}
