/**
 * The dashboard as the local stack serves it: the built files (index.html at `/`), and a
 * config.json made here that points the page at this same origin's API. Only these paths are the
 * dashboard's; every other request goes on to the API routes as before. Every answer carries the
 * dashboard's CSP and safe headers (dashboard/site.ts, as CloudFront adds them in AWS).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { DASHBOARD_FILES, DASHBOARD_HEADERS, dashboardCsp, type DashboardConfig } from '../../dashboard/site.js';

export interface DashboardSite {
  /** Answers a request for one of the dashboard's paths; false when the path is not one (the API's turn). */
  answer(method: string, path: string, response: ServerResponse): boolean;
}

/**
 * The site of a dashboard build in `dir` (npm start builds it beside its own bundle), or undefined
 * when there is none there. The files are read once: a build never changes under a running stack.
 */
export function dashboardSite(dir: string, config: DashboardConfig): DashboardSite | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [name, type] of Object.entries(DASHBOARD_FILES)) files.set(`/${name}`, { body: readFileSync(join(dir, name)), type });
  files.set('/', files.get('/index.html') as { body: Buffer; type: string });
  files.set('/config.json', { body: Buffer.from(JSON.stringify(config)), type: 'application/json' });
  const headers = { ...DASHBOARD_HEADERS, 'content-security-policy': dashboardCsp() };
  return {
    answer(method, path, response) {
      const file = files.get(path);
      if (file === undefined || (method !== 'GET' && method !== 'HEAD')) return false;
      response.writeHead(200, { ...headers, 'content-type': file.type, 'content-length': String(file.body.byteLength) });
      response.end(method === 'HEAD' ? undefined : file.body);
      return true;
    },
  };
}
