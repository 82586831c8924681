import { describe, expect, it } from 'vitest';
import { matchesTags, parseTagFilter } from './tag-filter.js';

describe('tag filters', () => {
  // The truth table from the TES 1.1 ListTasks description, row by row.
  const table: [Record<string, string>, Record<string, string>, boolean][] = [
    [{ foo: 'bar' }, { foo: 'bar' }, true],
    [{ foo: 'bar' }, { foo: 'bat' }, false],
    [{ foo: '' }, { foo: '' }, true],
    [{ foo: 'bar', baz: 'bat' }, { foo: 'bar', baz: 'bat' }, true],
    [{ foo: 'bar' }, { foo: 'bar', baz: 'bat' }, true],
    [{ foo: 'bar', baz: 'bat' }, { foo: 'bar' }, false],
    [{ foo: '' }, { foo: 'bar' }, true],
    [{ foo: '' }, {}, false],
  ];
  it.each(table)('filter %j against tags %j matches: %s', (filter, tags, expected) => {
    const conditions = Object.entries(filter).map(([key, value]) => ({ key, value }));
    expect(matchesTags(tags, conditions)).toBe(expected);
  });

  it('zips tag_key and tag_value by position', () => {
    expect(parseTagFilter(['foo1', 'foo2'], ['bar1', 'bar2'])).toEqual([
      { key: 'foo1', value: 'bar1' },
      { key: 'foo2', value: 'bar2' },
    ]);
  });

  it('treats a key without a value as "any value"', () => {
    expect(parseTagFilter(['foo1'], [])).toEqual([{ key: 'foo1', value: '' }]);
    expect(parseTagFilter(['foo', 'lorem', 'baz'], ['bar', 'ipsum'])).toEqual([
      { key: 'foo', value: 'bar' },
      { key: 'lorem', value: 'ipsum' },
      { key: 'baz', value: '' },
    ]);
  });

  it('does not match a task without tags when any condition is given', () => {
    expect(matchesTags(undefined, [{ key: 'a', value: '' }])).toBe(false);
    expect(matchesTags(undefined, [])).toBe(true);
  });

  it('does not match keys inherited from Object.prototype', () => {
    expect(matchesTags({}, [{ key: 'toString', value: '' }])).toBe(false);
  });
});
