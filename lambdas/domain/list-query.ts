/**
 * Reads ListTasks and GetTask query parameters. Repeated keys (`tag_key`) come from the raw query
 * string, because API Gateway joins repeated values with commas in its parsed form.
 */
import { InvalidRequestError, type Problem } from './errors.js';
import { parseTagFilter, type TagCondition } from './tag-filter.js';
import { isTesState, isTesView, TES_STATES, TES_VIEWS, type TesState, type TesView } from './tes.js';

export const DEFAULT_PAGE_SIZE = 256;
export const MAX_PAGE_SIZE = 2048;

export interface ListQuery {
  namePrefix?: string;
  state?: TesState;
  tags: TagCondition[];
  pageSize: number;
  pageToken?: string;
  view: TesView;
}

function first(params: URLSearchParams, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = params.get(name);
    if (value !== null) return value;
  }
  return undefined;
}

function readView(params: URLSearchParams, problems: Problem[]): TesView {
  const view = first(params, 'view');
  if (view === undefined || view === '') return 'MINIMAL';
  if (isTesView(view)) return view;
  problems.push({ path: 'view', message: `must be one of ${TES_VIEWS.join(', ')}` });
  return 'MINIMAL';
}

function readPageSize(raw: string | undefined, problems: Problem[]): number {
  if (raw === undefined || raw === '') return DEFAULT_PAGE_SIZE;
  if (!/^\d+$/.test(raw)) {
    problems.push({ path: 'page_size', message: 'must be a positive integer' });
    return DEFAULT_PAGE_SIZE;
  }
  const size = Number(raw);
  // 0 means "unset", as in the protobuf clients; anything above the maximum is clamped.
  if (size === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(size, MAX_PAGE_SIZE);
}

/** Parses GetTask's query (`view`), or throws a 400 naming the bad parameter. */
export function parseViewQuery(rawQuery: string): TesView {
  return parseGetTaskQuery(rawQuery).view;
}

/** GetTask's query: the view, and `outputs_from` (the first file a long output list shows; 0 by default). */
export interface GetTaskQuery {
  view: TesView;
  outputsFrom: number;
}

/** Parses GetTask's query, or throws a 400 listing every bad parameter. */
export function parseGetTaskQuery(rawQuery: string): GetTaskQuery {
  const params = new URLSearchParams(rawQuery);
  const problems: Problem[] = [];
  const view = readView(params, problems);
  let outputsFrom = 0;
  const from = first(params, 'outputs_from');
  if (from !== undefined && from !== '') {
    if (/^\d{1,9}$/.test(from)) outputsFrom = Number(from);
    else problems.push({ path: 'outputs_from', message: 'must be a whole number of files, 0 or more' });
  }
  if (problems.length > 0) throw new InvalidRequestError('invalid query', problems);
  return { view, outputsFrom };
}

/** Parses ListTasks' query, or throws a 400 listing every bad parameter. */
export function parseListQuery(rawQuery: string): ListQuery {
  const params = new URLSearchParams(rawQuery);
  const problems: Problem[] = [];
  const query: ListQuery = {
    tags: parseTagFilter(params.getAll('tag_key'), params.getAll('tag_value')),
    pageSize: readPageSize(first(params, 'page_size', 'pageSize'), problems),
    view: readView(params, problems),
  };
  const namePrefix = first(params, 'name_prefix', 'namePrefix');
  if (namePrefix !== undefined && namePrefix !== '') query.namePrefix = namePrefix;
  const state = first(params, 'state');
  if (state !== undefined && state !== '') {
    if (isTesState(state)) query.state = state;
    else problems.push({ path: 'state', message: `must be one of ${TES_STATES.join(', ')}` });
  }
  const pageToken = first(params, 'page_token', 'pageToken');
  if (pageToken !== undefined && pageToken !== '') query.pageToken = pageToken;
  if (problems.length > 0) throw new InvalidRequestError('invalid ListTasks query', problems);
  return query;
}

/** What a page token is bound to: the caller and every filter (not the view or page size). */
export function listScope(owner: string | { admin: string }, query: ListQuery): string {
  return JSON.stringify([owner, query.namePrefix ?? null, query.state ?? null, query.tags.map((t) => [t.key, t.value])]);
}
