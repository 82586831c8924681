/**
 * What `tes` exits with. `tes run` and `tes wait` exit as the task did, like `docker run`: 0 when it
 * completed, else its last executor's own exit code; `tes` itself answers with codes from 122 up,
 * which executors rarely use (126 and 127 are the shell's, above 128 signals).
 */
import type { TesTask } from '../lambdas/domain/tes.js';

export const EXIT = {
  ok: 0,
  /** The task ended SYSTEM_ERROR: something other than its executors failed. */
  systemError: 122,
  /** The task was canceled (by someone else: a Ctrl-C here is `interrupted`). */
  canceled: 123,
  /** A bad option or argument, or a task file that cannot be read: nothing was sent. */
  usage: 124,
  /** The server could not be reached, refused the request (401, 403, 400, 404) or failed (5xx). */
  server: 125,
  /** Ctrl-C: `tes run` canceled its task; `tes wait` and `tes logs -f` stopped watching. */
  interrupted: 130,
} as const;

/** What the epilog of `tes --help` says about exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0        the command did what it was asked; run, wait: the task ended COMPLETE
  1-255    run, wait: the task ended EXECUTOR_ERROR: its last executor's exit code
           (the first non-zero one when the last exited 0 after an ignore_error)
  ${EXIT.systemError}      run, wait: the task ended SYSTEM_ERROR
  ${EXIT.canceled}      run, wait: the task was canceled
  ${EXIT.usage}      usage error: a bad option or argument, an unreadable --file; nothing was sent
  ${EXIT.server}      the server could not be reached, refused the request or failed
  ${EXIT.interrupted}      Ctrl-C (run cancels its task first)`;

/**
 * The exit code a task's outcome stands for, as above; undefined while it has not ended.
 *
 *   taskExitCode({ state: 'EXECUTOR_ERROR', logs: [{ logs: [{ exit_code: 3 }] }] }) // 3
 */
export function taskExitCode(task: Pick<TesTask, 'state' | 'logs'>): number | undefined {
  switch (task.state) {
    case 'COMPLETE':
      return EXIT.ok;
    case 'SYSTEM_ERROR':
      return EXIT.systemError;
    case 'CANCELED':
      return EXIT.canceled;
    case 'EXECUTOR_ERROR': {
      const codes = (task.logs?.at(-1)?.logs ?? []).map((log) => log.exit_code);
      const last = codes.at(-1);
      const chosen = last !== undefined && last !== 0 ? last : codes.find((code) => code !== 0);
      // An exit status is one byte; anything else a server reports is a failure all the same.
      return chosen !== undefined && Number.isInteger(chosen) && chosen >= 1 && chosen <= 255 ? chosen : 1;
    }
    default:
      return undefined;
  }
}
