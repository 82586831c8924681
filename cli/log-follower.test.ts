import { describe, expect, it } from 'vitest';
import type { TesExecutorLog, TesState, TesTask } from '../lambdas/domain/tes.js';
import { LogFollower, type Chunk } from './log-follower.js';

const IMAGE = 'alpine';

/** A FULL view with these executor logs in its one attempt. */
function view(state: TesState, logs: Partial<TesExecutorLog>[], executors = 2): TesTask {
  return {
    id: 't1',
    state,
    executors: Array.from({ length: executors }, () => ({ image: IMAGE, command: ['true'] })),
    logs: [{ logs: logs.map((log) => ({ exit_code: 0, ...log })), outputs: [] }],
  };
}

const text = (chunks: Chunk[]) => chunks.map((chunk) => ('notice' in chunk ? `<${chunk.notice}>` : `${chunk.stream}:${chunk.text}`)).join('|');

describe('LogFollower', () => {
  it("prints a running executor's output as its tail grows, each byte once", () => {
    const follower = new LogFollower({ streams: ['stdout', 'stderr'] });
    expect(text(follower.update(view('QUEUED', [])))).toBe('');
    expect(text(follower.update(view('RUNNING', [{ stdout: 'hi\n' }])))).toBe('stdout:hi\n');
    expect(text(follower.update(view('RUNNING', [{ stdout: 'hi\n', stderr: 'oops\n' }])))).toBe('stderr:oops\n');
    expect(text(follower.update(view('RUNNING', [{ stdout: 'hi\n', stderr: 'oops\n' }])))).toBe('');
    expect(follower.executor).toBe(0);
  });

  it('prints the rest of an executor once it ended, then follows the next', () => {
    const follower = new LogFollower({ streams: ['stdout'] });
    follower.update(view('RUNNING', [{ stdout: 'a' }]));
    const ended = { stdout: 'ab\n', end_time: '2026-01-01T00:00:01Z' };
    expect(text(follower.update(view('RUNNING', [ended])))).toBe('stdout:b\n');
    expect(follower.executor).toBe(1);
    expect(text(follower.update(view('RUNNING', [ended, { stdout: 'second\n' }])))).toBe('stdout:second\n');
    expect(text(follower.update(view('COMPLETE', [ended, { stdout: 'second\nend\n', end_time: '2026-01-01T00:00:02Z' }])))).toBe('stdout:end\n');
    expect(follower.executor).toBe(2);
  });

  it('prints every executor of a task that already ended, in order, at the first look', () => {
    const follower = new LogFollower({ streams: ['stdout', 'stderr'] });
    const chunks = follower.update(view('EXECUTOR_ERROR', [{ stdout: 'one\n', stderr: 'e1\n', exit_code: 0 }, { stdout: 'two\n', exit_code: 3 }]));
    expect(text(chunks)).toBe('stdout:one\n|stderr:e1\n|stdout:two\n');
  });

  it('takes a log followed by a later one as ended, even without end_time', () => {
    const follower = new LogFollower({ streams: ['stdout'] });
    expect(text(follower.update(view('RUNNING', [{ stdout: 'one\n' }, { stdout: 'two\n' }])))).toBe('stdout:one\n|stdout:two\n');
    expect(follower.executor).toBe(1);
  });

  it('prints only the executor and the streams asked for', () => {
    const follower = new LogFollower({ streams: ['stderr'], executor: 1 });
    const chunks = follower.update(view('COMPLETE', [{ stdout: 'one\n', stderr: 'e1\n' }, { stdout: 'two\n', stderr: 'e2\n' }]));
    expect(chunks).toEqual([{ stream: 'stderr', executor: 1, text: 'e2\n' }]);
  });

  it('says so, and prints the new tail, when output was lost between two looks', () => {
    const follower = new LogFollower({ streams: ['stdout'] });
    follower.update(view('RUNNING', [{ stdout: 'aaaa' }]));
    const chunks = follower.update(view('RUNNING', [{ stdout: 'zzzz' }]));
    expect(chunks).toEqual([expect.objectContaining({ notice: expect.stringMatching(/executor 0 stdout: output skipped/) }), { stream: 'stdout', executor: 0, text: 'zzzz' }]);
  });

  it('waits for the rest of a character cut in two while the executor runs', () => {
    const follower = new LogFollower({ streams: ['stdout'] });
    expect(text(follower.update(view('RUNNING', [{ stdout: 'caf\uFFFD' }])))).toBe('stdout:caf');
    expect(text(follower.update(view('RUNNING', [{ stdout: 'café\n' }])))).toBe('stdout:é\n');
  });

  it('starts over, saying so, when the task starts a new attempt', () => {
    const follower = new LogFollower({ streams: ['stdout'] });
    follower.update(view('RUNNING', [{ stdout: 'first try\n' }]));
    const again: TesTask = { ...view('RUNNING', []), logs: [{ logs: [{ exit_code: 0, stdout: 'first try\n' }], outputs: [] }, { logs: [{ exit_code: 0, stdout: 'second\n' }], outputs: [] }] };
    expect(text(follower.update(again))).toBe('<[… the task started again (attempt 2) …]>|stdout:second\n');
  });
});

describe('LogFollower, first sight of a full tail', () => {
  it("says earlier output is not shown when the first tail seen is the server's whole tail size", () => {
    const follower = new LogFollower({ streams: ['stdout'] });
    const tail = `${'x'.repeat(10_239)}\n`;
    expect(follower.update(view('COMPLETE', [{ stdout: tail, end_time: '2026-01-01T00:00:01Z' }], 1))).toEqual([
      { notice: expect.stringMatching(/executor 0 stdout: earlier output not shown/) },
      { stream: 'stdout', executor: 0, text: tail },
    ]);
  });
});
