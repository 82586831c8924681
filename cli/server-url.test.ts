import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { DEFAULT_SERVER, serverUrl } from './server-url.js';

describe('serverUrl', () => {
  it('is the local stack when nothing is given', () => {
    expect(serverUrl(undefined)).toBe(DEFAULT_SERVER);
    expect(serverUrl('  ')).toBe('http://127.0.0.1:8000/ga4gh/tes/v1');
  });

  it("adds TES's base path to a URL without a path", () => {
    expect(serverUrl('http://localhost:8000')).toBe('http://localhost:8000/ga4gh/tes/v1');
    expect(serverUrl('https://tes.example.org/')).toBe('https://tes.example.org/ga4gh/tes/v1');
  });

  it('keeps a path that is given, without its trailing slashes', () => {
    expect(serverUrl('http://localhost:8000/ga4gh/tes/v1/')).toBe('http://localhost:8000/ga4gh/tes/v1');
    expect(serverUrl('https://abc.execute-api.eu-west-1.amazonaws.com/prod/ga4gh/tes/v1')).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/prod/ga4gh/tes/v1');
    expect(serverUrl('http://funnel:8000/v1')).toBe('http://funnel:8000/v1');
  });

  it('reads host:port alone as http', () => {
    expect(serverUrl('localhost:8000')).toBe('http://localhost:8000/ga4gh/tes/v1');
    expect(serverUrl('127.0.0.1:9000/v1')).toBe('http://127.0.0.1:9000/v1');
  });

  it('refuses what is no http(s) base URL, naming the setting', () => {
    for (const bad of ['ftp://host/', 'http://', 'http://host/?x=1', 'http://host/#top', 'http://user:pw@host/']) {
      expect(() => serverUrl(bad), bad).toThrow(UsageError);
    }
    expect(() => serverUrl('ftp://host/')).toThrow(/--server \(or TES_SERVER\)/);
  });
});
