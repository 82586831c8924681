/**
 * WorkflowPort on Step Functions. Each task's execution is named after the task id, so a retried
 * start never runs a task twice (Step Functions refuses a second execution of the same name).
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { WorkflowPort } from '../ports/workflow.js';
import { stepFunctionsClient, type AwsConfig } from './aws-clients.js';

/** The execution ARN of a task, derived from the state machine ARN and the task id. */
export function executionArn(stateMachineArn: string, taskId: string): string {
  // arn:aws:states:region:account:stateMachine:name → arn:aws:states:region:account:execution:name:taskId
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[5] !== 'stateMachine') throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return [...parts.slice(0, 5), 'execution', parts[6], taskId].join(':');
}

export class StepFunctionsWorkflow implements WorkflowPort {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
    /** To stop a canceled task's Fargate tasks ourselves, not only through StopExecution (ecs-tasks.ts). */
    private readonly stopTasks?: (arns: readonly string[], reason: string) => Promise<void>,
  ) {}

  async start(taskId: string): Promise<void> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: taskId,
          input: JSON.stringify({ taskId }),
        }),
      );
    } catch (error) {
      // Same name and same input: Step Functions answers idempotently; a clash means it already runs.
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
  }

  async status(taskId: string): Promise<'running' | 'ended' | 'absent'> {
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn: executionArn(this.stateMachineArn, taskId) }));
      return out.status === 'RUNNING' || out.status === 'PENDING_REDRIVE' ? 'running' : 'ended';
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist) return 'absent';
      throw error;
    }
  }

  async stop(taskId: string, reason: string, running?: { ecsTaskArns: string[] }): Promise<'stopped' | 'stopping'> {
    try {
      await this.client.send(
        new StopExecutionCommand({
          executionArn: executionArn(this.stateMachineArn, taskId),
          error: 'TES.Canceled',
          cause: reason.slice(0, 32_000),
        }),
      );
    } catch (error) {
      if (!(error instanceof ExecutionDoesNotExist)) throw error;
    }
    // Step Functions tries to stop the ECS task a `.sync` state started, but does not promise it:
    // stop every Fargate task of the task's runs ourselves. CANCELED then follows the ECS STOPPED event.
    const arns = running?.ecsTaskArns ?? [];
    if (this.stopTasks === undefined || arns.length === 0) return 'stopped';
    await this.stopTasks(arns, reason);
    return 'stopping';
  }
}

/** The workflow CreateTask's and CancelTask's modules give the cloud wiring (api/config.ts CloudParts). */
export function stepFunctionsWorkflow(aws: AwsConfig, stateMachineArn: string, stopTasks?: (arns: readonly string[], reason: string) => Promise<void>): StepFunctionsWorkflow {
  return new StepFunctionsWorkflow(stepFunctionsClient(aws), stateMachineArn, stopTasks);
}
