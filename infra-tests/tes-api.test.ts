/**
 * The TES 1.1 API, black box: plain HTTP against TES_URL (or the local stack). Every operation,
 * view, error and the /v1 alias.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { expectErrorShape, expectSpecResponse } from './support/spec-assertions.js';
import { useTarget } from './support/target.js';
import { RUN_ID, task } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

const suite = useTarget();

const ACTIVE_OR_DONE = ['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR'];

async function create(body: unknown): Promise<string> {
  const reply = await suite.tes.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return reply.body.id;
}

describe('GetServiceInfo', () => {
  it('describes a TES 1.1 service with storage and backend parameters, in spec shape only', async () => {
    const reply = await suite.tes.get<Record<string, unknown>>('/service-info');
    expect(reply.status).toBe(200);
    expectSpecResponse('tesServiceInfo', reply.body);
    expect(reply.body).toMatchObject({
      type: { group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' },
      storage: expect.arrayContaining([expect.stringMatching(/^s3:\/\//)]),
      tesResources_backend_parameters: expect.arrayContaining(['cpu_architecture']),
    });
  });

  it('answers at /v1 too', async () => {
    const reply = await suite.tes.request('GET', '/v1/service-info', undefined, { base: suite.target.root });
    expect(reply.status).toBe(200);
    expectSpecResponse('tesServiceInfo', reply.body);
  });

  it("answers at TES 1.0's /v1/tasks/service-info, where py-tes 0.4 (Snakemake's TES plugin) asks, in TES 1.0's shape, not as a task id", async () => {
    const current = (await suite.tes.get<{ name: string; description?: string; storage: string[] }>('/service-info')).body;
    for (const base of [suite.target.root + '/v1', suite.target.root + '/ga4gh/tes/v1']) {
      const reply = await suite.tes.request<Record<string, unknown>>('GET', '/tasks/service-info', undefined, { base });
      expect(reply.status, reply.text).toBe(200);
      // TES 1.0's tesServiceInfo: name, doc, storage, and nothing its clients' models would refuse.
      expect(reply.body).toEqual({ name: current.name, doc: current.description, storage: current.storage });
    }
  });
});

describe('CreateTask', () => {
  it('answers with the new id only', async () => {
    const reply = await suite.tes.post<{ id: string }>('/tasks', task({ name: 'create-basic' }));
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body)).toEqual(['id']);
    expect(reply.body.id).toMatch(/^[0-9a-z]{26}$/);
  });

  it('ignores client-sent id, state, logs and creation_time', async () => {
    const id = await create({ ...task({ name: 'ignores' }), id: 'my-id', state: 'COMPLETE', logs: [{ bogus: 1 }], creation_time: 'yesterday' });
    expect(id).not.toBe('my-id');
    const full = await suite.tes.get<TesTask>(`/tasks/${id}?view=FULL`);
    expect(ACTIVE_OR_DONE).toContain(full.body.state);
    expect(full.body.creation_time).not.toBe('yesterday');
    expect(Date.parse(full.body.creation_time ?? '')).not.toBeNaN();
  });

  it('drops fields the spec does not define', async () => {
    const id = await create({ ...task(), cpuCores: 8, executors: [{ image: TEST_IMAGE, command: ['true'], privileged: true }] });
    const full = await suite.tes.get<TesTask>(`/tasks/${id}?view=FULL`);
    expectSpecResponse('tesTask', full.body);
    expect(JSON.stringify(full.body)).not.toContain('privileged');
    expect(JSON.stringify(full.body)).not.toContain('cpuCores');
  });

  it('accepts a content input of 1.5 MiB and returns it whole in the FULL view only', async () => {
    const content = 'ACGT'.repeat((1.5 * 1024 * 1024) / 4);
    const id = await create(task({ inputs: [{ path: '/data/genome.txt', content }, { path: '/data/small.txt', content: 'hi' }] }));
    const full = await suite.tes.get<TesTask>(`/tasks/${id}?view=FULL`);
    expect(full.body.inputs?.[0]?.content).toBe(content);
    expect(full.body.inputs?.[1]?.content).toBe('hi');
    const basic = await suite.tes.get<TesTask>(`/tasks/${id}?view=BASIC`);
    expect(basic.body.inputs).toEqual([{ path: '/data/genome.txt', type: 'FILE' }, { path: '/data/small.txt', type: 'FILE' }]);
  });

  it('drops unsupported backend_parameters with a warning in the system logs', async () => {
    const id = await create(task({ resources: { backend_parameters: { VmSize: 'Standard_D64_v3', CPU_ARCHITECTURE: 'x86_64' } } }));
    const full = await suite.tes.get<TesTask>(`/tasks/${id}?view=FULL`);
    expect(full.body.resources?.backend_parameters).toEqual({ cpu_architecture: 'x86_64' });
    expect(full.body.logs?.[0]?.system_logs).toEqual(expect.arrayContaining([expect.stringContaining('VmSize')]));
  });

  it('refuses unsupported backend_parameters with backend_parameters_strict', async () => {
    const reply = await suite.tes.post('/tasks', task({ resources: { backend_parameters: { VmSize: 'x' }, backend_parameters_strict: true } }));
    expect(reply.status).toBe(400);
    expectErrorShape(reply.body, 400);
    expect(reply.text).toContain('VmSize');
  });

  it('is served at /v1 too', async () => {
    const reply = await suite.tes.request<{ id: string }>('POST', '/v1/tasks', task({ name: 'via-v1' }), { base: suite.target.root });
    expect(reply.status).toBe(200);
    const got = await suite.tes.get<TesTask>(`/tasks/${reply.body.id}?view=BASIC`);
    expect(got.body.name).toBe('via-v1');
  });
});

describe('CreateTask with bad input', () => {
  const bad: [string, unknown, string[]][] = [
    ['missing executors', { name: 'x' }, ['executors']],
    ['no executors', { executors: [] }, ['executors']],
    ['an empty image', { executors: [{ image: '', command: ['true'] }] }, ['executors[0].image']],
    ['an empty command', { executors: [{ image: TEST_IMAGE, command: [] }] }, ['executors[0].command']],
    ['wrong types', { executors: [{ image: 1, command: 'true' }], resources: { cpu_cores: 'many' } }, ['executors[0].image', 'executors[0].command', 'resources.cpu_cores']],
    ['a relative path', { executors: [{ image: 'a', command: ['x'], workdir: 'work' }] }, ['executors[0].workdir']],
    ['an input without url or content', { executors: [{ image: 'a', command: ['x'] }], inputs: [{ path: '/in' }] }, ['inputs[0].url']],
    ['an output without url or path', { executors: [{ image: 'a', command: ['x'] }], outputs: [{}] }, ['outputs[0].url', 'outputs[0].path']],
    ['wildcards without path_prefix', { executors: [{ image: 'a', command: ['x'] }], outputs: [{ path: '/w/*.txt', url: 's3://bucket/o' }] }, ['outputs[0].path_prefix']],
    ['NUL in an argument (argv cannot hold it)', { executors: [{ image: 'a', command: ['echo', 'a\u0000--b'] }] }, ['executors[0].command[1]']],
    ['NUL in an environment value or name', { executors: [{ image: 'a', command: ['x'], env: { A: 'v\u0000', 'B\u0000': 'w' } }] }, ['executors[0].env.A', 'executors[0].env["B\\u0000"]']],
    ['a volume at /opt, which would hide the staging runtime', { executors: [{ image: 'a', command: ['x'] }], volumes: ['/opt'] }, ['volumes[0]']],
    ['a volume at /home, which would hide the executor\'s home', { executors: [{ image: 'a', command: ['x'] }], volumes: ['/home'] }, ['volumes[0]']],
    ['inputs that land on each other', { executors: [{ image: 'a', command: ['x'] }], inputs: [{ path: '/data/a', content: 'x' }, { path: '/data/a/b', content: 'y' }] }, ['inputs[1].path']],
  ];
  it.each(bad)('refuses %s with a 400 listing each problem by path', async (_what, body, paths) => {
    const reply = await suite.tes.post<{ details: { path: string }[] }>('/tasks', { ...(body as object), tags: { run: RUN_ID, bad: 'yes' } });
    expect(reply.status).toBe(400);
    expectErrorShape(reply.body, 400);
    expect(reply.body.details.map((d) => d.path)).toEqual(expect.arrayContaining(paths));
  });

  it('refuses a document nested 3,000 deep with a 400 naming the limit, not a 500', async () => {
    const deep = `{"executors":[{"image":"a","command":["x"]}],"tags":{"run":"${RUN_ID}"},"x":${'['.repeat(3000)}${']'.repeat(3000)}}`;
    const reply = await suite.tes.request('POST', '/tasks', undefined, { raw: deep });
    expect(reply.status).toBe(400);
    expectErrorShape(reply.body, 400);
    expect(JSON.stringify(reply.body)).toMatch(/64/);
  });

  it('stores and lists a name and tags written to break a query (quotes, SQL, JSON, wildcards) as plain text', async () => {
    const name = `x'); DROP TABLE tasks; --"%_*`;
    const tags = { run: RUN_ID, "k' OR '1'='1": '%_"}{', 'json": {"a': '1' };
    const created = await suite.tes.post<{ id: string }>('/tasks', { name, tags, executors: [{ image: TEST_IMAGE, command: ['true'] }] });
    expect(created.status, created.text).toBe(200);
    const got = await suite.tes.get<TesTask>(`/tasks/${created.body.id}?view=BASIC`);
    expect(got.body).toMatchObject({ name, tags });
    const byName = await suite.tes.get<{ tasks: TesTask[] }>(`/tasks?name_prefix=${encodeURIComponent("x'); DROP")}&view=MINIMAL`);
    expect(byName.body.tasks.map((t) => t.id)).toContain(created.body.id);
    const byTag = await suite.tes.get<{ tasks: TesTask[] }>(`/tasks?tag_key=${encodeURIComponent("k' OR '1'='1")}&tag_value=${encodeURIComponent('%_"}{')}&view=MINIMAL`);
    expect(byTag.body.tasks.map((t) => t.id)).toEqual([created.body.id]);
    // A wildcard in a prefix is a character, not a pattern.
    expect((await suite.tes.get<{ tasks: TesTask[] }>(`/tasks?name_prefix=${encodeURIComponent('%')}&view=MINIMAL`)).body.tasks.map((t) => t.id)).not.toContain(created.body.id);
  });

  it('refuses malformed JSON with a 400', async () => {
    const reply = await suite.tes.request('POST', '/tasks', undefined, { raw: '{"executors": [' });
    expect(reply.status).toBe(400);
    expectErrorShape(reply.body, 400);
    expect(reply.body).toMatchObject({ code: 'INVALID_JSON' });
  });

  it('refuses a body over 5 MiB with a 413 in the error shape (the function answers)', async () => {
    const reply = await suite.tes.request('POST', '/tasks', undefined, {
      raw: JSON.stringify(task({ inputs: [{ path: '/big', content: 'x'.repeat(5 * 1024 * 1024 + 1024) }] })),
    });
    expect(reply.status).toBe(413);
    expectErrorShape(reply.body, 413);
  });

  it("refuses a body over 6 MB with API Gateway's own 413 (no function can be handed it)", async () => {
    const reply = await suite.tes.request('POST', '/tasks', undefined, { raw: `"${'x'.repeat(6 * 1024 * 1024 + 16)}"` });
    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({ message: 'Request Entity Too Large' });
  });

  it('answers 404, not an error, for an id no task could have', async () => {
    for (const id of ['a'.repeat(2049), 'x%00y', '..']) {
      expect((await suite.tes.get(`/tasks/${id}`)).status, id.slice(0, 10)).toBe(404);
      expect((await suite.tes.request('POST', `/tasks/${id}:cancel`)).status, id.slice(0, 10)).toBe(404);
    }
  });

  it('stores nothing for a refused task', async () => {
    const reply = await suite.tes.get<{ tasks: unknown[] }>(`/tasks?tag_key=run&tag_value=${RUN_ID}&tag_key=bad`);
    expect(reply.status).toBe(200);
    expect(reply.body.tasks).toEqual([]);
  });
});

describe('GetTask', () => {
  let id: string;
  beforeAll(async () => {
    id = await create(
      task({
        name: 'views',
        description: 'all the fields',
        inputs: [{ path: '/in/a.txt', content: 'secret' }, { path: '/in/b', url: 's3://some-bucket/b', type: 'DIRECTORY' }],
        outputs: [{ path: '/out/*.txt', path_prefix: '/out', url: 's3://some-bucket/out' }],
        resources: { cpu_cores: 2, ram_gb: 4, disk_gb: 30, preemptible: false },
        volumes: ['/vol/shared'],
        tags: { view: 'test' },
      }),
    );
  });

  it('shows only id and state by default (MINIMAL)', async () => {
    const reply = await suite.tes.get<TesTask>(`/tasks/${id}`);
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body).sort()).toEqual(['id', 'state']);
    expect(reply.body.id).toBe(id);
  });

  it('shows MINIMAL when asked', async () => {
    expect(Object.keys((await suite.tes.get<TesTask>(`/tasks/${id}?view=MINIMAL`)).body).sort()).toEqual(['id', 'state']);
  });

  it('shows BASIC without content, stdout, stderr or system logs', async () => {
    const reply = await suite.tes.get<TesTask>(`/tasks/${id}?view=BASIC`);
    expectSpecResponse('tesTask', reply.body);
    expect(reply.body).toMatchObject({ id, name: 'views', description: 'all the fields', volumes: ['/vol/shared'], resources: { cpu_cores: 2 } });
    expect(reply.body.inputs?.[0]).toEqual({ path: '/in/a.txt', type: 'FILE' });
    expect(JSON.stringify(reply.body)).not.toContain('secret');
    for (const log of reply.body.logs ?? []) expect(log).not.toHaveProperty('system_logs');
  });

  it('shows FULL with input content', async () => {
    const reply = await suite.tes.get<TesTask>(`/tasks/${id}?view=FULL`);
    expectSpecResponse('tesTask', reply.body);
    expect(reply.body.inputs?.[0]?.content).toBe('secret');
    expect(reply.body.outputs).toEqual([{ path: '/out/*.txt', path_prefix: '/out', url: 's3://some-bucket/out', type: 'FILE' }]);
  });

  it('gives every input and output a type, in the task and in list pages, as TES 1.0 clients (which require it) read them', async () => {
    for (const view of ['BASIC', 'FULL']) {
      const one = (await suite.tes.get<TesTask>(`/tasks/${id}?view=${view}`)).body;
      expect([...(one.inputs ?? []), ...(one.outputs ?? [])].map((f) => f.type)).toEqual(['FILE', 'DIRECTORY', 'FILE']);
      const page = (await suite.tes.get<{ tasks: TesTask[] }>(`/tasks?view=${view}&name_prefix=views`)).body.tasks;
      expect(page.length).toBeGreaterThan(0);
      for (const listed of page) for (const file of [...(listed.inputs ?? []), ...(listed.outputs ?? [])]) expect(['FILE', 'DIRECTORY'], JSON.stringify(listed)).toContain(file.type);
    }
  });

  it('is served at /v1 too', async () => {
    const reply = await suite.tes.request<TesTask>('GET', `/v1/tasks/${id}?view=BASIC`, undefined, { base: suite.target.root });
    expect(reply.status).toBe(200);
    expect(reply.body.name).toBe('views');
  });

  it('answers 404 for an unknown id', async () => {
    const reply = await suite.tes.get('/tasks/01nonexistent0000000000000');
    expect(reply.status).toBe(404);
    expectErrorShape(reply.body, 404);
  });

  it('refuses an unknown view with a 400', async () => {
    const reply = await suite.tes.get(`/tasks/${id}?view=EVERYTHING`);
    expect(reply.status).toBe(400);
    expectErrorShape(reply.body, 400);
  });
});

describe('CancelTask', () => {
  /** A task that is still active when the cancel arrives. */
  const long = (overrides: Partial<TesTask> = {}) => task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '120'] }], ...overrides });

  it('cancels an active task: 200 with an empty object, then CANCELING or CANCELED', async () => {
    const id = await create(long({ name: 'to-cancel' }));
    const reply = await suite.tes.post(`/tasks/${id}:cancel`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({});
    const after = await suite.tes.get<TesTask>(`/tasks/${id}`);
    expect(['CANCELING', 'CANCELED']).toContain(after.body.state);
  });

  it('accepts the URL-encoded %3Acancel', async () => {
    const id = await create(long());
    expect((await suite.tes.post(`/tasks/${id}%3Acancel`)).status).toBe(200);
    expect(['CANCELING', 'CANCELED']).toContain((await suite.tes.get<TesTask>(`/tasks/${id}`)).body.state);
  });

  it('is a 200 no-op on a task that already ended', async () => {
    const id = await create(long());
    await suite.tes.post(`/tasks/${id}:cancel`);
    const before = (await suite.tes.get<TesTask>(`/tasks/${id}?view=FULL`)).body;
    const again = await suite.tes.post(`/tasks/${id}:cancel`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({});
    expect((await suite.tes.get<TesTask>(`/tasks/${id}?view=FULL`)).body.state).toBe(before.state);
  });

  it('answers 404 for an unknown id', async () => {
    const reply = await suite.tes.post('/tasks/01nonexistent0000000000000:cancel');
    expect(reply.status).toBe(404);
    expectErrorShape(reply.body, 404);
  });

  it('answers 404 to a POST on a task without :cancel', async () => {
    const id = await create(task());
    const reply = await suite.tes.post(`/tasks/${id}`);
    expect(reply.status).toBe(404);
    expectErrorShape(reply.body, 404);
  });

  it('is served at /v1 too', async () => {
    const id = await create(long());
    expect((await suite.tes.request('POST', `/v1/tasks/${id}:cancel`, undefined, { base: suite.target.root })).status).toBe(200);
    expect(['CANCELING', 'CANCELED']).toContain((await suite.tes.get<TesTask>(`/tasks/${id}`)).body.state);
  });
});

describe('routes that are not TES operations', () => {
  it.each([
    ['GET', '/nothing-here'],
    ['DELETE', '/tasks'],
    ['GET', '/tasks/a/b'],
  ])('%s %s answers 404 in the error shape', async (method, path) => {
    const reply = await suite.tes.request(method, path);
    expect(reply.status).toBe(404);
    expectErrorShape(reply.body, 404);
  });
});
