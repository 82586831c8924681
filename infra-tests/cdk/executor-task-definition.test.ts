/**
 * The executor task definitions Prepare registers at run time, asserted on Prepare's own output:
 * these never appear in a template, so this is where their hardening is proven.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StagingTokens } from '../../lambdas/domain/staging-token.js';
import type { TaskDefinition } from '../../lambdas/domain/task-definition.js';
import type { TaskRecord } from '../../lambdas/domain/task-record.js';
import { startTestTable, type TestTable } from '../../lambdas/testing/dynamo.js';
import { MemoryObjects } from '../../lambdas/testing/memory-objects.js';
import { prepare } from '../../lambdas/workflow/prepare.js';
import type { WorkflowState } from '../../lambdas/workflow/state.js';

let table: TestTable;
const registered: TaskDefinition[] = [];
let state: WorkflowState;

beforeAll(async () => {
  table = await startTestTable('tes-prepare');
  const record: TaskRecord = {
    id: '01preparetask000000000000a',
    owner: 'o',
    state: 'QUEUED',
    version: 1,
    creationTime: new Date().toISOString(),
    task: {
      inputs: [{ path: '/data/in.txt', content: 'x' }],
      outputs: [{ path: '/data/out.txt', url: 's3://b/out.txt' }],
      resources: { cpu_cores: 2, ram_gb: 8, disk_gb: 100, preemptible: true },
      executors: [
        { image: 'ubuntu:24.04', command: ['bash', '-c', 'echo "$X" > /data/out.txt'], env: { X: 'y' }, workdir: '/data' },
        { image: 'public.ecr.aws/docker/library/alpine:3', command: ['wc', '-l'], stdin: '/data/out.txt', stdout: '/data/count.txt' },
      ],
    },
    logs: [],
  };
  await table.store.create(record);
  state = await prepare(
    {
      store: table.store,
      objects: new MemoryObjects(),
      registry: {
        ensure: (definition) => {
          registered.push(definition);
          return Promise.resolve(`arn:aws:ecs:eu-west-1:1:task-definition/${definition.family}:1`);
        },
      },
      stagingTokens: new StagingTokens(Buffer.alloc(32, 1)),
      platform: {
        runtimeImage: '1.dkr.ecr.eu-west-1.amazonaws.com/runtime:1',
        executorUser: '1000:1000',
        executionRoleArn: 'arn:aws:iam::1:role/execution',
        logGroup: 'executors',
        region: 'eu-west-1',
        cluster: 'arn:aws:ecs:eu-west-1:1:cluster/tes',
        subnets: ['subnet-1'],
        securityGroups: ['sg-1'],
      },
      sizing: { spotAllowed: true },
      clock: { now: () => new Date() },
      logs: { tail: () => Promise.resolve(undefined), location: () => undefined },
      brokerUrl: 'https://broker.example/staging',
      httpInputAllow: '10.20.0.0/16',
    },
    { taskId: record.id },
  );
});
afterAll(async () => {
  await table.close();
});

const container = (definition: TaskDefinition, name: string) => definition.containerDefinitions.find((c) => c.name === name);

describe('the executor task definitions Prepare registers', () => {
  it('registers one per executor and plans one run each', () => {
    expect(registered).toHaveLength(2);
    expect(state.runs).toHaveLength(2);
    expect(state.run).toEqual(state.runs?.[0]);
  });

  it('run the executor non-root, read-only, without capabilities or privilege, with an init process', () => {
    for (const definition of registered) {
      const executor = container(definition, 'executor');
      expect(executor).toMatchObject({
        user: '1000:1000',
        readonlyRootFilesystem: true,
        privileged: false,
        linuxParameters: { capabilities: { drop: ['ALL'] }, initProcessEnabled: true },
      });
      expect(executor?.linuxParameters.capabilities.add).toBeUndefined();
      expect(executor?.linuxParameters.tmpfs?.map((t) => t.containerPath).sort()).toEqual(['/home/tes', '/tmp']);
    }
  });

  it('give the task no role at all: nothing inside holds AWS credentials', () => {
    for (const definition of registered) {
      expect(definition).not.toHaveProperty('taskRoleArn');
      expect(definition.executionRoleArn).toBe('arn:aws:iam::1:role/execution');
    }
  });

  it('run argv exactly: command[0] is the entry point, the rest the command', () => {
    expect(container(registered[0] as TaskDefinition, 'executor')?.entryPoint).toEqual(['bash']);
    const run = state.runs?.[0]?.overrides.ContainerOverrides.find((o) => o.Name === 'executor');
    expect(run?.Command).toEqual(['-c', 'echo "$X" > /data/out.txt']);
    expect(run?.Environment).toEqual(expect.arrayContaining([{ Name: 'X', Value: 'y' }, { Name: 'HOME', Value: '/home/tes' }]));
    expect(container(registered[1] as TaskDefinition, 'executor')?.entryPoint).toEqual(['/bin/sh', '-c', 'exec "$@" <"$TES_STDIN" >"$TES_STDOUT"', 'tes-executor']);
  });

  it('give stage-in and stage-out only CHOWN, FOWNER and DAC_OVERRIDE, and the staging ticket to stage-in alone', () => {
    for (const definition of registered) {
      for (const name of ['stage-in', 'stage-out']) {
        const dropped = container(definition, name)?.linuxParameters.capabilities.drop ?? [];
        for (const kept of ['CHOWN', 'FOWNER', 'DAC_OVERRIDE']) expect(dropped).not.toContain(kept);
        for (const gone of ['SETUID', 'SETGID', 'NET_RAW', 'SYS_CHROOT', 'KILL', 'MKNOD']) expect(dropped).toContain(gone);
        expect(container(definition, name)?.readonlyRootFilesystem).toBe(true);
      }
    }
    const overrides = state.runs?.[0]?.overrides.ContainerOverrides ?? [];
    // Stage-out gets the session stage-in traded the ticket for, in their own volume: no session token is in any override.
    const ticketHolders = overrides.filter((o) => o.Environment.some((e) => e.Name === 'TES_STAGING_TICKET')).map((o) => o.Name);
    expect(ticketHolders).toEqual(['stage-in']);
    expect(JSON.stringify(overrides)).not.toContain('TES_STAGING_TOKEN');
  });

  it("tell staging the task's disk and the operator's allowance for http(s) inputs, and the executor neither", () => {
    const overrides = state.runs?.[0]?.overrides.ContainerOverrides ?? [];
    const env = (name: string) => Object.fromEntries(overrides.find((o) => o.Name === name)?.Environment.map((e) => [e.Name, e.Value]) ?? []);
    const diskBytes = String((state.runs?.[0]?.overrides.EphemeralStorage?.SizeInGiB ?? 20) * 1024 ** 3);
    for (const name of ['stage-in', 'stage-out']) expect(env(name)).toMatchObject({ TES_DISK_LIMIT_BYTES: diskBytes, TES_HTTP_INPUT_ALLOW: '10.20.0.0/16' });
    expect(env('executor')).not.toHaveProperty('TES_HTTP_INPUT_ALLOW');
    expect(env('executor')).not.toHaveProperty('TES_DISK_LIMIT_BYTES');
  });

  it('order the containers: executor after stage-in succeeded, stage-out (essential) after the executor ended', () => {
    const definition = registered[0] as TaskDefinition;
    expect(container(definition, 'executor')?.dependsOn).toEqual([{ containerName: 'stage-in', condition: 'SUCCESS' }]);
    expect(container(definition, 'stage-out')?.dependsOn).toEqual([{ containerName: 'executor', condition: 'COMPLETE' }]);
    expect(definition.containerDefinitions.map((c) => [c.name, c.essential])).toEqual([
      ['stage-in', false],
      ['executor', false],
      ['stage-out', true],
    ]);
  });

  it('size the run from the resources: cheapest covering Fargate size, disk as ephemeral storage, Spot for preemptible', () => {
    const run = state.runs?.[0];
    expect(run?.overrides).toMatchObject({ Cpu: '2048', Memory: '8192', EphemeralStorage: { SizeInGiB: 100 } });
    expect(run?.capacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
    expect(run?.networkConfiguration).toEqual({ AwsvpcConfiguration: { Subnets: ['subnet-1'], SecurityGroups: ['sg-1'], AssignPublicIp: 'DISABLED' } });
  });

  it('keep every run’s overrides under ECS’s 8 KiB', () => {
    for (const run of state.runs ?? []) expect(JSON.stringify(run.overrides).length).toBeLessThan(8192);
  });
});
