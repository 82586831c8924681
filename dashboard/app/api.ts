/** The TES API as the page calls it: ListTasks, GetTask and CancelTask, with the caller's bearer token. */
import type { TesListTasksResponse, TesState, TesTask } from '../../lambdas/domain/tes.js';

/** A refused call: the status and what the API said (its `message`, or API Gateway's). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ListFilter {
  state?: TesState;
  namePrefix?: string;
  /** `key=value` (or `key` for any value), each ANDed. */
  tags: string[];
  pageSize: number;
}

export class TesClient {
  private readonly base: string;

  constructor(
    apiUrl: string,
    private readonly token: () => string | undefined,
  ) {
    this.base = new URL(apiUrl, document.baseURI).href.replace(/\/+$/, '');
  }

  listTasks(filter: ListFilter, pageToken: string | undefined): Promise<TesListTasksResponse> {
    const query = new URLSearchParams({ view: 'BASIC', page_size: String(filter.pageSize) });
    if (filter.state !== undefined) query.set('state', filter.state);
    if (filter.namePrefix !== undefined && filter.namePrefix !== '') query.set('name_prefix', filter.namePrefix);
    for (const tag of filter.tags) {
      const at = tag.indexOf('=');
      query.append('tag_key', at < 0 ? tag : tag.slice(0, at));
      query.append('tag_value', at < 0 ? '' : tag.slice(at + 1));
    }
    if (pageToken !== undefined) query.set('page_token', pageToken);
    return this.call<TesListTasksResponse>('GET', `/tasks?${query}`);
  }

  getTask(id: string): Promise<TesTask> {
    return this.call<TesTask>('GET', `/tasks/${encodeURIComponent(id)}?view=FULL`);
  }

  async cancelTask(id: string): Promise<void> {
    await this.call('POST', `/tasks/${encodeURIComponent(id)}:cancel`);
  }

  private async call<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    const token = this.token();
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const body = (await response.json().catch(() => undefined)) as unknown;
    if (!response.ok) {
      const said = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
      throw new ApiError(response.status, typeof said === 'string' ? said : `the API answered ${response.status}`);
    }
    return body as T;
  }
}
