/**
 * The ECS task definition one executor runs in, and the RunTask plan that starts it. ECS cannot
 * override the image, entry point, user or mounts at RunTask, so those go in the definition (keyed
 * by a hash of them, so equal executors share one); command, environment and size go in overrides.
 *
 * Three containers share the task's mount directories as volumes:
 *  - `stage-in` (our runtime image): creates the directories, fetches inputs, hands them to the
 *    executor's uid. Root in its container but with only CHOWN, FOWNER and DAC_OVERRIDE.
 *  - `executor` (the user's image): non-root, read-only root filesystem, no capabilities at all,
 *    an init process, writable /tmp and $HOME, exact argv.
 *  - `stage-out` (our runtime image, essential): uploads outputs also after a failed executor.
 * The task has no task role: nothing in it holds AWS credentials.
 */
import { createHash } from 'node:crypto';
import { executorLaunch } from './executor-launch.js';
import type { FargateSize } from './fargate.js';
import type { TesExecutor } from './tes.js';

export const CONTAINERS = { stageIn: 'stage-in', executor: 'executor', stageOut: 'stage-out' } as const;

/** Every Linux capability Docker grants by default except the three stage-in needs to hand files over. */
export const STAGE_IN_DROPPED_CAPABILITIES = [
  'AUDIT_WRITE',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];

export const EXECUTOR_HOME = '/home/tes';
/** Where stage-in/out build and unpack archives: their own volume, never mounted in the executor. */
export const SCRATCH_PATH = '/tes-scratch';
const SCRATCH_VOLUME = 'scratch';
/** How long an executor gets between SIGTERM and SIGKILL (Fargate's maximum). */
export const STOP_TIMEOUT_SECONDS = 120;

export interface ExecutorPlatform {
  /** Our stage-in/stage-out image. */
  runtimeImage: string;
  /** Numeric uid:gid the executor runs as. */
  executorUser: string;
  /** Lets ECS pull images and write logs; not visible inside the containers. */
  executionRoleArn?: string;
  logGroup: string;
  region: string;
  cluster: string;
  subnets: string[];
  securityGroups: string[];
  /** The longest one executor may run (default a year, Step Functions' limit for an execution). */
  longestRunSeconds?: number;
}

/** Step Functions runs a standard execution for at most a year. */
export const LONGEST_RUN_SECONDS = 365 * 24 * 3600;

interface KeyValue {
  name: string;
  value: string;
}

interface MountPoint {
  sourceVolume: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ContainerDefinition {
  name: string;
  image: string;
  essential: boolean;
  user: string;
  entryPoint?: string[];
  command?: string[];
  workingDirectory?: string;
  environment?: KeyValue[];
  readonlyRootFilesystem: boolean;
  privileged: false;
  mountPoints: MountPoint[];
  dependsOn?: { containerName: string; condition: 'SUCCESS' | 'COMPLETE' | 'START' }[];
  linuxParameters: {
    capabilities: { add?: string[]; drop: string[] };
    initProcessEnabled: boolean;
    tmpfs?: { containerPath: string; size: number; mountOptions: string[] }[];
  };
  stopTimeout?: number;
  logConfiguration: { logDriver: 'awslogs'; options: Record<string, string> };
}

export interface TaskDefinition {
  family: string;
  requiresCompatibilities: ['FARGATE'];
  networkMode: 'awsvpc';
  cpu: string;
  memory: string;
  runtimePlatform: { cpuArchitecture: 'X86_64' | 'ARM64'; operatingSystemFamily: 'LINUX' };
  executionRoleArn?: string;
  volumes: { name: string }[];
  containerDefinitions: ContainerDefinition[];
}

function logConfiguration(platform: ExecutorPlatform, container: string): ContainerDefinition['logConfiguration'] {
  return {
    logDriver: 'awslogs',
    options: {
      'awslogs-group': platform.logGroup,
      'awslogs-region': platform.region,
      'awslogs-stream-prefix': container,
      mode: 'non-blocking',
      'max-buffer-size': '4m',
    },
  };
}

function volumeName(index: number): string {
  return `mount${index}`;
}

/** The task definition executor `executor` runs in, with `mounts` shared by its three containers. */
export function executorTaskDefinition(
  executor: TesExecutor,
  mounts: readonly string[],
  size: Pick<FargateSize, 'architecture'>,
  platform: ExecutorPlatform,
): TaskDefinition {
  const mountPoints = mounts.map((containerPath, i) => ({ sourceVolume: volumeName(i), containerPath, readOnly: false }));
  const launch = executorLaunch(executor);
  const tmpfs = [{ containerPath: EXECUTOR_HOME, size: 256, mountOptions: ['rw', 'nosuid', 'nodev', 'mode=1777'] }];
  if (!mounts.some((m) => m === '/tmp' || '/tmp'.startsWith(`${m}/`))) {
    tmpfs.push({ containerPath: '/tmp', size: 1024, mountOptions: ['rw', 'nosuid', 'nodev', 'mode=1777'] });
  }
  const runtime = (name: string, command: string[]): ContainerDefinition => ({
    name,
    image: platform.runtimeImage,
    essential: name === CONTAINERS.stageOut,
    user: '0:0',
    command,
    readonlyRootFilesystem: true,
    privileged: false,
    mountPoints: [...mountPoints, { sourceVolume: SCRATCH_VOLUME, containerPath: SCRATCH_PATH, readOnly: false }],
    linuxParameters: { capabilities: { drop: STAGE_IN_DROPPED_CAPABILITIES }, initProcessEnabled: true },
    logConfiguration: logConfiguration(platform, name),
  });
  const definition: Omit<TaskDefinition, 'family'> = {
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    // The size is set per run in the RunTask overrides; this is only the definition's default.
    cpu: '1024',
    memory: '2048',
    runtimePlatform: { cpuArchitecture: size.architecture, operatingSystemFamily: 'LINUX' },
    ...(platform.executionRoleArn === undefined ? {} : { executionRoleArn: platform.executionRoleArn }),
    volumes: [...mounts.map((_, i) => ({ name: volumeName(i) })), { name: SCRATCH_VOLUME }],
    containerDefinitions: [
      runtime(CONTAINERS.stageIn, ['stage-in']),
      {
        name: CONTAINERS.executor,
        image: executor.image,
        essential: false,
        user: platform.executorUser,
        entryPoint: launch.entryPoint,
        ...(executor.workdir === undefined ? {} : { workingDirectory: executor.workdir }),
        readonlyRootFilesystem: true,
        privileged: false,
        mountPoints,
        dependsOn: [{ containerName: CONTAINERS.stageIn, condition: 'SUCCESS' }],
        linuxParameters: { capabilities: { drop: ['ALL'] }, initProcessEnabled: true, tmpfs },
        stopTimeout: STOP_TIMEOUT_SECONDS,
        logConfiguration: logConfiguration(platform, CONTAINERS.executor),
      },
      {
        ...runtime(CONTAINERS.stageOut, ['stage-out']),
        dependsOn: [{ containerName: CONTAINERS.executor, condition: 'COMPLETE' }],
      },
    ],
  };
  const hash = createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 32);
  return { family: `tes-${hash}`, ...definition };
}

