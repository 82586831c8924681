/**
 * Where the TES is: `--server`, else TES_SERVER, else the local stack `npm start` runs. A URL with
 * no path gets TES's own base path; one with a path (an API Gateway stage, a `/v1` alias) is kept.
 */
import { UsageError } from './errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8000/ga4gh/tes/v1';
export const TES_BASE_PATH = '/ga4gh/tes/v1';

/**
 * The TES base URL, without a trailing slash.
 *
 *   serverUrl('http://localhost:8000') // 'http://localhost:8000/ga4gh/tes/v1'
 *   serverUrl('localhost:8000/')       // 'http://localhost:8000/ga4gh/tes/v1'
 *   serverUrl('https://x.example/prod/ga4gh/tes/v1/') // 'https://x.example/prod/ga4gh/tes/v1'
 */
export function serverUrl(given: string | undefined): string {
  const text = given === undefined || given.trim() === '' ? DEFAULT_SERVER : given.trim();
  // `host:port` alone reads as a URL whose scheme is the host name.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--server (or TES_SERVER) is not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server (or TES_SERVER) must be an http or https URL, not ${JSON.stringify(text)}`);
  if (url.search !== '' || url.hash !== '') throw new UsageError(`--server (or TES_SERVER) takes the TES's base URL, without a query or fragment: ${JSON.stringify(text)}`);
  if (url.username !== '' || url.password !== '') throw new UsageError('--server (or TES_SERVER) must not hold credentials: give a token with --token or TES_TOKEN');
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path === '' ? TES_BASE_PATH : path}`;
}
