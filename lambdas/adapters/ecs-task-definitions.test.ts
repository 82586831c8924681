/** The ECS registry against a mocked ECS API, for what moto does not do (throttling, racing registrations); the wire is tested in ecs-task-definitions.moto.test.ts. */
import { ClientException, DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { fargateSize } from '../domain/fargate.js';
import { executorTaskDefinition } from '../domain/task-definition.js';
import { RegistrationThrottledError } from '../ports/task-definitions.js';
import { EcsTaskDefinitions } from './ecs-task-definitions.js';

const ecs = mockClient(ECSClient);
const platform = { runtimeImage: 'runtime:1', executorUser: '1000:1000', logGroup: 'g', region: 'eu-west-1', cluster: 'c', subnets: ['s'], securityGroups: ['sg'] };
const definition = executorTaskDefinition({ image: 'ubuntu:24.04', command: ['echo', 'hi'] }, ['/data'], fargateSize(undefined, { spotAllowed: false }), platform);

beforeEach(() => ecs.reset());

describe('EcsTaskDefinitions', () => {
  it('reuses an ACTIVE definition of the same content without registering', async () => {
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: 'arn:td:1', status: 'ACTIVE' } });
    const registry = new EcsTaskDefinitions(new ECSClient({ region: 'eu-west-1' }));
    expect(await registry.ensure(definition)).toBe('arn:td:1');
    expect(await registry.ensure(definition)).toBe('arn:td:1');
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(1);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('registers the hardened definition when its family does not exist yet', async () => {
    ecs.on(DescribeTaskDefinitionCommand).rejects(new ClientException({ message: 'Unable to describe task definition.', $metadata: {} }));
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: 'arn:td:new' } });
    const registry = new EcsTaskDefinitions(new ECSClient({ region: 'eu-west-1' }));
    expect(await registry.ensure(definition)).toBe('arn:td:new');
    const input = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    expect(input?.family).toBe(definition.family);
    expect(input).not.toHaveProperty('taskRoleArn');
    const executor = input?.containerDefinitions?.find((c) => c.name === 'executor');
    expect(executor).toMatchObject({
      user: '1000:1000',
      readonlyRootFilesystem: true,
      privileged: false,
      entryPoint: ['echo'],
      linuxParameters: { capabilities: { drop: ['ALL'] }, initProcessEnabled: true },
    });
  });

  it.each([
    ['throttling', 'Rate exceeded'],
    // What ECS answers when registrations of one new family race (a burst of tasks with a new image).
    ['concurrent registrations of one family', 'Too many concurrent attempts to create a new revision of the specified family.'],
  ])('reports %s so the workflow retries with backoff', async (_what, message) => {
    ecs.on(DescribeTaskDefinitionCommand).rejects(new ClientException({ message: 'Unable to describe task definition.', $metadata: {} }));
    ecs.on(RegisterTaskDefinitionCommand).rejects(new ClientException({ message, $metadata: {} }));
    const registry = new EcsTaskDefinitions(new ECSClient({ region: 'eu-west-1' }));
    const error = await registry.ensure(definition).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistrationThrottledError);
    expect((error as Error).name).toBe('TES.Throttled');
  });

  it('passes on any other refusal as it is (the workflow ends the task SYSTEM_ERROR saying why)', async () => {
    ecs.on(DescribeTaskDefinitionCommand).rejects(new ClientException({ message: 'Unable to describe task definition.', $metadata: {} }));
    ecs.on(RegisterTaskDefinitionCommand).rejects(new ClientException({ message: 'Invalid setting for container', $metadata: {} }));
    const error = await new EcsTaskDefinitions(new ECSClient({ region: 'eu-west-1' })).ensure(definition).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientException);
  });
});
