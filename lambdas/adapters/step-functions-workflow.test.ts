/** The Step Functions workflow port against mocked AWS APIs (no stand-in exists for them here). */
import { ECSClient, InvalidParameterException, StopTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, ExecutionAlreadyExists, ExecutionDoesNotExist, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ecsTaskStopper } from './ecs-tasks.js';
import { executionArn, StepFunctionsWorkflow } from './step-functions-workflow.js';

const sfn = mockClient(SFNClient);
const ecs = mockClient(ECSClient);
const machine = 'arn:aws:states:eu-west-1:123456789012:stateMachine:tes-tasks';
const workflow = () =>
  new StepFunctionsWorkflow(new SFNClient({ region: 'eu-west-1' }), machine, ecsTaskStopper('eu-west-1', 'tes'));

beforeEach(() => {
  sfn.reset();
  ecs.reset();
});

describe('StepFunctionsWorkflow', () => {
  it('names each execution after its task, so a second start runs nothing twice', async () => {
    sfn.on(StartExecutionCommand).resolvesOnce({}).rejectsOnce(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    await workflow().start('01abc');
    await workflow().start('01abc');
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: machine, name: '01abc', input: '{"taskId":"01abc"}' },
      { stateMachineArn: machine, name: '01abc', input: '{"taskId":"01abc"}' },
    ]);
  });

  it('derives the execution ARN from the state machine and the task id', () => {
    expect(executionArn(machine, '01abc')).toBe('arn:aws:states:eu-west-1:123456789012:execution:tes-tasks:01abc');
  });

  it('stops the execution and every Fargate task of the task, ignoring ones already gone', async () => {
    sfn.on(StopExecutionCommand).resolves({});
    ecs.on(StopTaskCommand, { task: 'arn:task/1' }).resolves({});
    ecs.on(StopTaskCommand, { task: 'arn:task/2' }).rejects(new InvalidParameterException({ message: 'The referenced task was not found.', $metadata: {} }));
    expect(await workflow().stop('01abc', 'canceled by alice', { ecsTaskArns: ['arn:task/1', 'arn:task/2'] })).toBe('stopping');
    expect(sfn.commandCalls(StopExecutionCommand)[0]?.args[0].input).toMatchObject({ executionArn: executionArn(machine, '01abc'), error: 'TES.Canceled' });
    expect(ecs.commandCalls(StopTaskCommand).map((c) => c.args[0].input.task)).toEqual(['arn:task/1', 'arn:task/2']);
  });

  it('is done at once when nothing ran yet, or the execution is already gone', async () => {
    sfn.on(StopExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'gone', $metadata: {} }));
    expect(await workflow().stop('01abc', 'canceled', { ecsTaskArns: [] })).toBe('stopped');
  });

  it('reports an execution as running, ended or absent for the reconciler', async () => {
    sfn.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING' }).resolvesOnce({ status: 'FAILED' }).rejectsOnce(new ExecutionDoesNotExist({ message: 'no', $metadata: {} }));
    expect(await workflow().status('a')).toBe('running');
    expect(await workflow().status('b')).toBe('ended');
    expect(await workflow().status('c')).toBe('absent');
  });
});