/** What RunTask needs for one executor, in the Step Functions (PascalCase) parameter shape. */
export interface RunPlan {
  cluster: string;
  taskDefinition: string;
  group: string;
  capacityProviderStrategy: { CapacityProvider: 'FARGATE' | 'FARGATE_SPOT'; Weight: number }[];
  /** How long the workflow waits for this run before it stops it (what is left of max_runtime_seconds). */
  timeoutSeconds: number;
  networkConfiguration: { AwsvpcConfiguration: { Subnets: string[]; SecurityGroups: string[]; AssignPublicIp: 'DISABLED' } };
  overrides: {
    Cpu: string;
    Memory: string;
    EphemeralStorage?: { SizeInGiB: number };
    ContainerOverrides: { Name: string; Command?: string[]; Environment: { Name: string; Value: string }[] }[];
  };
}

/** RunTask overrides are capped at 8 KiB (JSON, formatting included); leave room for the rest. */
export const MAX_EXECUTOR_OVERRIDE_BYTES = 6 * 1024;

function env(values: Record<string, string>): { Name: string; Value: string }[] {
  return Object.entries(values).map(([Name, Value]) => ({ Name, Value }));
}

export function runPlan(args: {
  taskId: string;
  executorIndex: number;
  executor: TesExecutor;
  taskDefinitionArn: string;
  size: FargateSize;
  platform: ExecutorPlatform;
  stagingEnvironment: Record<string, string>;
  /** The run's staging ticket: stage-in's alone (stage-out gets the session from stage-in). */
  ticket: string;
  timeoutSeconds: number;
}): RunPlan {
  const launch = executorLaunch(args.executor);
  const executorEnv = { HOME: EXECUTOR_HOME, ...launch.environment };
  return {
    cluster: args.platform.cluster,
    taskDefinition: args.taskDefinitionArn,
    group: `tes:${args.taskId}`,
    capacityProviderStrategy: [{ CapacityProvider: args.size.spot ? 'FARGATE_SPOT' : 'FARGATE', Weight: 1 }],
    timeoutSeconds: args.timeoutSeconds,
    networkConfiguration: {
      AwsvpcConfiguration: { Subnets: args.platform.subnets, SecurityGroups: args.platform.securityGroups, AssignPublicIp: 'DISABLED' },
    },
    overrides: {
      Cpu: String(args.size.cpu),
      Memory: String(args.size.memory),
      ...(args.size.ephemeralStorageGiB > 20 ? { EphemeralStorage: { SizeInGiB: args.size.ephemeralStorageGiB } } : {}),
      ContainerOverrides: [
        { Name: CONTAINERS.stageIn, Environment: env({ ...args.stagingEnvironment, [STAGING_TICKET_VARIABLE]: args.ticket }) },
        { Name: CONTAINERS.executor, Command: launch.command, Environment: env(executorEnv) },
        { Name: CONTAINERS.stageOut, Environment: env(args.stagingEnvironment) },
      ],
    },
  };
}

/** Where stage-in finds its run's staging ticket. */
export const STAGING_TICKET_VARIABLE = 'TES_STAGING_TICKET';

/** The same run with a fresh ticket (a run started again, after a Spot interruption, trades its own). */
export function withTicket(plan: RunPlan, ticket: string): RunPlan {
  return {
    ...plan,
    overrides: {
      ...plan.overrides,
      ContainerOverrides: plan.overrides.ContainerOverrides.map((c) =>
        c.Name !== CONTAINERS.stageIn ? c : { ...c, Environment: [...c.Environment.filter((e) => e.Name !== STAGING_TICKET_VARIABLE), { Name: STAGING_TICKET_VARIABLE, Value: ticket }] },
      ),
    },
  };
}

/** Bytes the executor's command and environment take in the RunTask overrides. */
export function executorOverrideBytes(executor: TesExecutor): number {
  const launch = executorLaunch(executor);
  return Buffer.byteLength(JSON.stringify({ Command: launch.command, Environment: env(launch.environment) }));
}
