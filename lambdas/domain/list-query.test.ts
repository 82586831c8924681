import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from './errors.js';
import { DEFAULT_PAGE_SIZE, listScope, MAX_PAGE_SIZE, parseListQuery, parseViewQuery } from './list-query.js';

describe('ListTasks query', () => {
  it('defaults to MINIMAL, 256 per page, no filters', () => {
    expect(parseListQuery('')).toEqual({ tags: [], pageSize: DEFAULT_PAGE_SIZE, view: 'MINIMAL' });
  });

  it('reads every filter', () => {
    expect(
      parseListQuery('name_prefix=run&state=RUNNING&tag_key=a&tag_value=1&tag_key=b&page_size=10&page_token=t&view=FULL'),
    ).toEqual({
      namePrefix: 'run',
      state: 'RUNNING',
      tags: [
        { key: 'a', value: '1' },
        { key: 'b', value: '' },
      ],
      pageSize: 10,
      pageToken: 't',
      view: 'FULL',
    });
  });

  it('keeps tag keys and values that contain commas intact', () => {
    expect(parseListQuery('tag_key=a%2Cb&tag_value=c%2Cd').tags).toEqual([{ key: 'a,b', value: 'c,d' }]);
  });

  it('clamps page_size above the maximum to 2048 and reads 0 as the default', () => {
    expect(parseListQuery('page_size=5000').pageSize).toBe(MAX_PAGE_SIZE);
    expect(parseListQuery('page_size=0').pageSize).toBe(DEFAULT_PAGE_SIZE);
  });

  it.each(['page_size=-1', 'page_size=abc', 'page_size=1.5', 'state=DONE', 'view=EVERYTHING'])('refuses %s with a 400 naming the parameter', (q) => {
    expect(() => parseListQuery(q)).toThrow(InvalidRequestError);
    const name = q.split('=')[0] as string;
    expect(() => parseListQuery(q)).toThrow(new RegExp(`${name}: must be`));
  });

  it('lists every bad parameter at once', () => {
    try {
      parseListQuery('state=NOPE&view=NOPE&page_size=x');
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidRequestError).details?.map((d) => d.path).sort()).toEqual(['page_size', 'state', 'view']);
    }
  });

  it('accepts the camelCase aliases some clients send', () => {
    expect(parseListQuery('pageSize=3&pageToken=x&namePrefix=n')).toMatchObject({ pageSize: 3, pageToken: 'x', namePrefix: 'n' });
  });

  it('binds tokens to the caller and filters but not to the view or page size', () => {
    const a = listScope('alice', parseListQuery('state=QUEUED&view=FULL&page_size=5'));
    expect(listScope('alice', parseListQuery('state=QUEUED'))).toBe(a);
    expect(listScope('bob', parseListQuery('state=QUEUED'))).not.toBe(a);
    expect(listScope('alice', parseListQuery('state=RUNNING'))).not.toBe(a);
  });
});

describe('GetTask query', () => {
  it('defaults to MINIMAL and refuses unknown views', () => {
    expect(parseViewQuery('')).toBe('MINIMAL');
    expect(parseViewQuery('view=BASIC')).toBe('BASIC');
    expect(() => parseViewQuery('view=basic')).toThrow(/view: must be one of MINIMAL, BASIC, FULL/);
  });
});
