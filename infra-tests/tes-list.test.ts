/**
 * ListTasks, black box: filters (name_prefix, state, tags with the spec's truth table, all ANDed),
 * views, page sizes and a paging walk with no duplicates, no gaps, newest first.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { TesListTasksResponse, TesTask } from '../lambdas/domain/tes.js';
import { expectErrorShape, expectSpecResponse } from './support/spec-assertions.js';
import { useTarget } from './support/target.js';
import { RUN_ID, task, waitForTerminal } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

const suite = useTarget();

async function create(body: TesTask): Promise<string> {
  const reply = await suite.tes.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return reply.body.id;
}

async function list(query: string): Promise<TesListTasksResponse> {
  const reply = await suite.tes.get<TesListTasksResponse>(`/tasks?${query}`);
  expect(reply.status, reply.text).toBe(200);
  expectSpecResponse('tesListTasksResponse', reply.body, /view=(BASIC|FULL)/.test(query) ? 'FULL' : 'MINIMAL');
  return reply.body;
}

/** Every task the query finds, walking all pages. */
async function walk(query: string, pageSize: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await list(`${query}&page_size=${pageSize}${token ? `&page_token=${encodeURIComponent(token)}` : ''}`);
    pages += 1;
    expect(page.tasks.length).toBeLessThanOrEqual(pageSize);
    ids.push(...page.tasks.map((t) => t.id as string));
    token = page.next_page_token;
    if (token !== undefined) expect(page.tasks.length, 'a page with a next_page_token must be full').toBe(pageSize);
  } while (token !== undefined && pages < 100);
  return { ids, pages };
}

const scope = `tag_key=run&tag_value=${RUN_ID}`;

describe('ListTasks filters', () => {
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    ids['alpha'] = await create(task({ name: 'alpha-1', tags: { group: 'filters', color: 'red', size: '' } }));
    ids['alphabet'] = await create(task({ name: 'alphabet', tags: { group: 'filters', color: 'blue' } }));
    ids['beta'] = await create(task({ name: 'beta-alpha', tags: { group: 'filters', color: 'red', shape: 'round' } }));
    ids['unnamed'] = await create(task({ tags: { group: 'filters' } }));
  });
  const inGroup = `${scope}&tag_key=group&tag_value=filters`;
  const found = async (query: string): Promise<string[]> => (await list(`${inGroup}&${query}`)).tasks.map((t) => t.id as string);

  it('name_prefix matches a prefix, not a substring', async () => {
    expect((await found('name_prefix=alpha')).sort()).toEqual([ids['alpha'], ids['alphabet']].sort());
    expect(await found('name_prefix=lpha')).toEqual([]);
  });

  it('tag with a value matches the exact value', async () => {
    expect((await found('tag_key=color&tag_value=red')).sort()).toEqual([ids['alpha'], ids['beta']].sort());
  });

  it('tag without a value matches the key with any value, including empty', async () => {
    expect(await found('tag_key=size')).toEqual([ids['alpha']]);
    expect(await found('tag_key=color&tag_value=')).toHaveLength(3);
  });

  it('every tag pair must match', async () => {
    expect(await found('tag_key=color&tag_value=red&tag_key=shape&tag_value=round')).toEqual([ids['beta']]);
    expect(await found('tag_key=color&tag_value=blue&tag_key=shape&tag_value=round')).toEqual([]);
  });

  it('combines name_prefix, state and tags with AND', async () => {
    expect(await found('name_prefix=alpha&tag_key=color&tag_value=red')).toEqual([ids['alpha']]);
    // Tasks run: wait until alpha's state no longer changes before filtering on it.
    const state = (await waitForTerminal((path) => suite.tes.get<TesTask>(path), ids['alpha'] as string)).state as string;
    const other = state === 'COMPLETE' ? 'QUEUED' : 'COMPLETE';
    expect(await found(`name_prefix=alpha&tag_key=color&tag_value=red&state=${state}`)).toEqual([ids['alpha']]);
    expect(await found(`name_prefix=alpha&tag_key=color&tag_value=red&state=${other}`)).toEqual([]);
    expect(await found('name_prefix=beta&tag_key=color&tag_value=blue')).toEqual([]);
  });

  it('filters by state', async () => {
    const canceled = await create(task({ name: 'state-filter', tags: { group: 'filters' }, executors: [{ image: TEST_IMAGE, command: ['sleep', '120'] }] }));
    await suite.tes.post(`/tasks/${canceled}:cancel`);
    const state = (await waitForTerminal((path) => suite.tes.get<TesTask>(path), canceled)).state as string;
    expect(await found(`state=${state}`)).toContain(canceled);
    expect(await found('state=COMPLETE')).not.toContain(canceled);
  });

  it('refuses an unknown state with a 400', async () => {
    const reply = await suite.tes.get('/tasks?state=FINISHED');
    expect(reply.status).toBe(400);
    expectErrorShape(reply.body, 400);
  });
});

