/**
 * The one place that knows which task state changes are legal. Every write of a state goes
 * through `assertTransition`, and the store makes it a conditional write on the expected state.
 *
 * Choices the spec leaves open:
 * - UNKNOWN is never stored, so nothing moves to or from it.
 * - INITIALIZING may end directly (COMPLETE / EXECUTOR_ERROR) because the "executor started"
 *   event that sets RUNNING can arrive after the executor has already finished.
 * - PREEMPTED is transient: a Spot interruption is retried (back to INITIALIZING) or, out of
 *   retries, ends SYSTEM_ERROR, so clients that poll until a terminal state never hang on it.
 * - CANCELING only ever becomes CANCELED: once a user asked to cancel, nothing else wins.
 */
import type { TesState } from './tes.js';

const TERMINAL: readonly TesState[] = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

const TRANSITIONS: Readonly<Record<TesState, readonly TesState[]>> = {
  UNKNOWN: [],
  QUEUED: ['INITIALIZING', 'CANCELING', 'CANCELED', 'SYSTEM_ERROR'],
  INITIALIZING: ['RUNNING', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'PREEMPTED', 'CANCELING', 'CANCELED'],
  RUNNING: ['PAUSED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'PREEMPTED', 'CANCELING', 'CANCELED'],
  PAUSED: ['RUNNING', 'SYSTEM_ERROR', 'CANCELING', 'CANCELED'],
  PREEMPTED: ['INITIALIZING', 'SYSTEM_ERROR', 'CANCELING', 'CANCELED'],
  CANCELING: ['CANCELED'],
  COMPLETE: [],
  EXECUTOR_ERROR: [],
  SYSTEM_ERROR: [],
  CANCELED: [],
};

/** True when `from → to` is a legal state change (a state never "changes" to itself). */
export function canTransition(from: TesState, to: TesState): boolean {
  return TRANSITIONS[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: TesState,
    readonly to: TesState,
  ) {
    super(`illegal task state change ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** Throws IllegalTransitionError unless `from → to` is legal. */
export function assertTransition(from: TesState, to: TesState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** Terminal states never change again; cancel of a task in one is a no-op. */
export function isTerminal(state: TesState): boolean {
  return TERMINAL.includes(state);
}

/** States from which CancelTask has something to do. */
export function isCancelable(state: TesState): boolean {
  return canTransition(state, 'CANCELING');
}
