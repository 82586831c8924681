/** GetTask: the caller's task in the asked view; another user's task is indistinguishable from none. */
import { TaskNotFoundError } from '../domain/errors.js';
import type { TaskRecord } from '../domain/task-record.js';
import type { TesTask, TesView } from '../domain/tes.js';
import { renderTask } from '../domain/views.js';
import type { TesDeps } from './deps.js';

/** Loads a task the caller owns, or throws a 404 that says nothing about other users' tasks. */
export async function loadOwnTask(deps: Pick<TesDeps, 'store'>, owner: string, id: string): Promise<TaskRecord> {
  const record = await deps.store.get(id);
  if (record === undefined || record.owner !== owner) throw new TaskNotFoundError(id);
  return record;
}

/** Puts large `content` inputs back from the object store (FULL view only needs them). */
export async function withContent(deps: Pick<TesDeps, 'objects'>, record: TaskRecord): Promise<TaskRecord> {
  if (record.offloaded === undefined) return record;
  const inputs = [...(record.task.inputs ?? [])];
  for (const ref of record.offloaded) {
    const input = inputs[ref.input];
    if (input !== undefined) inputs[ref.input] = { ...input, content: await deps.objects.getText(ref.key) };
  }
  return { ...record, task: { ...record.task, inputs } };
}

export async function getTask(deps: TesDeps, owner: string, id: string, view: TesView): Promise<TesTask> {
  const record = await loadOwnTask(deps, owner, id);
  return renderTask(view === 'FULL' ? await withContent(deps, record) : record, view);
}
