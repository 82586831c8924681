/**
 * TaskDefinitionRegistry on ECS. A definition's family is a hash of its content, so any ACTIVE
 * revision of that family is the same definition: reuse it, register only when there is none.
 * RegisterTaskDefinition is throttled hard (about one a second), and concurrent registrations of one
 * family fail; either becomes RegistrationThrottledError, which the workflow retries with backoff.
 */
import {
  ClientException,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import type { TaskDefinition } from '../domain/task-definition.js';
import { RegistrationThrottledError, type TaskDefinitionRegistry } from '../ports/task-definitions.js';

/**
 * Throttling, and ECS's answer to registrations of one family racing each other (a burst of tasks
 * with a new image): "Too many concurrent attempts to create a new revision of the specified
 * family." Both pass; a retry finds the revision another Prepare registered.
 */
function isThrottle(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e.name === 'ThrottlingException' || /rate exceeded|throttl|too many concurrent attempts/i.test(e.message ?? '');
}

export class EcsTaskDefinitions implements TaskDefinitionRegistry {
  /** Family → ARN, kept for the life of the function's container. */
  private readonly known = new Map<string, string>();

  constructor(private readonly ecs: ECSClient) {}

  async ensure(definition: TaskDefinition): Promise<string> {
    const cached = this.known.get(definition.family);
    if (cached !== undefined) return cached;
    try {
      const existing = await this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: definition.family }));
      const arn = existing.taskDefinition?.taskDefinitionArn;
      if (arn !== undefined && existing.taskDefinition?.status === 'ACTIVE') {
        this.known.set(definition.family, arn);
        return arn;
      }
    } catch (error) {
      if (isThrottle(error)) throw new RegistrationThrottledError(`DescribeTaskDefinition throttled: ${(error as Error).message}`);
      if (!(error instanceof ClientException)) throw error;
      // ClientException: no such family yet.
    }
    try {
      const registered = await this.ecs.send(
        new RegisterTaskDefinitionCommand({
          ...(definition as unknown as RegisterTaskDefinitionCommandInput),
          tags: [{ key: 'tes:managed', value: 'true' }],
        }),
      );
      const arn = registered.taskDefinition?.taskDefinitionArn;
      if (arn === undefined) throw new Error('RegisterTaskDefinition returned no ARN');
      this.known.set(definition.family, arn);
      return arn;
    } catch (error) {
      if (isThrottle(error)) throw new RegistrationThrottledError(`RegisterTaskDefinition throttled: ${(error as Error).message}`);
      throw error;
    }
  }
}
