import { describe, expect, it } from 'vitest';
import type { TesState } from '../lambdas/domain/tes.js';
import { EXIT, taskExitCode } from './exit-codes.js';

const ended = (state: TesState, codes: number[] = []) => ({ state, logs: [{ logs: codes.map((exit_code) => ({ exit_code })), outputs: [] }] });

describe('taskExitCode', () => {
  it('is 0 for a completed task', () => {
    expect(taskExitCode(ended('COMPLETE', [0, 0]))).toBe(0);
  });

  it("is the last executor's exit code for EXECUTOR_ERROR, as docker run exits", () => {
    expect(taskExitCode(ended('EXECUTOR_ERROR', [3]))).toBe(3);
    expect(taskExitCode(ended('EXECUTOR_ERROR', [0, 137]))).toBe(137);
  });

  it('is the first failure when the last executor exited 0 after an ignore_error', () => {
    expect(taskExitCode(ended('EXECUTOR_ERROR', [0, 4, 0]))).toBe(4);
  });

  it('is 1 for EXECUTOR_ERROR with no exit code that could be a status', () => {
    expect(taskExitCode(ended('EXECUTOR_ERROR'))).toBe(1);
    expect(taskExitCode(ended('EXECUTOR_ERROR', [0]))).toBe(1);
    expect(taskExitCode(ended('EXECUTOR_ERROR', [256]))).toBe(1);
    expect(taskExitCode(ended('EXECUTOR_ERROR', [-1]))).toBe(1);
  });

  it("has codes of tes's own for SYSTEM_ERROR and CANCELED, apart from each other and the usage and server codes", () => {
    expect(taskExitCode(ended('SYSTEM_ERROR'))).toBe(EXIT.systemError);
    expect(taskExitCode(ended('CANCELED'))).toBe(EXIT.canceled);
    const own = [EXIT.systemError, EXIT.canceled, EXIT.usage, EXIT.server, EXIT.interrupted];
    expect(new Set(own).size).toBe(own.length);
    expect(own.every((code) => code > 1 && code < 256)).toBe(true);
  });

  it('is undefined while the task has not ended', () => {
    for (const state of ['QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'PREEMPTED', 'CANCELING', 'UNKNOWN'] as const) expect(taskExitCode(ended(state))).toBeUndefined();
  });
});
