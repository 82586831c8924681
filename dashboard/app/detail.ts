/**
 * One task in the FULL view: its executors and their logs (the tails of stdout and stderr, which the
 * API gives while an executor runs, so they are polled every two seconds until the task ends), inputs,
 * outputs and the files uploaded, system logs, the cost estimate and other metadata, and tags.
 * Cancel is offered while the task can still be canceled, after a confirmation.
 */
import type { TesExecutor, TesExecutorLog, TesTask, TesTaskLog } from '../../lambdas/domain/tes.js';
import { ApiError } from './api.js';
import { byId, h, tail, type Child } from './dom.js';
import { argv, bytes, cancelable, duration, ended, runTime, stateClass, stateOf, time } from './format.js';
import { listHash } from './list.js';
import { messageOf, Poller, type View, type ViewContext } from './view.js';

const REFRESH_MS = 2000;
/** Output files drawn at most: a task may list tens of thousands. */
const MAX_OUTPUT_FILES = 1000;
/** What the metadata's cost entries are called (lambdas/workflow/finalize.ts). */
type CostKey = 'estimated_cost_usd' | 'cost_prices' | 'vcpu_seconds' | 'gb_seconds';

type Pairs = readonly (readonly [string, Child])[];

/** A definition list of the pairs whose value is there. */
function dl(pairs: Pairs, attributes: Record<string, string> = {}): HTMLDListElement {
  const list = h('dl', attributes);
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    list.append(h('dt', {}, term), h('dd', {}, value));
  }
  return list;
}

