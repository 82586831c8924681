import { describe, expect, it } from 'vitest';
import { formatAge, formatDuration, printable, shellWords, table, taskDuration } from './format.js';

describe('formatDuration', () => {
  it('says a span to the precision that matters at its size', () => {
    expect(formatDuration(420)).toBe('0.4s');
    expect(formatDuration(4_200)).toBe('4.2s');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(185_000)).toBe('3m05s');
    expect(formatDuration(7_500_000)).toBe('2h05m');
    expect(formatDuration(3 * 86_400_000 + 3_600_000)).toBe('3d01h');
    expect(formatDuration(-5)).toBe('0.0s');
  });
});

describe('formatAge', () => {
  it('says how long ago in one unit', () => {
    expect([formatAge(5_000), formatAge(180_000), formatAge(7_200_000), formatAge(5 * 86_400_000)]).toEqual(['5s', '3m', '2h', '5d']);
  });
});

describe('taskDuration', () => {
  const task = { executors: [], logs: [{ logs: [], outputs: [], start_time: '2026-01-01T00:00:00Z', end_time: '2026-01-01T00:00:04Z' }] };

  it('is from the first start to the last end, so far while it runs, and empty when it never started', () => {
    expect(taskDuration(task, Date.parse('2026-01-01T01:00:00Z'), true)).toBe('4.0s');
    const running = { executors: [], logs: [{ logs: [], outputs: [], start_time: '2026-01-01T00:00:00Z' }] };
    expect(taskDuration(running, Date.parse('2026-01-01T00:00:30Z'), false)).toBe('30s…');
    expect(taskDuration({ executors: [] }, Date.now(), true)).toBe('');
  });
});

describe('table', () => {
  it('aligns columns two spaces apart, without trailing blanks', () => {
    expect(table([['ID', 'STATE', 'NAME'], ['a', 'RUNNING', ''], ['bcd', 'COMPLETE', 'x']])).toBe('ID   STATE     NAME\na    RUNNING\nbcd  COMPLETE  x');
  });
});

describe('shellWords', () => {
  it('quotes only the words a shell would split or expand', () => {
    expect(shellWords(['sh', '-c', "echo 'hi'; exit 3"])).toBe(`sh -c 'echo '\\''hi'\\''; exit 3'`);
    expect(shellWords(['ls', '/data/a.txt', 'K=V'])).toBe('ls /data/a.txt K=V');
  });
});

describe('printable', () => {
  it('writes control characters and bidirectional overrides as escapes, and leaves other text alone', () => {
    expect(printable('a\u001b[2Jb\u0007c\u009bd\u202ee\u2066f')).toBe('a\\x1b[2Jb\\x07c\\x9bd\\u202ee\\u2066f');
    expect(printable('naïve 名前 tab\tnew\nline')).toBe('naïve 名前 tab\\x09new\\x0aline');
    expect(table([['a\u001b'], ['b']])).toBe('a\\x1b\nb');
  });
});
