import type { TaskDefinition } from '../domain/task-definition.js';

/** Registers executor task definitions, reusing one that already exists for the same content. */
export interface TaskDefinitionRegistry {
  /** The ARN of a registered definition equal to `definition` (registering it if needed). */
  ensure(definition: TaskDefinition): Promise<string>;
}

/** Thrown when registration is throttled; the workflow retries it with backoff. */
export class RegistrationThrottledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TES.Throttled';
  }
}
