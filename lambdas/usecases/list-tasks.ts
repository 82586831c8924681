/**
 * ListTasks. Primary course: walk the caller's newest-first index (the per-state index when
 * filtering by state), keep what matches name_prefix and the tags, and stop once the page is full
 * plus one more match (so a next_page_token always leads somewhere). BASIC and FULL pages then
 * read exactly the page's tasks by key. A page never reads other users' tasks: its cost grows with
 * the page (and with how rarely the filters match), never with the table. An admin's page walks
 * every owner's tasks (the sharded `all` index), filtering by state like the other filters.
 */
import type { Caller } from '../domain/caller.js';
import { listScope, type ListQuery } from '../domain/list-query.js';
import { matchesTags } from '../domain/tag-filter.js';
import type { TaskSummary } from '../domain/task-record.js';
import type { TesListTasksResponse, TesTask } from '../domain/tes.js';
import { minimalView, renderTask } from '../domain/views.js';
import type { PageTokens } from '../domain/page-token.js';
import type { TesDeps } from './deps.js';
import { withContent, withListedOutputsOnly, withSpilledLogs } from './get-task.js';
import { MAX_RESPONSE_BYTES } from '../domain/output-list.js';

function pageTokensOf(deps: TesDeps): PageTokens {
  if (deps.pageTokens === undefined) throw new Error('TES_PAGE_TOKEN_SECRET is not set (ListTasks signs page tokens)');
  return deps.pageTokens;
}

/** A FULL page stops growing here: a Lambda response must stay under 6 MB. */
export const MAX_PAGE_RESPONSE_BYTES = MAX_RESPONSE_BYTES;
/** How many index entries one read asks for when filters may reject most of them. */
const FILTERED_READ_MIN = 100;
const FILTERED_READ_MAX = 1000;

export interface ListOutcome {
  response: TesListTasksResponse;
  /** DynamoDB read units the page cost (for metrics and the benchmark). */
  readUnits: number;
}

function matches(summary: TaskSummary, query: ListQuery): boolean {
  if (query.namePrefix !== undefined && !(summary.name ?? '').startsWith(query.namePrefix)) return false;
  return matchesTags(summary.tags, query.tags);
}

export async function listTasks(deps: TesDeps, caller: Caller, query: ListQuery): Promise<ListOutcome> {
  // An admin walks every owner's tasks; the page token is bound to that, so no one else can use it.
  const owner = caller.admin ? undefined : caller.owner;
  const scope = listScope(caller.admin ? { admin: caller.owner } : caller.owner, query);
  let after = query.pageToken === undefined ? undefined : pageTokensOf(deps).read(scope, query.pageToken).after;
  const filtering = query.namePrefix !== undefined || query.tags.length > 0 || (owner === undefined && query.state !== undefined);
  const wanted = query.pageSize + 1;
  const found: TaskSummary[] = [];
  let readUnits = 0;
  let exhausted = false;
  while (found.length < wanted && !exhausted) {
    const need = wanted - found.length;
    const limit = filtering ? Math.min(FILTERED_READ_MAX, Math.max(need * 2, FILTERED_READ_MIN)) : need;
    const page = await deps.store.listSummaries({
      ...(owner === undefined ? {} : { owner }),
      ...(query.state ? { state: query.state } : {}),
      ...(after ? { after } : {}),
      limit,
    });
    readUnits += page.readUnits;
    let consumed = 0;
    for (const entry of page.entries) {
      after = entry.id;
      consumed += 1;
      if (matches(entry, query)) found.push(entry);
      if (found.length >= wanted) break;
    }
    if (consumed === page.entries.length && page.last !== undefined) after = page.last;
    exhausted = page.exhausted || (page.entries.length === 0 && page.last === undefined);
  }

  const pageEntries = found.slice(0, query.pageSize);
  let more = found.length > query.pageSize;
  let position = pageEntries.at(-1)?.id;
  let tasks: TesTask[];
  if (query.view === 'MINIMAL') {
    tasks = pageEntries.map(minimalView);
  } else {
    tasks = [];
    let bytes = 0;
    for (const record of await deps.store.getMany(pageEntries.map((e) => e.id))) {
      // The index is read a moment before the items: drop a task that left the filtered state since.
      if (query.state !== undefined && record.state !== query.state) continue;
      const shown = withListedOutputsOnly(record);
      const task = renderTask(query.view === 'FULL' ? await withSpilledLogs(deps, await withContent(deps, shown)) : shown, query.view);
      bytes += Buffer.byteLength(JSON.stringify(task));
      if (bytes > MAX_PAGE_RESPONSE_BYTES && tasks.length > 0) {
        more = true;
        position = tasks.at(-1)?.id;
        break;
      }
      tasks.push(task);
    }
  }
  const response: TesListTasksResponse = { tasks };
  if (more && position !== undefined) response.next_page_token = pageTokensOf(deps).issue(scope, { after: position });
  return { response, readUnits };
}
