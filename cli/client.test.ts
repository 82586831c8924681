/**
 * The HTTP client against a fetch that answers as servers do (the port where the network would be):
 * what it sends, and the one line each kind of failure becomes.
 */
import { describe, expect, it } from 'vitest';
import { listQueryString, TesClient } from './client.js';
import { errorExitCode, ServerUnreachableError, TesRequestError } from './errors.js';
import { EXIT } from './exit-codes.js';

const SERVER = 'http://tes.example/ga4gh/tes/v1';

function answering(status: number, body: unknown, seen: { url?: string; init?: RequestInit } = {}): typeof fetch {
  return (url, init) => {
    seen.url = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    seen.init = init;
    return Promise.resolve(new Response(typeof body === 'string' ? body : JSON.stringify(body), { status }));
  };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: Error) => error,
  );
}

describe('listQueryString', () => {
  it('sends every filter by its TES name', () => {
    expect(listQueryString({ view: 'BASIC', state: 'RUNNING', namePrefix: 'job ', pageSize: 5, pageToken: 'tok' })).toBe('?view=BASIC&state=RUNNING&name_prefix=job+&page_size=5&page_token=tok');
    expect(listQueryString({})).toBe('');
  });

  it('puts tag keys without a value last, since keys and values are zipped by position', () => {
    expect(listQueryString({ tags: [['any', undefined], ['project', 'demo'], ['run', '7']] })).toBe('?tag_key=project&tag_key=run&tag_key=any&tag_value=demo&tag_value=7');
  });
});

describe('TesClient', () => {
  it('sends the bearer token and the task, and answers the new id', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    const client = new TesClient(SERVER, 'secret', answering(200, { id: 'abc' }, seen));
    expect(await client.createTask({ executors: [{ image: 'alpine', command: ['true'] }] })).toBe('abc');
    expect(seen.url).toBe(`${SERVER}/tasks`);
    expect(seen.init?.method).toBe('POST');
    expect((seen.init?.headers as Record<string, string>)['authorization']).toBe('Bearer secret');
    expect(JSON.parse(seen.init?.body as string)).toEqual({ executors: [{ image: 'alpine', command: ['true'] }] });
  });

  it('asks for one task in a view, and cancels at :cancel', async () => {
    const seen: { url?: string; init?: RequestInit } = {};
    await new TesClient(SERVER, undefined, answering(200, { id: 'a b', state: 'RUNNING' }, seen)).getTask('a b', 'FULL');
    expect(seen.url).toBe(`${SERVER}/tasks/a%20b?view=FULL`);
    expect((seen.init?.headers as Record<string, string>)['authorization']).toBeUndefined();
    await new TesClient(SERVER, undefined, answering(200, '', seen)).cancelTask('t1');
    expect([seen.init?.method, seen.url]).toEqual(['POST', `${SERVER}/tasks/t1:cancel`]);
  });

  it('says the server wants a token on a 401 without one, and that it refused the token with one', async () => {
    const unauthorized = answering(401, { message: 'Unauthorized' });
    expect((await failure(new TesClient(SERVER, undefined, unauthorized).listTasks())).message).toBe('the server wants a token: --token or TES_TOKEN');
    expect((await failure(new TesClient(SERVER, 'old', unauthorized).listTasks())).message).toMatch(/^the server refused the token \(401: Unauthorized\): check --token or TES_TOKEN$/);
  });

  it("lists an INVALID_TASK's problems, one a line", async () => {
    const body = { status: 400, code: 'INVALID_TASK', message: 'the task is invalid: …', details: [{ path: 'executors[0].image', message: 'required' }, { path: 'resources.disk_gb', message: 'too large', rule: 'max_disk_gb' }] };
    const error = await failure(new TesClient(SERVER, undefined, answering(400, body)).createTask({ executors: [] }));
    expect(error.message).toBe(['the server refused the task (400 INVALID_TASK):', '  executors[0].image: required', '  resources.disk_gb: too large (rule max_disk_gb)'].join('\n'));
    expect(errorExitCode(error)).toBe(EXIT.server);
  });

  it('names the task that is not there, and suspects the URL when the list is not there', async () => {
    const missing = answering(404, { status: 404, code: 'NOT_FOUND', message: 'task "x" not found' });
    expect((await failure(new TesClient(SERVER, undefined, missing).getTask('x'))).message).toBe(`no task x at ${SERVER} (404 NOT_FOUND: task "x" not found)`);
    const elsewhere = answering(404, '<html>Not Found</html>');
    expect((await failure(new TesClient(SERVER, undefined, elsewhere).listTasks())).message).toMatch(/does not serve the task list \(404: <html>Not Found<\/html>\): is --server the TES's base URL/);
  });

  it('names the server it could not reach and why', async () => {
    const refused: typeof fetch = () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
    const error = await failure(new TesClient(SERVER, undefined, refused).listTasks());
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect(error.message).toBe(`cannot reach the TES server at ${SERVER}: connection refused (is it running? npm start runs one here)`);
    expect(errorExitCode(error)).toBe(EXIT.server);
  });

  it('calls a 200 that is not JSON no TES answer', async () => {
    const error = await failure(new TesClient(SERVER, undefined, answering(200, '<html>hello</html>')).getTask('t1'));
    expect(error).toBeInstanceOf(TesRequestError);
    expect(error.message).toMatch(/gave no TES answer for task t1/);
  });
});
