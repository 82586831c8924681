import type { FargatePrices, SizingPolicy } from '../domain/fargate.js';
import type { StagingTokens } from '../domain/staging-token.js';
import type { ExecutorPlatform } from '../domain/task-definition.js';
import type { Clock } from '../ports/clock.js';
import type { LogStore } from '../ports/log-store.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { TaskDefinitionRegistry } from '../ports/task-definitions.js';
import type { TaskStore } from '../ports/task-store.js';

/** What the workflow's handlers need, injected (Lambda wiring in AWS, in-process locally). */
export interface WorkflowDeps {
  store: TaskStore;
  objects: ObjectStore;
  registry: TaskDefinitionRegistry;
  /** Signs staging tickets: only where TES_STAGING_SECRET is (Prepare, Record and the broker in AWS). */
  stagingTokens?: StagingTokens;
  platform: ExecutorPlatform;
  sizing: SizingPolicy;
  clock: Clock;
  logs: LogStore;
  /** The prices the cost estimate uses (TES_FARGATE_PRICES; default us-east-1 list prices). */
  prices?: FargatePrices;
  /** Where stage-in/out reach the staging broker over HTTP. */
  brokerUrl?: string;
  /** Non-public hosts and CIDRs http(s) inputs may be fetched from (TES_HTTP_INPUT_ALLOW), for stage-in. */
  httpInputAllow?: string;
  /** Stops a task's executors (its Fargate tasks by ARN, as the workflow noted them), when the workflow gives up on them. */
  stopExecutors?: (taskId: string, ecsTaskArns: string[], reason: string) => Promise<void>;
}
