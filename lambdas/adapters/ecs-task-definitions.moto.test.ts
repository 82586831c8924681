/**
 * The ECS task definition registry on the wire: ECS as moto's server speaks it. A family not there
 * yet is registered with the hardened definition; an ACTIVE one is reused, also by a registry that
 * never saw it (another Prepare). Throttling, which moto does not do, is in the mocked test beside this.
 */
import { DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from '../../infra-tests/support/moto.js';
import { fargateSize } from '../domain/fargate.js';
import { executorTaskDefinition } from '../domain/task-definition.js';
import { EcsTaskDefinitions } from './ecs-task-definitions.js';

let moto: Moto;
let ecs: ECSClient;
const platform = { runtimeImage: 'runtime:1', executorUser: '1000:1000', logGroup: 'g', region: 'eu-west-1', cluster: 'c', subnets: ['s'], securityGroups: ['sg'] };

beforeAll(async () => {
  moto = await startMoto();
  ecs = new ECSClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}, 600_000);
afterAll(async () => {
  await moto?.close();
});

describe('EcsTaskDefinitions on the wire', () => {
  it('registers a new family once, hardened, and every registry reuses it', async () => {
    const definition = executorTaskDefinition({ image: 'ubuntu:24.04', command: ['echo', 'hi'] }, ['/data'], fargateSize(undefined, { spotAllowed: false }), platform);
    const first = await new EcsTaskDefinitions(ecs).ensure(definition);
    expect(first).toMatch(new RegExp(`:task-definition/${definition.family}:1$`));
    // Another function instance (another Prepare) finds the same revision instead of registering one.
    expect(await new EcsTaskDefinitions(ecs).ensure(definition)).toBe(first);
    const described = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: definition.family }))).taskDefinition;
    expect(described?.revision).toBe(1);
    expect(described?.taskRoleArn).toBeUndefined();
    const executor = described?.containerDefinitions?.find((c) => c.name === 'executor');
    expect(executor).toMatchObject({ user: '1000:1000', readonlyRootFilesystem: true, privileged: false, entryPoint: ['echo'] });
    expect(executor?.linuxParameters?.capabilities?.drop).toEqual(['ALL']);
  });

  it('gives another layout a family of its own', async () => {
    const size = fargateSize(undefined, { spotAllowed: false });
    const one = await new EcsTaskDefinitions(ecs).ensure(executorTaskDefinition({ image: 'alpine:3', command: ['true'] }, ['/a'], size, platform));
    const two = await new EcsTaskDefinitions(ecs).ensure(executorTaskDefinition({ image: 'alpine:3', command: ['true'] }, ['/b'], size, platform));
    expect(one).not.toBe(two);
  });
});