function table(id: string, headings: readonly string[], rows: readonly (readonly Child[])[]): HTMLTableElement {
  return h(
    'table',
    { id, class: 'grid' },
    h('thead', {}, h('tr', {}, ...headings.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', {}, cell))))),
  );
}

/** A muted line that says there is nothing to show. */
const nothing = (text = 'None.'): HTMLElement => h('p', { class: 'muted' }, text);

/** The rows as a table, or `empty` when there are none. */
function tableOr(empty: string, id: string, headings: readonly string[], rows: readonly (readonly Child[])[]): HTMLElement {
  return rows.length === 0 ? nothing(empty) : table(id, headings, rows);
}

function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return h('section', { id, class: 'part' }, h('h2', {}, title), ...children);
}

const code = (text: string | undefined): Child => (text === undefined ? undefined : h('code', {}, text));

/** Renders one task; `previous` is the drawing it replaces, whose log scroll positions carry over. */
function draw(task: TesTask, previous: HTMLElement | undefined): HTMLElement {
  const attempts: TesTaskLog[] = task.logs ?? [];
  const last = attempts.at(-1);
  const state = stateOf(task);
  const ran = runTime(task);
  const logPre = (key: string, text: string) => tail(text, previous?.querySelector<HTMLPreElement>(`pre[data-key="${key}"]`) ?? undefined, { 'data-key': key });

  const executorLog = (log: TesExecutorLog, key: string, label: string): HTMLElement => {
    const live = log.end_time === undefined && !ended(task);
    return h(
      'div',
      { class: 'executor-log', 'data-key': key },
      h('h4', {}, label, live ? h('span', { class: 'live' }, ' live: the last 10 KiB, every 2 s') : undefined),
      dl([
        ['started', time(log.start_time)],
        ['ended', live ? 'still running' : time(log.end_time)],
        // The API reads 0 until an executor has ended.
        ['exit code', live ? '—' : String(log.exit_code)],
      ]),
      h('h5', {}, 'stdout'),
      logPre(`${key}-stdout`, log.stdout ?? ''),
      h('h5', {}, 'stderr'),
      logPre(`${key}-stderr`, log.stderr ?? ''),
    );
  };

  const executor = (spec: TesExecutor, index: number): HTMLElement => {
    const logs = attempts.flatMap((attempt, a) => {
      const log = attempt.logs[index];
      return log === undefined ? [] : [executorLog(log, `${a}-${index}`, attempts.length > 1 ? `Log, attempt ${a + 1}` : 'Log')];
    });
    return h(
      'article',
      { class: 'executor', id: `executor-${index}` },
      h('h3', {}, `Executor ${index}`),
      dl([
        ['image', code(spec.image)],
        ['command', h('pre', { class: 'command' }, argv(spec.command))],
        ['workdir', code(spec.workdir)],
        ['stdin', code(spec.stdin)],
        ['stdout', code(spec.stdout)],
        ['stderr', code(spec.stderr)],
        // Values may be secrets the submitter did not mean to show on a screen: names only.
        ['env', spec.env === undefined ? undefined : Object.keys(spec.env).join(', ')],
        ['ignore_error', spec.ignore_error === true ? 'yes' : undefined],
      ]),
      ...(logs.length > 0 ? logs : [h('p', { class: 'muted' }, 'Not started yet.')]),
    );
  };

  const files = last?.outputs ?? [];
  const metadata = Object.entries(last?.metadata ?? {});
  const costOf = (key: CostKey) => last?.metadata?.[key];
  const systemLogs = attempts.flatMap((attempt, a) => (attempt.system_logs ?? []).map((line) => (attempts.length > 1 ? `[attempt ${a + 1}] ${line}` : line)));
  const resources = task.resources ?? {};
  const resourceList = dl([
    ['CPU cores', resources.cpu_cores],
    ['RAM', resources.ram_gb === undefined ? undefined : `${resources.ram_gb} GB`],
    ['disk', resources.disk_gb === undefined ? undefined : `${resources.disk_gb} GB`],
    ['preemptible', resources.preemptible === undefined ? undefined : String(resources.preemptible)],
    ['zones', resources.zones?.join(', ')],
    ['backend parameters', resources.backend_parameters === undefined ? undefined : Object.entries(resources.backend_parameters).map(([k, v]) => `${k}=${v}`).join(', ')],
  ]);
  const tags = Object.entries(task.tags ?? {});

  return h(
    'div',
    { class: 'task', 'data-state': state },
    h(
      'div',
      { class: 'task-head' },
      h('h1', { id: 'task-name' }, task.name ?? task.id ?? ''),
      h('span', { id: 'task-state', class: stateClass(state) }, state),
    ),
    dl(
      [
        ['id', code(task.id)],
        ['description', task.description],
        ['created', time(task.creation_time)],
        ['started', time(attempts[0]?.start_time)],
        ['ended', last?.end_time === undefined ? undefined : time(last.end_time)],
        ['duration', ran === undefined ? undefined : duration(ran)],
      ],
      { id: 'summary' },
    ),
    section('executors', 'Executors', ...(task.executors ?? []).map(executor)),
    section(
      'inputs',
      'Inputs',
      tableOr(
        'None.',
        'inputs-table',
        ['name', 'path', 'type', 'from'],
        (task.inputs ?? []).map((input) => [
          input.name,
          code(input.path),
          input.type ?? 'FILE',
          input.url !== undefined ? code(input.url) : input.content !== undefined ? `content, ${bytes(new TextEncoder().encode(input.content).length)}` : undefined,
        ]),
      ),
    ),
    section(
      'outputs',
      'Outputs',
      tableOr('None.', 'outputs-table', ['name', 'path', 'type', 'to'], (task.outputs ?? []).map((output) => [output.name, code(output.path), output.type ?? 'FILE', code(output.url)])),
      h('h3', {}, 'Files uploaded'),
      tableOr(
        ended(task) ? 'None.' : 'None yet.',
        'output-files',
        ['path', 'url', 'size'],
        files.slice(0, MAX_OUTPUT_FILES).map((file) => [code(file.path), code(file.url), bytes(file.size_bytes)]),
      ),
      files.length > MAX_OUTPUT_FILES ? h('p', { class: 'muted' }, `and ${files.length - MAX_OUTPUT_FILES} more`) : undefined,
      last?.metadata?.['outputs_total'] === undefined ? undefined : h('p', { class: 'muted' }, `${last.metadata['outputs_total']} files in all (the API gives long lists in parts)`),
    ),
    section(
      'system-logs',
      'System logs',
      systemLogs.length === 0 ? nothing() : logPre('system', systemLogs.join('\n')),
    ),
    section(
      'cost',
      'Cost estimate',
      costOf('estimated_cost_usd') === undefined
        ? h('p', { class: 'muted' }, ended(task) ? 'None recorded.' : 'Known once the task has ended.')
        : dl(
            [
              ['estimated', `$${costOf('estimated_cost_usd')} (USD)`],
              ['prices', costOf('cost_prices')],
              ['vCPU-seconds', costOf('vcpu_seconds')],
              ['GB-seconds', costOf('gb_seconds')],
            ],
            { id: 'cost-summary' },
          ),
    ),
    resourceList.childElementCount === 0 ? undefined : section('resources', 'Resources', resourceList),
    section('metadata', 'Metadata', tableOr('None.', 'metadata-table', ['key', 'value'], metadata.map(([key, value]) => [code(key), value]))),
    section(
      'tags',
      'Tags',
      tags.length === 0
        ? nothing()
        : h('ul', { class: 'tags' }, ...tags.map(([key, value]) => h('li', {}, h('a', { href: listHash({ tags: [`${key}=${value}`] }), title: 'tasks with this tag' }, `${key}=${value}`)))),
    ),
  );
}

export function detailView(context: ViewContext, id: string): View {
  const cancel = h('button', { type: 'button', id: 'cancel', class: 'danger', hidden: true }, 'Cancel task');
  const status = h('p', { class: 'status', id: 'detail-status', role: 'status' });
  const body = h('div', { id: 'task' });
  context.main.replaceChildren(h('nav', { class: 'crumbs' }, h('a', { href: '#/' }, '← All tasks'), cancel), status, body);
  let shown: TesTask | undefined;

  const poller = new Poller(async () => {
    try {
      const task = await context.client.getTask(id);
      shown = task;
      body.replaceChildren(draw(task, body.firstElementChild as HTMLElement | undefined ?? undefined));
      cancel.hidden = !cancelable(task);
      status.className = 'status';
      status.textContent = ended(task) ? '' : `Updated ${time(new Date().toISOString())}; refreshed every ${REFRESH_MS / 1000} s until the task ends.`;
      return ended(task) ? undefined : REFRESH_MS;
    } catch (error) {
      if (context.refusedToken(error)) return undefined;
      if (error instanceof ApiError && error.status === 404) {
        body.replaceChildren(h('p', { class: 'empty' }, 'There is no task with this id that you may see.'));
        status.textContent = '';
        return undefined;
      }
      status.className = 'status error';
      status.textContent = `Could not read the task: ${messageOf(error)}`;
      return REFRESH_MS;
    }
  });

  const dialog = byId<HTMLDialogElement>('confirm');
  cancel.addEventListener('click', () => {
    byId('confirm-text').textContent = `Cancel task “${shown?.name ?? id}”? Whatever it is running is stopped.`;
    dialog.returnValue = '';
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue !== 'ok') return;
        cancel.disabled = true;
        context.client.cancelTask(id).then(
          () => {
            status.className = 'status';
            status.textContent = 'Cancel requested.';
            cancel.disabled = false;
            poller.now();
          },
          (error: unknown) => {
            cancel.disabled = false;
            if (context.refusedToken(error)) return;
            status.className = 'status error';
            status.textContent = `Could not cancel: ${messageOf(error)}`;
          },
        );
      },
      { once: true },
    );
    dialog.showModal();
  });
  return { dispose: () => poller.stop() };
}

