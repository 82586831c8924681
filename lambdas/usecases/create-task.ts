/**
 * CreateTask. Primary course: accept the document (or 400 with every problem, including any URL
 * outside the caller's storage scopes), move large
 * `content` inputs to the object store, store the task QUEUED for its owner, start its workflow.
 * If the workflow cannot be started the task ends SYSTEM_ERROR with the reason in its system logs,
 * so nothing is left QUEUED forever.
 */
import { createHash } from 'node:crypto';
import type { Caller } from '../domain/caller.js';
import { BadRequestError, InvalidTaskError } from '../domain/errors.js';
import { scopesOf, storageProblems } from '../domain/storage-policy.js';
import { acceptTaskRequest } from '../domain/task-request.js';
import { OFFLOAD_CONTENT_BYTES, type OffloadedContent, type TaskRecord } from '../domain/task-record.js';
import type { TesCreateTaskResponse, TesTask, TesTaskLog } from '../domain/tes.js';
import { storagePolicyOf, type TesDeps } from './deps.js';
import { endWithSystemError } from './transitions.js';

/**
 * What a DynamoDB item may hold of the task document once large content is moved out; the rest of
 * the item's 400 KB is for its logs (domain/output-list.ts).
 */
export const MAX_STORED_TASK_BYTES = 256 * 1024;

export function contentKey(taskId: string, inputIndex: number): string {
  return `tasks/${taskId}/inputs/${inputIndex}/content`;
}

async function offloadContent(deps: TesDeps, id: string, task: TesTask): Promise<OffloadedContent[]> {
  const offloaded: OffloadedContent[] = [];
  const inputs = task.inputs ?? [];
  for (const [index, input] of inputs.entries()) {
    if (input.content === undefined) continue;
    const bytes = Buffer.byteLength(input.content, 'utf8');
    if (bytes < OFFLOAD_CONTENT_BYTES) continue;
    const key = contentKey(id, index);
    await deps.objects.put(key, input.content);
    // Stage-in checks what it fetched against this hash: a changed object fails the task, never runs.
    const sha256 = createHash('sha256').update(input.content, 'utf8').digest('hex');
    delete input.content;
    offloaded.push({ input: index, key, bytes, sha256 });
  }
  return offloaded;
}

export async function createTask(deps: TesDeps, caller: Caller, body: unknown): Promise<TesCreateTaskResponse> {
  const policy = storagePolicyOf(deps);
  const { task, warnings } = acceptTaskRequest(body, deps.admission, policy);
  // Every URL the task names must lie in its owner's storage scopes (the broker checks again at run time).
  const refused = storageProblems(task, policy, scopesOf(policy, caller));
  if (refused.length > 0) throw new InvalidTaskError(refused);
  await deps.workflow.ensureReady?.();
  const now = deps.clock.now();
  const id = deps.ids.next(now);
  const offloaded = await offloadContent(deps, id, task);
  const storedBytes = Buffer.byteLength(JSON.stringify(task), 'utf8');
  if (storedBytes > MAX_STORED_TASK_BYTES) {
    throw new BadRequestError(
      'TASK_TOO_LARGE',
      `the task document is ${storedBytes} bytes without its large content inputs; the limit is ${MAX_STORED_TASK_BYTES} (move large commands or env into a content input)`,
    );
  }
  const logs: TesTaskLog[] = warnings.length === 0 ? [] : [{ logs: [], outputs: [], system_logs: warnings }];
  const record: TaskRecord = {
    id,
    owner: caller.owner,
    ...(caller.admin ? { admin: true } : {}),
    state: 'QUEUED',
    version: 1,
    creationTime: now.toISOString(),
    task,
    logs,
  };
  if (offloaded.length > 0) record.offloaded = offloaded;
  await deps.store.create(record);
  try {
    await deps.workflow.start(id);
  } catch (error) {
    await endWithSystemError(deps, record, `the task's workflow could not be started (${(error as Error).name})`);
  }
  return { id };
}
