/** The local task-definition registry: what Prepare registers, kept for the local ECS runner to read. */
import type { TaskDefinition } from '../domain/task-definition.js';
import type { TaskDefinitionRegistry } from '../ports/task-definitions.js';

export class LocalTaskDefinitions implements TaskDefinitionRegistry {
  private readonly byArn = new Map<string, TaskDefinition>();
  registrations = 0;

  ensure(definition: TaskDefinition): Promise<string> {
    const arn = `arn:aws:ecs:local:000000000000:task-definition/${definition.family}:1`;
    if (!this.byArn.has(arn)) {
      this.registrations += 1;
      this.byArn.set(arn, definition);
    }
    return Promise.resolve(arn);
  }

  get(arn: string): TaskDefinition | undefined {
    return this.byArn.get(arn);
  }
}
