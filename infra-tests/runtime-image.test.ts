/**
 * The runtime image, built from what CDK builds it from (lambdas/runtime/image.ts prepares the
 * directory: the Dockerfile and the bundle) with Podman, offline: no registry is reachable here, so
 * the Dockerfile's distroless base is stood in for by an image of the same kind built on this
 * machine (this Node.js 22 binary at /nodejs/bin/node with the libraries it loads, a `nonroot` user,
 * no shell). Its containers then run as the executor's task definition runs them (user, read-only
 * root, capabilities, command, environment from the RunTask overrides) against the real staging
 * broker, DynamoDB and S3 stand-ins: stage-in puts an input in place for the executor's uid,
 * stage-out uploads what the executor left and reports it, sealed.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReport, reportKey, S3StagingBroker } from '../lambdas/adapters/s3-staging-broker.js';
import { fargateSize } from '../lambdas/domain/fargate.js';
import { StagingTokens } from '../lambdas/domain/staging-token.js';
import { storagePolicyFromEnv } from '../lambdas/domain/storage-policy.js';
import { CONTAINERS, executorTaskDefinition, runPlan, type ContainerDefinition } from '../lambdas/domain/task-definition.js';
import type { TaskRecord } from '../lambdas/domain/task-record.js';
import { launcherEnvironment } from '../lambdas/local/sandbox.js';
import { startS3rver, type LocalS3 } from '../lambdas/local/s3-local.js';
import { startStagingServer, type StagingServer } from '../lambdas/local/staging-server.js';
import { prepareRuntimeImage } from '../lambdas/runtime/image.js';
import { startTestTable, type TestTable } from '../lambdas/testing/dynamo.js';

const run = promisify(execFile);
const BASE = 'localhost/tes-test/distroless-nodejs22:nonroot';
const IMAGE = 'localhost/tes-test/runtime:test';
const env = launcherEnvironment();

let work: string;
let table: TestTable;
let s3: LocalS3;
let staging: StagingServer;
let client: S3Client;
const tokens = new StagingTokens(Buffer.alloc(32, 9));
const platform = { runtimeImage: IMAGE, executorUser: '1000:1000', logGroup: 'g', region: 'eu-west-1', cluster: 'c', subnets: ['s'], securityGroups: ['sg'] };
const task: TaskRecord = {
  id: '01runtimeimage000000000000',
  owner: 'o',
  state: 'INITIALIZING',
  version: 1,
  creationTime: new Date().toISOString(),
  task: {
    executors: [{ image: 'alpine:3', command: ['true'] }],
    inputs: [{ path: '/data/in.txt', content: 'staged by the image' }],
    outputs: [{ path: '/data/result.txt', url: 's3://service-bucket/users/o/result.txt' }],
  },
  logs: [{ logs: [], outputs: [] }],
};

/** A distroless-like base: Node.js and the libraries it loads, a nonroot user, nothing else. */
async function standInBase(dir: string): Promise<void> {
  const node = process.execPath;
  await mkdir(join(dir, 'nodejs', 'bin'), { recursive: true });
  await copyFile(node, join(dir, 'nodejs', 'bin', 'node'));
  const { stdout } = await run('ldd', [node]);
  for (const library of stdout.matchAll(/(\/\S+\.so[.\d]*)/g)) {
    const path = library[1] as string;
    await mkdir(join(dir, dirname(path)), { recursive: true });
    await copyFile(path, join(dir, path));
  }
  await mkdir(join(dir, 'etc'));
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnonroot:x:65532:\n');
  await mkdir(join(dir, 'tmp'), { mode: 0o1777 });
  await chmod(join(dir, 'tmp'), 0o1777);
  await mkdir(join(dir, 'home', 'nonroot'), { recursive: true });
}

beforeAll(async () => {
  const podman = await run('podman', ['--version'], { env }).catch((error: Error) => error);
  if (podman instanceof Error) throw new Error(`Podman is needed to build and run the runtime image here: ${podman.message}`);
  work = await mkdtemp(join(tmpdir(), 'tes-runtime-image-test-'));
  await chmod(work, 0o755);
  const rootfs = join(work, 'base');
  await standInBase(rootfs);
  await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', join(work, 'base.tar'), '.']);
  await run('podman', ['import', join(work, 'base.tar'), BASE], { env });
  // Exactly what CDK's DockerImageAsset builds from, but for the base.
  const context = prepareRuntimeImage(join(work, 'image'));
  await run('podman', ['build', '--pull=never', '--build-arg', `BASE_IMAGE=${BASE}`, '-t', IMAGE, context], { env, maxBuffer: 16 * 1024 * 1024 });

  table = await startTestTable('tes-runtime-image');
  await table.store.create(task);
  const credentials = { accessKeyId: 'runtime-image', secretAccessKey: 'runtime-image-secret' };
  s3 = await startS3rver(join(work, 's3'), 'service-bucket', credentials);
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials });
  const broker = new S3StagingBroker({ store: table.store, s3: client, bucket: 'service-bucket', tokens, clock: { now: () => new Date() }, storage: storagePolicyFromEnv({}, 'service-bucket') });
  staging = await startStagingServer(broker);
}, 600_000);
afterAll(async () => {
  await staging?.close();
  await s3?.close();
  await table?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
  await run('podman', ['rmi', '--force', IMAGE, BASE], { env }).catch(() => undefined);
});

