import { describe, expect, it } from 'vitest';
import { lostItsStart, newOutput, overlap, settledTail } from './tail.js';

/** The last `size` characters of a stream, as the server shows a tail. */
const tailOf = (stream: string, size: number) => stream.slice(-size);

describe('newOutput', () => {
  it('gives all of the first tail', () => {
    expect(newOutput('', 'hello\n')).toEqual({ text: 'hello\n', skipped: false });
  });

  it('gives what a growing tail added, and nothing when it did not grow', () => {
    expect(newOutput('hello\n', 'hello\nworld\n')).toEqual({ text: 'world\n', skipped: false });
    expect(newOutput('hello\n', 'hello\n')).toEqual({ text: '', skipped: false });
  });

  it('gives only the new end of a full tail that lost its start', () => {
    const stream = Array.from({ length: 400 }, (_, i) => `line ${i}\n`).join('');
    const before = tailOf(stream.slice(0, 2000), 1024);
    const after = tailOf(stream.slice(0, 2300), 1024);
    expect(newOutput(before, after)).toEqual({ text: stream.slice(2000, 2300), skipped: false });
  });

  it('says output was skipped when more than a tail arrived between two looks', () => {
    const stream = Array.from({ length: 400 }, (_, i) => `line ${i}\n`).join('');
    const before = tailOf(stream.slice(0, 1000), 512);
    const after = tailOf(stream.slice(0, 3000), 512);
    expect(newOutput(before, after)).toEqual({ text: after, skipped: true });
  });

  it('prints output that repeats the end of the last tail as new output, not as already seen', () => {
    // The stream was "ab" and is now "abab": the tail did not lose its start, so all of "ab" is new.
    expect(newOutput('ab', 'abab')).toEqual({ text: 'ab', skipped: false });
  });

  it('matches past a first character the cut split in two', () => {
    const before = 'x€abc';
    // The tail's first bytes were the end of "€": decoded as replacement characters.
    expect(newOutput(before, '\uFFFD\uFFFDabcdef')).toEqual({ text: 'def', skipped: false });
  });
});

describe('settledTail', () => {
  it('holds back a character cut in two at the end of a tail read while the executor writes', () => {
    expect(settledTail('done \uFFFD', false)).toBe('done ');
    expect(settledTail('done \uFFFD', true)).toBe('done \uFFFD');
    expect(settledTail('done', false)).toBe('done');
  });
});

describe('overlap', () => {
  it('is the longest end of the first that the second starts with', () => {
    expect(overlap('abcabc', 'abcabd')).toBe(3);
    expect(overlap('aaaa', 'aab')).toBe(2);
    expect(overlap('abc', 'xyz')).toBe(0);
    expect(overlap('', 'abc')).toBe(0);
    expect(overlap('xabc', 'abc')).toBe(3);
    expect(overlap('abcab', 'ab')).toBe(2);
  });

  it('agrees with the obvious quadratic search on random text', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const word = (n: number) => Array.from({ length: n }, () => 'ab\n'[Math.floor(random() * 3)]).join('');
    for (let i = 0; i < 500; i += 1) {
      const previous = word(Math.floor(random() * 12));
      const current = word(Math.floor(random() * 12));
      let expected = 0;
      for (let k = Math.min(previous.length, current.length); k > 0; k -= 1) {
        if (previous.endsWith(current.slice(0, k))) {
          expected = k;
          break;
        }
      }
      expect(overlap(previous, current), `${JSON.stringify(previous)} ${JSON.stringify(current)}`).toBe(expected);
    }
  });

  it('takes linear time on a 10 KiB tail of one repeated character', () => {
    const tail = 'y'.repeat(10_240);
    const started = performance.now();
    expect(overlap(tail, `${tail.slice(100)}n`)).toBe(10_140);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('lostItsStart', () => {
  it("is true for a tail of the server's tail size, also when a character was cut in two at its start", () => {
    expect(lostItsStart('x'.repeat(10_240))).toBe(true);
    expect(lostItsStart(`\uFFFD\uFFFD${'x'.repeat(10_238)}`)).toBe(true);
  });

  it('is false for a shorter tail, and for a longer one (a server that keeps whole streams)', () => {
    expect(lostItsStart('x'.repeat(10_239))).toBe(false);
    expect(lostItsStart('x'.repeat(50_000))).toBe(false);
  });
});
