/** How tasks read to a person: durations, ages, the list's table, one task's summary. */
import type { TesTask } from '../lambdas/domain/tes.js';

/**
 * A span of time as people say it, to the precision that matters at that size.
 *
 *   formatDuration(4_200) // '4.2s'    formatDuration(185_000) // '3m05s'    formatDuration(7_500_000) // '2h05m'
 */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${pad(Math.floor(seconds % 60))}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d${pad(hours % 24)}h`;
}

/** How long ago, in one unit, as listings say it: `5s`, `3m`, `2h`, `4d`. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/**
 * Text from the server as a terminal may show it: control characters (C0, DEL, C1: escape sequences
 * that move the cursor, retitle the window or write the clipboard) and the bidirectional overrides
 * that make text read other than it is, each written as its escape. A task's name, tags, commands,
 * URLs and system logs are whoever created it's, and an admin lists everyone's.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function time(text: string | undefined): number | undefined {
  const at = text === undefined ? NaN : Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/** When the task started running and, once it has, when it ended (BASIC or FULL view). */
export function taskTimes(task: TesTask): { start?: number; end?: number } {
  const first = task.logs?.[0];
  const last = task.logs?.at(-1);
  const start = time(first?.start_time) ?? time(first?.logs[0]?.start_time);
  const end = time(last?.end_time) ?? time(last?.logs.at(-1)?.end_time);
  return { ...(start === undefined ? {} : { start }), ...(end === undefined || start === undefined ? {} : { end }) };
}

/** How long the task ran (so far, while it runs); empty when that is not known. */
export function taskDuration(task: TesTask, now: number, ended: boolean): string {
  const { start, end } = taskTimes(task);
  if (start === undefined) return '';
  if (end !== undefined) return formatDuration(end - start);
  return ended ? '' : `${formatDuration(now - start)}…`;
}

/** Rows as aligned columns, two spaces apart; the last column is not padded. Cells are made printable. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  rows = rows.map((row) => row.map(printable));
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** An argv as a shell would take it back: words with anything but safe characters in single quotes. */
export function shellWords(argv: readonly string[]): string {
  return argv.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** One task for a person to read, one fact a line, each made printable. */
export function taskSummary(task: TesTask, now: number, ended: boolean): string {
  const lines: [string, string][] = [['id', task.id ?? ''], ['state', task.state ?? '']];
  if (task.name !== undefined) lines.push(['name', task.name]);
  if (task.description !== undefined) lines.push(['description', task.description]);
  const created = time(task.creation_time);
  if (created !== undefined) lines.push(['created', `${task.creation_time} (${formatAge(now - created)} ago)`]);
  const duration = taskDuration(task, now, ended);
  if (duration !== '') lines.push(['ran', duration]);
  if (task.tags !== undefined && Object.keys(task.tags).length > 0) lines.push(['tags', Object.entries(task.tags).map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join(' ')]);
  const resources = task.resources;
  if (resources !== undefined) {
    const parts = [
      resources.cpu_cores === undefined ? '' : `${resources.cpu_cores} CPU`,
      resources.ram_gb === undefined ? '' : `${resources.ram_gb} GB RAM`,
      resources.disk_gb === undefined ? '' : `${resources.disk_gb} GB disk`,
      resources.preemptible === true ? 'preemptible' : '',
    ].filter((part) => part !== '');
    if (parts.length > 0) lines.push(['resources', parts.join(', ')]);
  }
  const out = lines.map(([key, value]) => `${key.padEnd(11)}${value}`);
  const logs = task.logs?.at(-1)?.logs ?? [];
  (task.executors ?? []).forEach((executor, i) => {
    const log = logs[i];
    const ran = log === undefined ? '' : log.end_time === undefined ? '  running' : `  exit ${log.exit_code}`;
    out.push(`${i === 0 ? 'executors'.padEnd(11) : ' '.repeat(11)}${i}: ${executor.image} ${shellWords(executor.command)}${ran}`);
  });
  for (const input of task.inputs ?? []) out.push(`${'input'.padEnd(11)}${input.url ?? '(content)'} → ${input.path}`);
  for (const output of task.outputs ?? []) out.push(`${'output'.padEnd(11)}${output.path} → ${output.url}`);
  for (const line of task.logs?.flatMap((attempt) => attempt.system_logs ?? []) ?? []) out.push(`${'system log'.padEnd(11)}${line}`);
  return out.map(printable).join('\n');
}
