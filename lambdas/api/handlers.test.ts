import { createHash } from 'node:crypto';
/**
 * The Lambda handlers as API Gateway invokes them: JWT owners, isolation between users, the error
 * shape, and what happens when a dependency fails. Real DynamoDB protocol (dynalite); the workflow
 * and object store are ports with in-process stand-ins.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from 'aws-lambda';
import { ServiceUnavailableError } from '../domain/errors.js';
import { PageTokens } from '../domain/page-token.js';
import type { TesListTasksResponse, TesTask } from '../domain/tes.js';
import { MemoryObjects } from '../testing/memory-objects.js';

const MEMORY_BUCKET = new MemoryObjects().bucket;
import type { TaskStore } from '../ports/task-store.js';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { apiEvent, lambdaContext } from '../testing/events.js';
import type { TesDeps } from '../usecases/deps.js';
import { systemClock } from '../adapters/system-clock.js';
import { ulidIds } from '../adapters/ulid-ids.js';
import { RecordingWorkflow } from '../local/local-workflow.js';
import { cancelTask } from './cancel-task.js';
import { DEFAULT_ADMISSION } from '../domain/admission.js';
import { createTask } from './create-task.js';
import { getTask } from './get-task.js';
import { getServiceInfo } from './service-info.js';
import type { ApiEvent, ApiResult } from './http.js';
import { listTasks } from './list-tasks.js';
import type { Wiring } from './wiring.js';

let table: TestTable;
let wiring: Wiring;
let workflow: RecordingWorkflow;
const commands: string[] = [];

beforeAll(async () => {
  table = await startTestTable('tes-handlers');
  // Record every DynamoDB operation the handlers send, to prove listings never Scan.
  (table.store as unknown as { client: { middlewareStack: { add: (m: unknown, o: unknown) => void } } }).client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName: string }) => (args: unknown) => {
      commands.push(context.commandName);
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
});
afterAll(async () => {
  await table.close();
});
beforeEach(() => {
  workflow = new RecordingWorkflow();
  const deps: TesDeps = {
    store: table.store,
    workflow,
    objects: new MemoryObjects(),
    clock: systemClock,
    ids: ulidIds,
    pageTokens: new PageTokens(Buffer.alloc(32, 1)),
    serviceInfo: { id: 'test', name: 'test', organization: { name: 'o', url: 'https://o' }, version: '1' },
  };
  wiring = { deps, caller: {} };
});

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;
async function call(endpoint: { handler: (w: () => Wiring) => unknown }, event: ApiEvent): Promise<{ status: number; body: Record<string, unknown> }> {
  const handler = endpoint.handler(() => wiring) as Handler;
  const result = await handler(event, lambdaContext());
  return { status: result.statusCode ?? 0, body: JSON.parse(result.body ?? 'null') as Record<string, unknown> };
}

const body = JSON.stringify({ name: 'mine', executors: [{ image: 'alpine', command: ['true'] }], tags: { t: 'x' } });

async function createAs(sub: string): Promise<string> {
  const created = await call(createTask, apiEvent('POST', '/ga4gh/tes/v1/tasks', { body, sub }));
  expect(created.status).toBe(200);
  return created.body['id'] as string;
}

describe('admins', () => {
  const adminClaim = { name: 'cognito:groups', value: 'tes-admins' };
  const asAdmin = { sub: 'root', claims: { 'cognito:groups': ['users', 'tes-admins'] } };
  const list = async (query: string, who: { sub: string; claims?: Record<string, unknown>; tokenSub?: string }) =>
    call(listTasks, apiEvent('GET', '/ga4gh/tes/v1/tasks', { query, ...who }));
  beforeEach(() => {
    wiring = { ...wiring, caller: { adminClaim } };
  });

  it("get and cancel any user's task; the cancel names the admin", async () => {
    const id = await createAs('gina');
    const got = await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, query: 'view=FULL', ...asAdmin }));
    expect(got.status).toBe(200);
    expect(got.body['id']).toBe(id);
    const canceled = await call(cancelTask, apiEvent('POST', `/ga4gh/tes/v1/tasks/${id}:cancel`, { pathId: `${id}:cancel`, ...asAdmin }));
    expect(canceled.status).toBe(200);
    expect((await table.store.get(id))?.state).toBe('CANCELED');
    expect(workflow.stopped).toEqual([id]);
  });

  it("are only those holding the claim's value: a look-alike group is a plain user", async () => {
    const id = await createAs('hana');
    // Each would pass for an admin if claims were split at spaces or commas, or read from the authorizer's flattened copy.
    const lookalikes: Record<string, unknown>[] = [
      { 'cognito:groups': ['users', 'tes-admins-2'] },
      { groups: ['tes-admins'] },
      { 'cognito:groups': 'tes-admin' },
      { 'cognito:groups': ['lab tes-admins'] },
      { 'cognito:groups': ['lab,tes-admins'] },
      { 'cognito:groups': 'lab tes-admins' },
      { 'cognito:groups': 'lab,tes-admins' },
      { 'cognito:groups': '[tes-admins]' },
      { 'cognito:groups': '[users tes-admins]' },
      { 'cognito:groups': [['tes-admins']] },
      { 'cognito:groups': { 'tes-admins': true } },
    ];
    for (const claims of lookalikes) {
      const got = await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, sub: 'ivan', claims }));
      expect(got.status, JSON.stringify(claims)).toBe(404);
      const listed = (await list('', { sub: 'ivan', claims })).body as unknown as TesListTasksResponse;
      expect(listed.tasks.map((t) => t.id)).not.toContain(id);
    }
  });

  it("trust the admin claim only in the token the authorizer verified: another subject's token is not read", async () => {
    const id = await createAs('hana');
    const got = await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, sub: 'ivan', tokenSub: 'root', claims: { 'cognito:groups': ['tes-admins'] } }));
    expect(got.status).toBe(404);
  });

  it("list every user's tasks newest first, each once, page after page, with every filter", async () => {
    const owners = ['jo', 'kai', 'lou'];
    const created: string[] = [];
    for (let i = 0; i < 24; i += 1) {
      const named = JSON.stringify({ name: `walk-${i % 2 === 0 ? 'even' : 'odd'}`, executors: [{ image: 'alpine', command: ['true'] }], tags: { walk: String(i % 3) } });
      const reply = await call(createTask, apiEvent('POST', '/ga4gh/tes/v1/tasks', { body: named, sub: owners[i % 3] as string }));
      created.push(reply.body['id'] as string);
    }
    const canceled = created.filter((_, i) => i % 4 === 0);
    for (const id of canceled) await call(cancelTask, apiEvent('POST', `/ga4gh/tes/v1/tasks/${id}:cancel`, { pathId: `${id}:cancel`, ...asAdmin }));

    const walk = async (query: string): Promise<string[]> => {
      const ids: string[] = [];
      let token: string | undefined;
      for (let pages = 0; pages < 100; pages += 1) {
        const page = await list(`page_size=5${query}${token === undefined ? '' : `&page_token=${encodeURIComponent(token)}`}`, asAdmin);
        expect(page.status).toBe(200);
        ids.push(...(page.body as unknown as TesListTasksResponse).tasks.map((t) => t.id as string));
        token = page.body['next_page_token'] as string | undefined;
        if (token === undefined) return ids;
      }
      throw new Error('the walk did not end');
    };
    const everything = await walk('');
    expect(new Set(everything).size).toBe(everything.length);
    expect([...everything].sort().reverse()).toEqual(everything);
    expect(everything).toEqual(expect.arrayContaining(created));
    const newestFirst = [...created].reverse();
    expect(await walk('&state=CANCELED&name_prefix=walk-')).toEqual(newestFirst.filter((id) => canceled.includes(id)));
    expect(await walk('&name_prefix=walk-odd&tag_key=walk&tag_value=1')).toEqual(newestFirst.filter((_, i) => (23 - i) % 2 === 1 && (23 - i) % 3 === 1));
  });

  it("page tokens are bound to the admin: a user cannot replay one, nor an admin a user's", async () => {
    await createAs('max');
    await createAs('max');
    const adminPage = await list('page_size=1', asAdmin);
    const adminToken = encodeURIComponent(adminPage.body['next_page_token'] as string);
    expect((await list(`page_size=1&page_token=${adminToken}`, { sub: 'max' })).status).toBe(400);
    expect((await list(`page_size=1&page_token=${adminToken}`, { sub: 'root' })).status).toBe(400);
    const userToken = encodeURIComponent((await list('page_size=1', { sub: 'max' })).body['next_page_token'] as string);
    expect((await list(`page_size=1&page_token=${userToken}`, asAdmin)).status).toBe(400);
    expect((await list(`page_size=1&page_token=${adminToken}`, asAdmin)).status).toBe(200);
  });

  it('are no one when the admin claim is turned off', async () => {
    wiring = { ...wiring, caller: {} };
    const id = await createAs('nia');
    expect((await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, ...asAdmin }))).status).toBe(404);
  });
});

describe('owners', () => {
  it('gives a task to the token subject and starts exactly one workflow for it', async () => {
    const id = await createAs('alice');
    expect((await table.store.get(id))?.owner).toBe('alice');
    expect(workflow.started).toEqual([id]);
  });

  it("answers 404 for another user's task on get and cancel, and changes nothing", async () => {
    const id = await createAs('alice');
    const get = await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, sub: 'bob' }));
    expect(get.status).toBe(404);
    const unknown = await call(getTask, apiEvent('GET', '/ga4gh/tes/v1/tasks/nope', { pathId: 'nope', sub: 'bob' }));
    expect(get.body['message']).toBe((unknown.body['message'] as string).replace('nope', id));
    const cancel = await call(cancelTask, apiEvent('POST', `/ga4gh/tes/v1/tasks/${id}:cancel`, { pathId: `${id}:cancel`, sub: 'bob' }));
    expect(cancel.status).toBe(404);
    expect((await table.store.get(id))?.state).toBe('QUEUED');
    expect(workflow.stopped).toEqual([]);
  });

  it("never lists another user's tasks, whatever the filters", async () => {
    const mine = await createAs('carol');
    await createAs('dave');
    for (const query of ['', 'view=FULL', 'tag_key=t&tag_value=x', 'name_prefix=mine', 'state=QUEUED']) {
      const listed = await call(listTasks, apiEvent('GET', '/ga4gh/tes/v1/tasks', { query, sub: 'carol' }));
      expect((listed.body as unknown as TesListTasksResponse).tasks.map((t) => t.id)).toEqual([mine]);
    }
  });

  it("refuses another user's page token", async () => {
    await createAs('erin');
    await createAs('erin');
    const page = await call(listTasks, apiEvent('GET', '/ga4gh/tes/v1/tasks', { query: 'page_size=1', sub: 'erin' }));
    const token = page.body['next_page_token'] as string;
    expect(token).toBeDefined();
    const replay = await call(listTasks, apiEvent('GET', '/ga4gh/tes/v1/tasks', { query: `page_size=1&page_token=${encodeURIComponent(token)}`, sub: 'frank' }));
    expect(replay.status).toBe(400);
    expect(replay.body['code']).toBe('INVALID_PAGE_TOKEN');
  });

  it('answers 401 when there is no verified subject and authentication is on', async () => {
    const result = await call(createTask, apiEvent('POST', '/ga4gh/tes/v1/tasks', { body }));
    expect(result.status).toBe(401);
    expect(result.body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('uses the anonymous owner when authentication is off', async () => {
    wiring = { ...wiring, caller: { anonymousOwner: 'anyone' } };
    const created = await call(createTask, apiEvent('POST', '/ga4gh/tes/v1/tasks', { body }));
    expect((await table.store.get(created.body['id'] as string))?.owner).toBe('anyone');
  });
});

describe('listing cost', () => {
  it('never scans the table: listings are index queries and reads by key', async () => {
    for (let i = 0; i < 3; i += 1) await createAs('grace');
    commands.length = 0;
    for (const query of ['', 'view=BASIC', 'view=FULL&name_prefix=mi', 'state=QUEUED&tag_key=t', 'page_size=1']) {
      expect((await call(listTasks, apiEvent('GET', '/ga4gh/tes/v1/tasks', { query, sub: 'grace' }))).status).toBe(200);
    }
    expect(new Set(commands)).toEqual(new Set(['QueryCommand', 'BatchGetItemCommand']));
  });
});

describe('failures', () => {
  it('hides internals in a 500 and keeps the request id', async () => {
    wiring.deps.store = Object.assign(Object.create(table.store) as TaskStore, {
      get: () => Promise.reject(new Error('secret internal detail: arn:aws:dynamodb:xyz')),
    });
    const event = apiEvent('GET', '/ga4gh/tes/v1/tasks/x', { pathId: 'x', sub: 'alice' });
    const result = await call(getTask, event);
    expect(result.status).toBe(500);
    expect(result.body).toEqual({ status: 500, code: 'INTERNAL', message: expect.any(String), request_id: event.requestContext.requestId });
    expect(JSON.stringify(result.body)).not.toContain('secret');
  });

  it('ends the task SYSTEM_ERROR with the reason when its workflow cannot start', async () => {
    workflow.start = () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const id = await createAs('henry');
    const full = await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, query: 'view=FULL', sub: 'henry' }));
    const task = full.body as unknown as TesTask;
    expect(task.state).toBe('SYSTEM_ERROR');
    expect(task.logs?.[0]?.system_logs).toEqual([expect.stringContaining('ThrottlingException')]);
  });

  it('refuses a task the admission policy forbids with the rule and field, storing and starting nothing', async () => {
    wiring.deps.admission = { ...DEFAULT_ADMISSION, allowedImagePrefixes: ['public.ecr.aws/'], maxDiskGb: 10 };
    const before = (await table.store.listSummaries({ owner: 'lena', limit: 10 })).entries.length;
    const refused = { executors: [{ image: 'docker.io/x/miner', command: ['mine'] }], resources: { disk_gb: 50 } };
    const result = await call(createTask, apiEvent('POST', '/ga4gh/tes/v1/tasks', { body: JSON.stringify(refused), sub: 'lena' }));
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({
      code: 'INVALID_TASK',
      details: [
        expect.objectContaining({ path: 'resources.disk_gb', rule: 'max_disk_gb' }),
        expect.objectContaining({ path: 'executors[0].image', rule: 'allowed_image_prefixes' }),
      ],
    });
    expect((await table.store.listSummaries({ owner: 'lena', limit: 10 })).entries.length).toBe(before);
    expect(workflow.started).toEqual([]);
  });

  it('answers 503 and stores nothing when tasks cannot run here', async () => {
    workflow.ensureReady = () => Promise.reject(new ServiceUnavailableError('tasks cannot run on this machine: no sandbox'));
    const before = (await table.store.listSummaries({ owner: 'kim', limit: 10 })).entries.length;
    const result = await call(createTask, apiEvent('POST', '/ga4gh/tes/v1/tasks', { body, sub: 'kim' }));
    expect(result.status).toBe(503);
    expect(result.body).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('no sandbox') });
    expect((await table.store.listSummaries({ owner: 'kim', limit: 10 })).entries.length).toBe(before);
    expect(workflow.started).toEqual([]);
  });

  it('stores and returns map keys named like Object methods (constructor, toString)', async () => {
    const odd = JSON.stringify({ executors: [{ image: 'alpine', command: ['true'], env: { constructor: 'e', valueOf: 'v' } }], tags: { constructor: 'c', toString: 't' } });
    const created = await call(createTask, apiEvent('POST', '/ga4gh/tes/v1/tasks', { body: odd, sub: 'olga' }));
    expect(created.status).toBe(200);
    const id = created.body['id'] as string;
    const full = (await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, query: 'view=FULL', sub: 'olga' }))).body as unknown as TesTask;
    expect(full.tags).toEqual({ constructor: 'c', toString: 't' });
    expect(full.executors[0]?.env).toEqual({ constructor: 'e', valueOf: 'v' });
  });

  it("refuses a URL outside the caller's storage (400, rule storage_scope, field named) and stores nothing", async () => {
    const before = (await table.store.listSummaries({ limit: 1000 })).entries.length;
    const body = {
      executors: [{ image: 'a', command: ['b'] }],
      inputs: [{ path: '/in/theirs', url: `s3://${MEMORY_BUCKET}/users/bob/secret.txt` }],
      outputs: [{ path: '/out', url: `s3://${MEMORY_BUCKET}/tasks/`, type: 'DIRECTORY' }],
    };
    const refused = await call(createTask, apiEvent('POST', '/ga4gh/tes/v1/tasks', { body: JSON.stringify(body), sub: 'ivy' }));
    expect(refused.status).toBe(400);
    expect(refused.body['details']).toEqual([
      expect.objectContaining({ path: 'inputs[0].url', rule: 'storage_scope' }),
      expect.objectContaining({ path: 'outputs[0].url', rule: 'storage_scope' }),
    ]);
    expect((await table.store.listSummaries({ limit: 1000 })).entries.length).toBe(before);
    const own = await call(
      createTask,
      apiEvent('POST', '/ga4gh/tes/v1/tasks', { body: JSON.stringify({ ...body, inputs: [{ path: '/in/mine', url: `s3://${MEMORY_BUCKET}/users/ivy/in.txt` }], outputs: [] }), sub: 'ivy' }),
    );
    expect(own.status).toBe(200);
  });

  it('tells each caller their own storage in service-info, and anyone else where users’ storage is', async () => {
    const mine = await call(getServiceInfo, apiEvent('GET', '/ga4gh/tes/v1/service-info', { sub: 'ivy' }));
    expect(mine.body['storage']).toEqual([`s3://${MEMORY_BUCKET}/users/ivy/`]);
    const anyone = await call(getServiceInfo, apiEvent('GET', '/ga4gh/tes/v1/service-info'));
    expect(anyone.body['storage']).toEqual([`s3://${MEMORY_BUCKET}/users/{owner}/`]);
  });

  it('keeps large content out of the task item and returns it in FULL', async () => {
    const content = 'x'.repeat(64 * 1024);
    const created = await call(
      createTask,
      apiEvent('POST', '/ga4gh/tes/v1/tasks', { body: JSON.stringify({ executors: [{ image: 'a', command: ['b'] }], inputs: [{ path: '/in/large', content }] }), sub: 'ivy' }),
    );
    const id = created.body['id'] as string;
    const stored = await table.store.get(id);
    expect(stored?.task.inputs?.[0]?.content).toBeUndefined();
    expect(stored?.offloaded).toEqual([
      { input: 0, key: `tasks/${id}/inputs/0/content`, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') },
    ]);
    const full = await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, query: 'view=FULL', sub: 'ivy' }));
    expect((full.body as unknown as TesTask).inputs?.[0]?.content).toBe(content);
    // Expired by the bucket's lifecycle, it is left out; the task is still shown (not a 500).
    (wiring.deps.objects as MemoryObjects).objects.delete(`tasks/${id}/inputs/0/content`);
    const expired = await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, query: 'view=FULL', sub: 'ivy' }));
    expect(expired.status).toBe(200);
    expect((expired.body as unknown as TesTask).inputs?.[0]).toEqual({ path: '/in/large', type: 'FILE' });
    // Changed in the bucket, it is not the client's content any more, and is not shown as such.
    (wiring.deps.objects as MemoryObjects).objects.set(`tasks/${id}/inputs/0/content`, 'echo changed');
    const changed = await call(getTask, apiEvent('GET', `/ga4gh/tes/v1/tasks/${id}`, { pathId: id, query: 'view=FULL', sub: 'ivy' }));
    expect((changed.body as unknown as TesTask).inputs?.[0]).toEqual({ path: '/in/large', type: 'FILE' });
  });

  it('refuses a task document over 300 KiB once large content is set aside, storing nothing', async () => {
    const before = (await table.store.listSummaries({ owner: 'jack', limit: 10 })).entries.length;
    const result = await call(
      createTask,
      apiEvent('POST', '/ga4gh/tes/v1/tasks', { body: JSON.stringify({ executors: [{ image: 'a', command: ['x'.repeat(310 * 1024)] }] }), sub: 'jack' }),
    );
    expect(result.status).toBe(400);
    expect(result.body['code']).toBe('TASK_TOO_LARGE');
    expect((await table.store.listSummaries({ owner: 'jack', limit: 10 })).entries.length).toBe(before);
  });
});
