/**
 * The workflow port on the wire: Step Functions as moto's server speaks it. Executions are named by
 * task id (a second start runs nothing twice), report running, ended or absent, and stop. (Stopping
 * a canceled task's Fargate tasks is tested against a mocked ECS beside this: moto's server answered
 * the SDK's CreateCluster here with an error page.)
 */
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from '../../infra-tests/support/moto.js';
import { StepFunctionsWorkflow } from './step-functions-workflow.js';

let moto: Moto;
let sfn: SFNClient;
let stateMachineArn: string;
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

beforeAll(async () => {
  moto = await startMoto();
  sfn = new SFNClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials });
  const definition = JSON.stringify({ StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 3600, End: true } } });
  stateMachineArn = (await sfn.send(new CreateStateMachineCommand({ name: 'tes', definition, roleArn: 'arn:aws:iam::123456789012:role/sfn' }))).stateMachineArn as string;
}, 600_000);
afterAll(async () => {
  await moto?.close();
});

describe('StepFunctionsWorkflow on the wire', () => {
  it('starts one execution per task, however often it is asked, and reports it running, then ended once stopped', async () => {
    const workflow = new StepFunctionsWorkflow(sfn, stateMachineArn);
    await workflow.start('01taskaaaaaaaaaaaaaaaaaaaa');
    await workflow.start('01taskaaaaaaaaaaaaaaaaaaaa');
    const executions = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
    expect(executions.filter((e) => e.name === '01taskaaaaaaaaaaaaaaaaaaaa')).toHaveLength(1);
    expect(await workflow.status('01taskaaaaaaaaaaaaaaaaaaaa')).toBe('running');
    expect(await workflow.stop('01taskaaaaaaaaaaaaaaaaaaaa', 'canceled by its owner')).toBe('stopped');
    expect(await workflow.status('01taskaaaaaaaaaaaaaaaaaaaa')).toBe('ended');
  });

  it('reports a task that never started as absent, and stops it without error', async () => {
    const workflow = new StepFunctionsWorkflow(sfn, stateMachineArn);
    expect(await workflow.status('01tasknever000000000000000')).toBe('absent');
    expect(await workflow.stop('01tasknever000000000000000', 'canceled')).toBe('stopped');
  });
});