/** `podman run` as ECS runs the container of this name: its definition, and the run's overrides. */
async function runAsEcs(name: string, volumes: Record<string, string>, extra: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const definition = executorTaskDefinition(task.task.executors[0] as never, ['/data'], fargateSize(undefined, { spotAllowed: false }), platform);
  const container = definition.containerDefinitions.find((c) => c.name === name) as ContainerDefinition;
  const plan = runPlan({
    taskId: task.id,
    executorIndex: 0,
    executor: task.task.executors[0] as never,
    taskDefinitionArn: 'arn:td',
    size: fargateSize(undefined, { spotAllowed: false }),
    platform,
    stagingEnvironment: { TES_EXECUTOR_INDEX: '0', TES_EXECUTOR_USER: platform.executorUser, TES_DISK_LIMIT_BYTES: String(20 * 1024 ** 3), TES_BROKER_URL: staging.brokerUrl },
    ticket: tokens.ticket(task.id, 0, Math.floor(Date.now() / 1000) + 3600),
    timeoutSeconds: 600,
  });
  const overrides = plan.overrides.ContainerOverrides.find((o) => o.Name === name);
  const args = ['run', '--rm', '--pull=never', '--network=host', `--user=${container.user}`];
  if (container.readonlyRootFilesystem) args.push('--read-only');
  for (const capability of container.linuxParameters?.capabilities.drop ?? []) args.push(`--cap-drop=${capability}`);
  for (const mount of container.mountPoints ?? []) {
    const host = volumes[mount.containerPath];
    if (host === undefined) throw new Error(`no host directory for ${mount.containerPath}`);
    args.push(`--volume=${host}:${mount.containerPath}${mount.readOnly ? ':ro' : ''}`);
  }
  for (const { Name, Value } of [...(overrides?.Environment ?? []), ...Object.entries(extra).map(([Name, Value]) => ({ Name, Value }))]) args.push(`--env=${Name}=${Value}`);
  args.push(container.image, ...(container.command ?? []));
  return run('podman', args, { env }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
  );
}

describe('the runtime image, built as CDK builds it', () => {
  it('runs the bundled runtime as a non-root user by default, from an exec-form entry point', async () => {
    const { stdout } = await run('podman', ['image', 'inspect', '--format', '{{.Config.User}} {{json .Config.Entrypoint}}', IMAGE], { env });
    expect(stdout.trim()).toBe('65532:65532 ["/nodejs/bin/node","/opt/tes/main.mjs"]');
  });

  it('stages an input in for the executor and its output out, as the task definition runs it, against the real broker', async () => {
    const data = join(work, 'data');
    const scratch = join(work, 'scratch');
    await mkdir(data, { mode: 0o755 });
    await mkdir(scratch, { mode: 0o755 });
    const volumes = { '/data': data, '/tes-scratch': scratch };

    const stageIn = await runAsEcs(CONTAINERS.stageIn, volumes);
    expect(stageIn, stageIn.output).toMatchObject({ code: 0 });
    expect(await readFile(join(data, 'in.txt'), 'utf8')).toBe('staged by the image');
    const owner = await stat(join(data, 'in.txt'));
    expect(`${owner.uid}:${owner.gid}`).toBe('1000:1000');
    // The session stage-in left for stage-out is in the runtime's own volume, readable by root only.
    expect((await lstat(join(scratch, '.staging-session'))).mode & 0o777).toBe(0o600);

    // What the executor left, and its exit code as ECS's metadata endpoint gives it.
    await writeFile(join(data, 'result.txt'), 'the result');
    const metadata = staging.metadataEndpoint();
    metadata.setExecutorExitCode(0);
    const stageOut = await runAsEcs(CONTAINERS.stageOut, volumes, { ECS_CONTAINER_METADATA_URI_V4: metadata.url });
    metadata.release();
    expect(stageOut, stageOut.output).toMatchObject({ code: 0 });
    const uploaded = await client.send(new GetObjectCommand({ Bucket: 'service-bucket', Key: 'users/o/result.txt' }));
    expect(await uploaded.Body?.transformToString('utf8')).toBe('the result');
    const report = await client.send(new GetObjectCommand({ Bucket: 'service-bucket', Key: reportKey(task.id, 0, 'stage-out') }));
    const opened = openReport(tokens, task.id, 0, 'stage-out', (await report.Body?.transformToString('utf8')) ?? '');
    expect(opened).toMatchObject({ ok: true, exitCode: 0, outputs: [{ url: 's3://service-bucket/users/o/result.txt', path: '/data/result.txt', size_bytes: '10' }] });
  }, 180_000);
});
