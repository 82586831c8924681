/**
 * The TES API over HTTP (Node's fetch): the four task operations, each error a ServerUnreachableError
 * or a TesRequestError that says what was asked for. Nothing here is specific to this server.
 */
import type { TesCreateTaskResponse, TesListTasksResponse, TesState, TesTask, TesView } from '../lambdas/domain/tes.js';
import type { ErrorBody } from '../lambdas/domain/errors.js';
import { ServerUnreachableError, TesRequestError } from './errors.js';

export interface ListQuery {
  view?: TesView;
  state?: TesState;
  namePrefix?: string;
  /** Tag filters; a key without a value matches any value. */
  tags?: readonly (readonly [string, string | undefined])[];
  pageSize?: number;
  pageToken?: string;
}

/** How long one request may take before the server counts as not answering. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * ListTasks' query string. Tag keys and values are zipped by position, so the keys that have no
 * value go last.
 *
 *   listQueryString({ tags: [['a', undefined], ['b', 'x']] }) // '?tag_key=b&tag_key=a&tag_value=x'
 */
export function listQueryString(query: ListQuery): string {
  const params = new URLSearchParams();
  if (query.view !== undefined) params.set('view', query.view);
  if (query.state !== undefined) params.set('state', query.state);
  if (query.namePrefix !== undefined) params.set('name_prefix', query.namePrefix);
  const tags = [...(query.tags ?? [])].sort((a, b) => Number(a[1] === undefined) - Number(b[1] === undefined));
  for (const [key] of tags) params.append('tag_key', key);
  for (const [, value] of tags) if (value !== undefined) params.append('tag_value', value);
  if (query.pageSize !== undefined) params.set('page_size', String(query.pageSize));
  if (query.pageToken !== undefined) params.set('page_token', query.pageToken);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export class TesClient {
  constructor(
    /** The TES base URL, ending in /ga4gh/tes/v1 (or wherever the server has it). */
    readonly server: string,
    private readonly token?: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** CreateTask; the new task's id. */
  async createTask(task: TesTask): Promise<string> {
    return (await this.request<TesCreateTaskResponse>('POST', '/tasks', 'the task', { body: task })).id;
  }

  async getTask(id: string, view: TesView = 'MINIMAL'): Promise<TesTask> {
    return this.request<TesTask>('GET', `/tasks/${encodeURIComponent(id)}?view=${view}`, `task ${id}`);
  }

  async listTasks(query: ListQuery = {}): Promise<TesListTasksResponse> {
    return this.request<TesListTasksResponse>('GET', `/tasks${listQueryString(query)}`, 'the task list');
  }

  async cancelTask(id: string): Promise<void> {
    // Its answer is `{}`; a server that answers nothing has canceled all the same.
    await this.request('POST', `/tasks/${encodeURIComponent(id)}:cancel`, `task ${id}`, { emptyIsFine: true });
  }

  private async request<T>(method: string, path: string, what: string, { body, emptyIsFine = false }: { body?: unknown; emptyIsFine?: boolean } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(`${this.server}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      throw new ServerUnreachableError(this.server, error);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = parsed !== null && typeof parsed === 'object' ? (parsed as Partial<ErrorBody>) : { message: text.trim().slice(0, 200) || response.statusText };
      throw new TesRequestError(response.status, error, what, this.server, this.token !== undefined);
    }
    if (parsed === undefined && text === '' && emptyIsFine) return {} as T;
    if (parsed === undefined || parsed === null || typeof parsed !== 'object') {
      throw new TesRequestError(response.status, { message: `not a TES answer: ${JSON.stringify(text.slice(0, 120))}` }, what, this.server, this.token !== undefined);
    }
    return parsed as T;
  }
}
