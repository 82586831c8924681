import { describe, expect, it } from 'vitest';
import { hostDirectoryUrl, isHostUrl, parseHostUrl } from './host-path.js';

describe('host paths in task URLs', () => {
  it.each([
    ['/home/me/work/3f/9a1c/.command.run', '/home/me/work/3f/9a1c/.command.run'],
    ['file:///home/me/data.txt', '/home/me/data.txt'],
    ['FILE:///home/me/data.txt', '/home/me/data.txt'],
    ['file://localhost/home/me/data.txt', '/home/me/data.txt'],
    ['file://LocalHost/home/me/data.txt', '/home/me/data.txt'],
    ['file:/home/me/data.txt', '/home/me/data.txt'],
    ['file:///a%20b/c%25d', '/a b/c%d'],
    ['/a%20b', '/a%20b'],
    ['file:///tmp/out/', '/tmp/out'],
    ['/tmp/out/', '/tmp/out'],
    ['file:///%E2%9C%93', '/✓'],
  ])('%s names %s', (url, path) => {
    expect(isHostUrl(url)).toBe(true);
    expect(parseHostUrl(url)).toEqual({ path });
  });

  it.each([
    ['file://otherhost/etc/passwd', /names the host "otherhost"/],
    ['file://127.0.0.1/etc/passwd', /names the host "127.0.0.1"/],
    ['file://./etc/passwd', /names the host "."/],
    ['file:relative/x', /absolute path/],
    ['file://localhost', /absolute path/],
    ['/data/../etc/passwd', /no '\.' or '\.\.' segments/],
    ['/data/./x', /no '\.' or '\.\.' segments/],
    ['file:///data/%2e%2e/etc/passwd', /no '\.' or '\.\.' segments/],
    ['file:///data/%2E%2E%2Fetc', /no '\.' or '\.\.' segments/],
    ['/data//x', /no empty segments/],
    ['file:////etc/passwd', /no empty segments/],
    ['/data/a\u0000b', /control characters/],
    ['file:///data/a%00b', /control characters/],
    ['file:///data/a%0Ab', /control characters/],
    ['/data/a\nb', /control characters/],
    ['file:///data/%zz', /malformed percent-encoding/],
    ['file:///data/%C0%AF', /malformed percent-encoding/],
    ['file:///data/x?y', /query or fragment/],
    ['file:///data/x#y', /query or fragment/],
  ])('%s is refused', (url, why) => {
    const parsed = parseHostUrl(url);
    expect('problem' in parsed ? parsed.problem : parsed.path).toMatch(why);
  });

  it('tells other URLs and relative paths from host paths', () => {
    for (const url of ['s3://b/k', 'https://example.org/x', 'data/x.txt', 'x', 'ftp://h/x']) expect(isHostUrl(url)).toBe(false);
  });

  it('writes a directory as a percent-encoded file:// URL ending in /', () => {
    expect(hostDirectoryUrl('/srv/tes/alice')).toBe('file:///srv/tes/alice/');
    expect(hostDirectoryUrl('/srv/my data/')).toBe('file:///srv/my%20data/');
  });
});
