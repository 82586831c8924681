/**
 * The TES under test. With TES_URL set (for example a deployment's `https://.../ga4gh/tes/v1`), the
 * black-box suites speak plain HTTP to it, with `Authorization: Bearer $TES_TOKEN` when given.
 * Without it they start the local stack in memory on a free loopback port.
 */
import { afterAll, beforeAll } from 'vitest';
import type { LocalStack } from '../../lambdas/local/stack.js';
import { startTestStack } from './local-stack.js';

export interface Target {
  /** Base URL ending in /ga4gh/tes/v1. */
  url: string;
  /** The host root, for the /v1 alias. */
  root: string;
  headers: Record<string, string>;
  local?: LocalStack;
  close(): Promise<void>;
}

/** `env`: the local stack's settings, when it is the local stack under test. */
export async function startTarget(env: Record<string, string> = {}): Promise<Target> {
  const token = process.env['TES_TOKEN'];
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const given = process.env['TES_URL'];
  if (given !== undefined && given !== '') {
    const url = given.replace(/\/+$/, '');
    const root = url.replace(/\/ga4gh\/tes\/v1$/, '');
    return { url, root, headers, close: () => Promise.resolve() };
  }
  const local = await startTestStack({ port: 0, env });
  return { url: local.url, root: `http://127.0.0.1:${local.port}`, headers, local, close: () => local.close() };
}

export interface Reply<T = unknown> {
  status: number;
  body: T;
  text: string;
}

export class TesHttp {
  constructor(private readonly target: Target) {}

  async request<T = unknown>(method: string, path: string, body?: unknown, options: { raw?: string | Buffer; base?: string } = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...this.target.headers };
    let payload: string | Buffer | undefined;
    if (options.raw !== undefined) {
      payload = options.raw;
      headers['content-type'] = 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${options.base ?? this.target.url}${path}`, { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed as T, text };
  }

  get<T = unknown>(path: string): Promise<Reply<T>> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>('POST', path, body);
  }
}

export interface Suite {
  target: Target;
  tes: TesHttp;
}

/** Starts the TES under test before a file's tests and stops it after them. */
export function useTarget(env: Record<string, string> = {}): Suite {
  const suite = {} as Suite;
  beforeAll(async () => {
    suite.target = await startTarget(env);
    suite.tes = new TesHttp(suite.target);
  });
  afterAll(async () => {
    await suite.target?.close();
  });
  return suite;
}

/**
 * A client of a local stack the suite started itself: anonymous, or as `user` (with `claims`) through
 * a token from the stack's own issuer (TES_AUTH=jwt).
 */
export async function stackClient(stack: LocalStack, user?: string, claims: Record<string, unknown> = {}): Promise<TesHttp> {
  const headers: Record<string, string> = user === undefined ? {} : { authorization: `Bearer ${await stack.issuer?.issue(user, { claims })}` };
  return new TesHttp({ url: stack.url, root: `http://127.0.0.1:${stack.port}`, headers, close: () => Promise.resolve() });
}
