import { describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { createProgress, progressKind } from './progress.js';

describe('progressKind', () => {
  it('is a live line only on a terminal that has a width', () => {
    expect(progressKind({ isTTY: true, columns: 80 }, false)).toBe('live');
    // A pseudo-terminal of no size would have ora count every line as endless.
    expect(progressKind({ isTTY: true, columns: 0 }, false)).toBe('lines');
    expect(progressKind({ isTTY: false }, false)).toBe('lines');
    expect(progressKind({ isTTY: true, columns: 80 }, true)).toBe('none');
  });
});

describe('progress as lines', () => {
  it('writes a line at each change of state or executor, and none in between', async () => {
    const lines: string[] = [];
    const progress = await createProgress('lines', 't1', Date.now(), (line) => lines.push(line));
    const executors = [{ image: 'alpine', command: ['true'] }, { image: 'alpine', command: ['true'] }];
    const seen = (state: TesTask['state'], logs: number): TesTask => ({ id: 't1', state, executors, logs: [{ logs: Array.from({ length: logs }, () => ({ exit_code: 0 })), outputs: [] }] });
    progress.show(seen('QUEUED', 0), 0);
    progress.show(seen('QUEUED', 0), 0);
    progress.show(seen('RUNNING', 1), 0);
    progress.show(seen('RUNNING', 2), 1);
    progress.show(seen('RUNNING', 2), 1);
    progress.show(seen('COMPLETE', 2), 2);
    progress.stop();
    expect(lines.map((line) => line.replace(/ \(\d+\.\ds\)\n$/, ''))).toEqual(['tes: t1 QUEUED', 'tes: t1 RUNNING, executor 1/2', 'tes: t1 RUNNING, executor 2/2', 'tes: t1 COMPLETE']);
  });
});
