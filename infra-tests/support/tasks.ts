import { randomUUID } from 'node:crypto';
import type { TesTask } from '../../lambdas/domain/tes.js';
import { TEST_IMAGE } from './test-image.js';

/** Tags every task a test run creates, so filters find only this run's tasks on a shared target. */
export const RUN_ID = `run-${randomUUID().slice(0, 8)}`;

/** A task that does nothing much; `overrides` adds what a test needs. */
export function task(overrides: Partial<TesTask> = {}): TesTask {
  return {
    executors: [{ image: TEST_IMAGE, command: ['true'] }],
    ...overrides,
    tags: { run: RUN_ID, ...overrides.tags },
  };
}

export const TERMINAL_STATES = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

/** Polls a task (FULL view) until it reaches a terminal state, or fails after `timeoutMs`. */
export async function waitForTerminal(
  get: (path: string) => Promise<{ status: number; body: TesTask }>,
  id: string,
  timeoutMs = 60_000,
): Promise<TesTask> {
  const deadline = Date.now() + timeoutMs;
  let last: TesTask | undefined;
  while (Date.now() < deadline) {
    const reply = await get(`/tasks/${id}?view=FULL`);
    last = reply.body;
    if (TERMINAL_STATES.includes(last.state ?? '')) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`task ${id} did not end within ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
}
