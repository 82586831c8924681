import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, IllegalTransitionError, isCancelable, isTerminal } from './states.js';
import { TES_STATES, type TesState } from './tes.js';

// The expected table, written out independently of the implementation: row = from, listed = legal targets.
const LEGAL: Record<TesState, TesState[]> = {
  UNKNOWN: [],
  QUEUED: ['INITIALIZING', 'CANCELING', 'CANCELED', 'SYSTEM_ERROR'],
  INITIALIZING: ['RUNNING', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'PREEMPTED', 'CANCELING', 'CANCELED'],
  RUNNING: ['PAUSED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'PREEMPTED', 'CANCELING', 'CANCELED'],
  PAUSED: ['RUNNING', 'SYSTEM_ERROR', 'CANCELING', 'CANCELED'],
  COMPLETE: [],
  EXECUTOR_ERROR: [],
  SYSTEM_ERROR: [],
  CANCELED: [],
  PREEMPTED: ['INITIALIZING', 'SYSTEM_ERROR', 'CANCELING', 'CANCELED'],
  CANCELING: ['CANCELED'],
};

describe('task state transitions', () => {
  it('covers all eleven TES states', () => {
    expect(TES_STATES).toHaveLength(11);
    expect(Object.keys(LEGAL).sort()).toEqual([...TES_STATES].sort());
  });

  const pairs = TES_STATES.flatMap((from) => TES_STATES.map((to) => [from, to] as const));
  it.each(pairs)('%s → %s is legal only if the table says so', (from, to) => {
    const legal = LEGAL[from].includes(to);
    expect(canTransition(from, to)).toBe(legal);
    if (legal) expect(() => assertTransition(from, to)).not.toThrow();
    else expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
  });

  it('never lets a state change to itself', () => {
    for (const state of TES_STATES) expect(canTransition(state, state)).toBe(false);
  });

  it('treats COMPLETE, EXECUTOR_ERROR, SYSTEM_ERROR and CANCELED as terminal', () => {
    expect(TES_STATES.filter(isTerminal).sort()).toEqual(['CANCELED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR']);
  });

  it('lets only active tasks be canceled', () => {
    expect(TES_STATES.filter(isCancelable).sort()).toEqual(['INITIALIZING', 'PAUSED', 'PREEMPTED', 'QUEUED', 'RUNNING']);
  });

  it('names both states in the error', () => {
    expect(() => assertTransition('COMPLETE', 'RUNNING')).toThrow('COMPLETE → RUNNING');
  });
});