describe('ListTasks views', () => {
  beforeAll(async () => {
    await create(task({ name: 'viewed', inputs: [{ path: '/in/data', content: 'listed-secret' }], tags: { group: 'views' } }));
  });
  const query = `${scope}&tag_key=group&tag_value=views`;

  it('is MINIMAL by default: id and state only', async () => {
    const page = await list(query);
    expect(page.tasks).toHaveLength(1);
    expect(Object.keys(page.tasks[0] as object).sort()).toEqual(['id', 'state']);
  });

  it('BASIC leaves out content', async () => {
    const page = await list(`${query}&view=BASIC`);
    expect(page.tasks[0]).toMatchObject({ name: 'viewed', inputs: [{ path: '/in/data' }] });
    expect(JSON.stringify(page)).not.toContain('listed-secret');
  });

  it('FULL includes content', async () => {
    expect((await list(`${query}&view=FULL`)).tasks[0]?.inputs?.[0]?.content).toBe('listed-secret');
  });

  it('refuses an unknown view with a 400', async () => {
    expect((await suite.tes.get(`/tasks?${query}&view=HUGE`)).status).toBe(400);
  });
});

describe('ListTasks paging', () => {
  const created: string[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 23; i += 1) created.push(await create(task({ name: `page-${i}`, tags: { group: 'paging', odd: String(i % 2) } })));
  });
  const query = `${scope}&tag_key=group&tag_value=paging`;

  it.each([1, 5, 7, 23, 50])('walks every task once, newest first, with page_size %i', async (size) => {
    const { ids, pages } = await walk(query, size);
    expect(ids).toEqual([...created].reverse());
    expect(pages).toBe(Math.max(1, Math.ceil(created.length / size)));
  });

  it('fills every page even when the filter matches one task in several', async () => {
    const { ids } = await walk(`${query}&tag_key=odd&tag_value=0`, 3);
    expect(ids).toEqual(created.filter((_, i) => i % 2 === 0).reverse());
  });

  it('walks the same in the BASIC view', async () => {
    expect((await walk(`${query}&view=BASIC`, 4)).ids).toEqual([...created].reverse());
  });

  it('has no next_page_token on the last page', async () => {
    const page = await list(`${query}&page_size=100`);
    expect(page.tasks).toHaveLength(created.length);
    expect(page.next_page_token).toBeUndefined();
  });

  it('clamps a page_size above 2048 instead of refusing it', async () => {
    expect((await list(`${query}&page_size=100000`)).tasks).toHaveLength(created.length);
  });

  it('refuses a negative page_size with a 400', async () => {
    expect((await suite.tes.get(`/tasks?${query}&page_size=-3`)).status).toBe(400);
  });

  it('refuses a tampered page token with a 400', async () => {
    const token = (await list(`${query}&page_size=2`)).next_page_token as string;
    const tampered = `${token.slice(0, 5)}${token[5] === 'A' ? 'B' : 'A'}${token.slice(6)}`;
    const reply = await suite.tes.get(`/tasks?${query}&page_size=2&page_token=${encodeURIComponent(tampered)}`);
    expect(reply.status).toBe(400);
    expectErrorShape(reply.body, 400);
  });

  it('refuses a page token used with different filters', async () => {
    const token = (await list(`${query}&page_size=2`)).next_page_token as string;
    const reply = await suite.tes.get(`/tasks?${scope}&page_size=2&page_token=${encodeURIComponent(token)}`);
    expect(reply.status).toBe(400);
  });

  it('refuses garbage as a page token', async () => {
    expect((await suite.tes.get('/tasks?page_token=not-a-token')).status).toBe(400);
  });

  it('is served at /v1 too', async () => {
    const reply = await suite.tes.request<TesListTasksResponse>('GET', `/v1/tasks?${query}&page_size=3`, undefined, { base: suite.target.root });
    expect(reply.status).toBe(200);
    expect(reply.body.tasks.map((t) => t.id)).toEqual([...created].reverse().slice(0, 3));
  });
});
