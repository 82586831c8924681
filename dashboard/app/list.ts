/**
 * The task list: newest first, filtered by state, name prefix and a tag, a page at a time (the API's
 * page tokens, kept so that Previous goes back), refreshed every few seconds while the tab is visible.
 * The filters live in the route (`#/?state=RUNNING&name=align&tag=project%3Dx&size=50`), so a
 * filtered list can be bookmarked.
 */
import type { TesState, TesTask } from '../../lambdas/domain/tes.js';
import type { ListFilter } from './api.js';
import { h } from './dom.js';
import { duration, runTime, stateClass, stateOf, STATES, time } from './format.js';
import { messageOf, Poller, type View, type ViewContext } from './view.js';

const REFRESH_MS = 5000;
export const DEFAULT_PAGE_SIZE = 25;
/** The API's own ceiling (README, API behaviour). */
const MAX_PAGE_SIZE = 2048;

export function filterFrom(query: URLSearchParams): ListFilter {
  const state = query.get('state');
  const tag = query.get('tag');
  const size = Number(query.get('size') ?? DEFAULT_PAGE_SIZE);
  return {
    ...(state !== null && (STATES as string[]).includes(state) ? { state: state as TesState } : {}),
    namePrefix: query.get('name') ?? '',
    tags: tag === null || tag === '' ? [] : [tag],
    pageSize: Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE ? size : DEFAULT_PAGE_SIZE,
  };
}

/** The route of a filtered list. */
export function listHash(filter: Partial<ListFilter>): string {
  const query = new URLSearchParams();
  if (filter.state !== undefined) query.set('state', filter.state);
  if (filter.namePrefix !== undefined && filter.namePrefix !== '') query.set('name', filter.namePrefix);
  for (const tag of filter.tags ?? []) query.append('tag', tag);
  if (filter.pageSize !== undefined && filter.pageSize !== DEFAULT_PAGE_SIZE) query.set('size', String(filter.pageSize));
  const text = query.toString();
  return text === '' ? '#/' : `#/?${text}`;
}

export const taskHash = (id: string): string => `#/tasks/${encodeURIComponent(id)}`;

function row(task: TesTask): HTMLTableRowElement {
  const state = stateOf(task);
  const href = taskHash(task.id ?? '');
  const ran = runTime(task);
  return h(
    'tr',
    { 'data-id': task.id, 'data-state': state },
    h('td', {}, h('span', { class: stateClass(state) }, state)),
    h('td', { class: 'name' }, h('a', { href, class: task.name === undefined ? 'muted' : undefined }, task.name ?? '(no name)')),
    h('td', { class: 'id' }, h('a', { href }, task.id ?? '')),
    h('td', {}, time(task.creation_time)),
    h('td', {}, ran === undefined ? '—' : duration(ran)),
  );
}

export function listView(context: ViewContext, query: URLSearchParams): View {
  const filter = filterFrom(query);
  /** The token of each page walked so far (the first page has none): Previous pops one. */
  const pages: (string | undefined)[] = [undefined];
  let nextToken: string | undefined;
  /** Bumped on each paging step, so an answer for the page left behind is not drawn. */
  let step = 0;

  const state = h('select', { name: 'state', id: 'filter-state' }, h('option', { value: '' }, 'any state'), ...STATES.map((s) => h('option', { value: s, selected: s === filter.state }, s)));
  const name = h('input', { name: 'name', id: 'filter-name', type: 'search', value: filter.namePrefix, placeholder: 'name starts with', autocomplete: 'off' });
  const tag = h('input', { name: 'tag', id: 'filter-tag', type: 'search', value: filter.tags[0] ?? '', placeholder: 'key=value', autocomplete: 'off' });
  const size = h('input', { name: 'size', id: 'filter-size', type: 'number', min: '1', max: String(MAX_PAGE_SIZE), value: String(filter.pageSize) });
  const form = h(
    'form',
    { class: 'filters', id: 'filters' },
    h('label', {}, 'State ', state),
    h('label', {}, 'Name ', name),
    h('label', {}, 'Tag ', tag),
    h('label', {}, 'Per page ', size),
    h('button', { type: 'submit' }, 'Apply'),
    h('a', { href: '#/', class: 'clear' }, 'Clear'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    context.navigate(
      listHash({
        ...(state.value === '' ? {} : { state: state.value as TesState }),
        namePrefix: name.value,
        tags: tag.value.trim() === '' ? [] : [tag.value.trim()],
        pageSize: Number(size.value) || DEFAULT_PAGE_SIZE,
      }),
    );
  });

  const body = h('tbody');
  const table = h('table', { class: 'tasks', id: 'tasks' }, h('thead', {}, h('tr', {}, ...['State', 'Name', 'ID', 'Created', 'Duration'].map((t) => h('th', { scope: 'col' }, t)))), body);
  const previous = h('button', { type: 'button', id: 'previous', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', id: 'next', disabled: true }, 'Next →');
  const page = h('span', { id: 'page', class: 'muted' }, 'page 1');
  const status = h('p', { class: 'status', id: 'list-status', role: 'status' });
  context.main.replaceChildren(h('h1', {}, 'Tasks'), form, table, h('nav', { class: 'pager' }, previous, page, next), status);

  const poller = new Poller(async () => {
    const asked = step;
    try {
      const answer = await context.client.listTasks(filter, pages.at(-1));
      if (asked !== step) return REFRESH_MS;
      const tasks = answer.tasks ?? [];
      body.replaceChildren(...(tasks.length === 0 ? [h('tr', {}, h('td', { colspan: '5', class: 'empty' }, 'No tasks match.'))] : tasks.map(row)));
      nextToken = answer.next_page_token === undefined || answer.next_page_token === '' ? undefined : answer.next_page_token;
      next.disabled = nextToken === undefined;
      previous.disabled = pages.length === 1;
      page.textContent = `page ${pages.length}`;
      status.className = 'status';
      status.textContent = `Updated ${time(new Date().toISOString())}; refreshed every ${REFRESH_MS / 1000} s while this tab is visible.`;
    } catch (error) {
      if (context.refusedToken(error)) return undefined;
      status.className = 'status error';
      status.textContent = `Could not list tasks: ${messageOf(error)}`;
    }
    return REFRESH_MS;
  });
  const turn = (forward: boolean) => {
    if (forward && nextToken === undefined) return;
    if (forward) pages.push(nextToken);
    else if (pages.length > 1) pages.pop();
    step += 1;
    next.disabled = true;
    previous.disabled = true;
    poller.now();
  };
  next.addEventListener('click', () => turn(true));
  previous.addEventListener('click', () => turn(false));
  return { dispose: () => poller.stop() };
}
