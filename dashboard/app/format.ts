/** How the page writes times, durations, sizes and states. */
import { isCancelable, isTerminal } from '../../lambdas/domain/states.js';
import type { TesState, TesTask } from '../../lambdas/domain/tes.js';

/** Every TES state with how it is shown: a Record, so the compiler checks that none is missing. */
const STATE_KIND: Readonly<Record<TesState, 'waiting' | 'active' | 'ok' | 'failed' | 'stopped'>> = {
  QUEUED: 'waiting',
  INITIALIZING: 'active',
  RUNNING: 'active',
  PAUSED: 'waiting',
  PREEMPTED: 'waiting',
  CANCELING: 'stopped',
  COMPLETE: 'ok',
  EXECUTOR_ERROR: 'failed',
  SYSTEM_ERROR: 'failed',
  CANCELED: 'stopped',
  UNKNOWN: 'waiting',
};

/** The states a list can be filtered by, in the order of a task's life. */
export const STATES = Object.keys(STATE_KIND) as TesState[];

export function stateOf(task: Pick<TesTask, 'state'>): TesState {
  return task.state ?? 'UNKNOWN';
}

export function stateClass(state: TesState): string {
  return `state state-${STATE_KIND[state] ?? 'waiting'}`;
}

export const ended = (task: Pick<TesTask, 'state'>): boolean => isTerminal(stateOf(task));
export const cancelable = (task: Pick<TesTask, 'state'>): boolean => isCancelable(stateOf(task));

/** `2026-12-01 03:15:31` in the reader's time zone, or an em dash. */
export function time(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/** `850 ms`, `12.4 s`, `3 min 05 s`, `2 h 07 min`. */
export function duration(ms: number): string {
  if (!(ms >= 0)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.floor(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * How long a task has run: from its first attempt's start to its last attempt's end, or until now
 * while it has not ended. Undefined before it starts.
 */
export function runTime(task: TesTask, now = Date.now()): number | undefined {
  const logs = task.logs ?? [];
  const start = Date.parse(logs[0]?.start_time ?? logs[0]?.logs[0]?.start_time ?? '');
  if (Number.isNaN(start)) return undefined;
  const endText = logs.at(-1)?.end_time;
  const end = endText !== undefined ? Date.parse(endText) : ended(task) ? Number.NaN : now;
  return Number.isNaN(end) ? undefined : Math.max(0, end - start);
}

/** `1.5 KiB` from a byte count the API gives as a string. */
export function bytes(value: string | number | undefined): string {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let size = n;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${size.toFixed(size < 10 ? 1 : 0)} ${units[unit]}`;
}

/** An argv as one line a shell would read back the same: words with spaces or quotes are quoted. */
export function argv(command: readonly string[]): string {
  return command.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');
}
