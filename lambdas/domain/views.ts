/**
 * The three task views. MINIMAL: id and state only. BASIC: everything except executor
 * stdout/stderr, input content and system logs. FULL: everything.
 */
import { toSpecShape } from './spec-shape.js';
import type { TaskRecord, TaskSummary } from './task-record.js';
import type { TesTask, TesView } from './tes.js';

export function minimalView(summary: Pick<TaskSummary, 'id' | 'state'>): TesTask {
  return { id: summary.id, state: summary.state } as TesTask;
}

/** Renders a stored task in a view; the result holds only spec fields and no nulls. */
export function renderTask(record: TaskRecord, view: TesView): TesTask {
  if (view === 'MINIMAL') return minimalView(record);
  const { inputs: sentInputs, outputs: sentOutputs } = record.task;
  const full: TesTask = {
    id: record.id,
    state: record.state,
    ...record.task,
    // The type the server stages them as, once known: the schema's default, FILE, when none was sent.
    ...(sentInputs === undefined ? {} : { inputs: sentInputs.map((input) => ({ ...input, type: input.type ?? 'FILE' })) }),
    ...(sentOutputs === undefined ? {} : { outputs: sentOutputs.map((output) => ({ ...output, type: output.type ?? 'FILE' })) }),
    logs: record.logs,
    creation_time: record.creationTime,
  };
  const shaped = toSpecShape('tesTask', full);
  if (view === 'FULL') return shaped;
  const { inputs, logs, ...rest } = shaped;
  return {
    ...rest,
    ...(inputs === undefined ? {} : { inputs: inputs.map(({ content: _content, ...input }) => input) }),
    ...(logs === undefined
      ? {}
      : {
          logs: logs.map(({ system_logs: _systemLogs, ...log }) => ({
            ...log,
            logs: log.logs.map(({ stdout: _stdout, stderr: _stderr, ...executorLog }) => executorLog),
          })),
        }),
  };
}
