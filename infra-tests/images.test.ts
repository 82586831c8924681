/**
 * Executors run their task's own image, pulled on first use, under every container runtime here.
 * A registry on loopback serves the test image under a name this run made up, so the pull really
 * happens; an image that cannot be had ends the task SYSTEM_ERROR naming it and the registry's answer.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { launcherEnvironment } from '../lambdas/local/sandbox.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { startTestStack } from './support/local-stack.js';
import { startRegistry, type Registry } from './support/registry.js';
import { TesHttp } from './support/target.js';
import { RUN_ID, task, waitForTerminal } from './support/tasks.js';
import { MISSING_IMAGE, runtimesUnderTest, TEST_IMAGE, TEST_IMAGE_PREFIXES } from './support/test-image.js';

const run = promisify(execFile);
const engines = (await runtimesUnderTest()).filter((r) => r.kind === 'podman');

describe('pulling images', () => {
  it('has a container runtime to pull with (Podman; the Docker path is not exercised here)', () => {
    expect(engines.map((e) => e.kind), 'install podman (and runc) to run executors in their own images').toContain('podman');
  });
});

describe.each(engines.map((e) => [e.kind, e] as const))('images, on %s', (engine, runtime) => {
  let work: string;
  let registry: Registry;
  let stack: LocalStack;
  let tes: TesHttp;
  const repository = `tes-test/pulled-${RUN_ID}`;
  const image = () => `${registry.host}/${repository}:v1`;
  const previousConf = process.env['CONTAINERS_REGISTRIES_CONF'];

  beforeAll(async () => {
    if (runtime.problem !== undefined) throw new Error(`${engine} is to be tested here but cannot run: ${runtime.problem}`);
    work = await mkdtemp(join(tmpdir(), 'tes-images-'));
    await run(engine, ['push', TEST_IMAGE, `oci:${join(work, 'layout')}:v1`], { env: launcherEnvironment() });
    registry = await startRegistry(join(work, 'layout'), repository);
    // The operator's registry settings: this registry speaks plain HTTP on loopback.
    await writeFile(join(work, 'registries.conf'), `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
    process.env['CONTAINERS_REGISTRIES_CONF'] = join(work, 'registries.conf');
    stack = await startTestStack({ port: 0, env: { TES_LOCAL_RUNTIME: engine, TES_ALLOWED_IMAGE_PREFIXES: `${TEST_IMAGE_PREFIXES},${registry.host}/` } });
    tes = new TesHttp({ url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers: {}, local: stack, close: () => stack.close() });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await run(engine, ['rmi', '--force', image()], { env: launcherEnvironment() }).catch(() => undefined);
    if (previousConf === undefined) delete process.env['CONTAINERS_REGISTRIES_CONF'];
    else process.env['CONTAINERS_REGISTRIES_CONF'] = previousConf;
    await registry?.close();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  async function runTask(executorImage: string, command: string[]): Promise<TesTask> {
    const reply = await tes.post<{ id: string }>('/tasks', task({ executors: [{ image: executorImage, command }] }));
    expect(reply.status, reply.text).toBe(200);
    return waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id, 120_000);
  }

  it("pulls the image on first use, runs that image's programs, and says so in the system logs", async () => {
    const done = await runTask(image(), ['/bin/sh', '-c', 'readlink /bin/sh; ls /bin/suid-busybox']);
    expect(done.state, JSON.stringify(done.logs)).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]?.stdout).toBe('busybox\n/bin/suid-busybox\n');
    expect(done.logs?.[0]?.system_logs?.join('\n')).toMatch(/executor 0's image was pulled in \d+\.\d s/);
    expect(registry.requests.some((r) => r.startsWith(`GET /v2/${repository}/blobs/`))).toBe(true);
  });

  it('uses the image it has the next time, without pulling', async () => {
    const before = registry.requests.filter((r) => r.includes('/blobs/')).length;
    const done = await runTask(image(), ['true']);
    expect(done.state).toBe('COMPLETE');
    expect(done.logs?.[0]?.system_logs ?? []).not.toContainEqual(expect.stringMatching(/pulled/));
    expect(registry.requests.filter((r) => r.includes('/blobs/')).length).toBe(before);
  });

  it('runs a task whose image was removed since it was last used: the run pulls it again', async () => {
    // The stack remembers for a while that it has the image (IMAGE_KNOWN_MS); the run itself pulls what is gone.
    await run(engine, ['rmi', '--force', image()], { env: launcherEnvironment() });
    const before = registry.requests.filter((r) => r.includes('/blobs/')).length;
    const done = await runTask(image(), ['/bin/sh', '-c', 'readlink /bin/sh']);
    expect(done.state, JSON.stringify(done.logs)).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]?.stdout).toBe('busybox\n');
    expect(registry.requests.filter((r) => r.includes('/blobs/')).length).toBeGreaterThan(before);
  });

  it("ends SYSTEM_ERROR naming the image and the registry's answer when the image is not there", async () => {
    const missing = `${registry.host}/${repository}:no-such-tag`;
    const done = await runTask(missing, ['true']);
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(done.logs?.[0]?.logs ?? []).toEqual([]);
    const system = done.logs?.[0]?.system_logs?.join('\n') ?? '';
    expect(system).toContain(`CannotPullContainerError: the image ${missing} could not be pulled`);
    expect(system).toMatch(/manifest unknown/i);
  });

  it('ends SYSTEM_ERROR naming the image when its registry cannot be reached', async () => {
    const done = await runTask(MISSING_IMAGE, ['true']);
    expect(done.state).toBe('SYSTEM_ERROR');
    expect(done.logs?.[0]?.system_logs?.join('\n')).toContain(`CannotPullContainerError: the image ${MISSING_IMAGE} could not be pulled`);
  });
});
