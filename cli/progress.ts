/**
 * What a followed task is doing, on stderr: a live line (ora) when stderr is a terminal, a line at
 * each change of state or executor otherwise, nothing with --quiet. Ora also keeps its line clear
 * of what the executors write meanwhile.
 */
import type { Ora } from 'ora';
import type { TesTask } from '../lambdas/domain/tes.js';
import { isTerminal } from '../lambdas/domain/states.js';
import { formatDuration } from './format.js';

export interface Progress {
  /** The task as last seen, and the index of the executor followed. */
  show(task: TesTask, executor: number): void;
  /** A line of our own (on stderr). */
  say(line: string): void;
  /** The task has ended, or we stopped following it. */
  stop(): void;
}

export type ProgressKind = 'live' | 'lines' | 'none';

/**
 * The kind of progress this process can show: live only on a terminal that has a width (one of
 * none, as a pseudo-terminal can be, would have ora count each line as endless).
 */
export function progressKind(stderr: { isTTY?: boolean; columns?: number }, quiet: boolean): ProgressKind {
  if (quiet) return 'none';
  return stderr.isTTY === true && (stderr.columns ?? 0) > 0 ? 'live' : 'lines';
}

function describe(task: TesTask, executor: number): string {
  const state = task.state ?? 'UNKNOWN';
  const count = task.executors?.length ?? 0;
  const running = state === 'RUNNING' || state === 'PAUSED' || (task.logs?.at(-1)?.logs.length ?? 0) > 0;
  return running && count > 0 && !isTerminal(state) ? `${state}, executor ${Math.min(executor + 1, count)}/${count}` : state;
}

/** Progress for the task `id`, followed from `started` (a Date.now()). */
export async function createProgress(kind: ProgressKind, id: string, started: number, write: (line: string) => void): Promise<Progress> {
  const elapsed = () => formatDuration(Date.now() - started);
  if (kind === 'none') return { show: () => undefined, say: () => undefined, stop: () => undefined };
  if (kind === 'lines') {
    let last = '';
    return {
      show: (task, executor) => {
        const now = describe(task, executor);
        if (now !== last) write(`tes: ${id} ${now} (${elapsed()})\n`);
        last = now;
      },
      say: (line) => write(`tes: ${line}\n`),
      stop: () => undefined,
    };
  }
  // Loaded only for a terminal: scripts and pipes never pay for it.
  const { default: ora } = await import('ora');
  // Ctrl-C must stay a SIGINT (it cancels a run), so ora leaves stdin alone.
  const spinner: Ora = ora({ stream: process.stderr, discardStdin: false, text: `QUEUED  ${id}` }).start();
  let status = 'QUEUED';
  let ended: TesTask | undefined;
  const render = () => (spinner.text = `${status}  ${elapsed()}  ${id}`);
  const clock = setInterval(render, 1000);
  clock.unref();
  return {
    show: (task, executor) => {
      status = describe(task, executor);
      if (task.state !== undefined && isTerminal(task.state)) ended = task;
      render();
    },
    // Ora takes the line away while anything else writes to the terminal, and puts it back after.
    say: (line) => write(`tes: ${line}\n`),
    stop: () => {
      if (!spinner.isSpinning) return;
      clearInterval(clock);
      const text = `${status} after ${elapsed()}  ${id}`;
      if (ended?.state === 'COMPLETE') spinner.succeed(text);
      else if (ended !== undefined) spinner.fail(text);
      else spinner.stop();
    },
  };
}
