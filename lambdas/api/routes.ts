/**
 * The HTTP routes, in one place for CDK (API Gateway) and the local HTTP adapter. Every TES route
 * is served under both base paths: `/ga4gh/tes/v1` (the spec's) and `/v1` (what several clients use).
 */
import { cancelTask } from './cancel-task.js';
import { createTask } from './create-task.js';
import { getTask } from './get-task.js';
import { listTasks } from './list-tasks.js';
import { notFound } from './not-found.js';
import { getServiceInfo } from './service-info.js';
import type { Endpoint } from './wiring.js';

export const BASE_PATHS = ['/ga4gh/tes/v1', '/v1'] as const;

export interface Route {
  method: 'GET' | 'POST';
  /** Relative to a base path; `{id}` is a whole path segment. */
  path: string;
  endpoint: Endpoint;
  /** The handler module (relative to the repository root) that CDK bundles for this endpoint. */
  entry: string;
  /** Further paths the same endpoint answers at (under each base path too). */
  aliases?: readonly string[];
}

/** Every path a route answers at, relative to a base path: its own first, then its aliases. */
export function routePaths(route: Route): string[] {
  return [route.path, ...(route.aliases ?? [])];
}

export const ROUTES: readonly Route[] = [
  // TES 1.0 put service-info under /tasks, and older clients still call it there (py-tes 0.4, which
  // Snakemake's TES plugin pins). No task id holds a '-', so it is never a task's path.
  { method: 'GET', path: '/service-info', endpoint: getServiceInfo, entry: 'lambdas/api/service-info.ts', aliases: ['/tasks/service-info'] },
  { method: 'GET', path: '/tasks', endpoint: listTasks, entry: 'lambdas/api/list-tasks.ts' },
  { method: 'POST', path: '/tasks', endpoint: createTask, entry: 'lambdas/api/create-task.ts' },
  { method: 'GET', path: '/tasks/{id}', endpoint: getTask, entry: 'lambdas/api/get-task.ts' },
  { method: 'POST', path: '/tasks/{id}', endpoint: cancelTask, entry: 'lambdas/api/cancel-task.ts' },
];

/** What answers any request no route matches (API Gateway's `$default` route). */
export const DEFAULT_ROUTE = { endpoint: notFound, entry: 'lambdas/api/not-found.ts' } as const;
