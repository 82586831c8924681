import { randomUUID } from 'node:crypto';
import type { TesTask } from '../../lambdas/domain/tes.js';

/** Tags every task a test run creates, so filters find only this run's tasks on a shared target. */
export const RUN_ID = `run-${randomUUID().slice(0, 8)}`;

/** A task that does nothing much; `overrides` adds what a test needs. */
export function task(overrides: Partial<TesTask> = {}): TesTask {
  return {
    executors: [{ image: 'alpine:3.20', command: ['true'] }],
    ...overrides,
    tags: { run: RUN_ID, ...overrides.tags },
  };
}
