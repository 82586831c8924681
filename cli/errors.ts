/**
 * What can go wrong, each with its exit code and one line (a refused task adds its problems, one a
 * line) that names what went wrong and what to do about it.
 */
import type { ErrorBody } from '../lambdas/domain/errors.js';
import { EXIT } from './exit-codes.js';
import { printable } from './format.js';

/** A bad option, argument or task file: found before anything was sent. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** No answer from the server: refused, no such host, timed out, ... */
export class ServerUnreachableError extends Error {
  override name = 'ServerUnreachableError';
  constructor(
    readonly server: string,
    cause: unknown,
  ) {
    super(`cannot reach the TES server at ${server}: ${networkReason(cause)}`, { cause });
  }
}

/** The server answered with an error status; `body` is its error, in TES's shape or API Gateway's `{ message }`. */
export class TesRequestError extends Error {
  override name = 'TesRequestError';
  constructor(
    readonly status: number,
    readonly body: Partial<ErrorBody> | undefined,
    /** What was asked for, as a user would say it: `task 01J…`, `the task list`. */
    readonly what: string,
    readonly server: string,
    readonly withToken: boolean,
  ) {
    super(describeRefusal(status, body, what, server, withToken));
  }
}

function networkReason(cause: unknown): string {
  const error = cause as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } } | undefined;
  if (error?.name === 'TimeoutError') return 'no answer in time';
  const code = error?.cause?.code ?? error?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is it running? npm start runs one here)',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name cannot be looked up now',
    ECONNRESET: 'the connection was reset',
    ETIMEDOUT: 'the connection timed out',
    EHOSTUNREACH: 'the host is unreachable',
    CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  };
  if (code !== undefined) return known[code] ?? code;
  return error?.cause?.message ?? error?.message ?? String(cause);
}

function describeRefusal(status: number, body: Partial<ErrorBody> | undefined, what: string, server: string, withToken: boolean): string {
  // The server's words are shown as text: whatever it (or a task field it quotes) holds cannot drive the terminal.
  const said = printable(body?.message ?? '');
  const answer = `${status}${body?.code === undefined ? '' : ` ${body.code}`}${said === '' ? '' : `: ${said}`}`;
  if (status < 400) return `${server} gave no TES answer for ${what} (${answer})`;
  if (status === 401) return withToken ? `the server refused the token (${answer}): check --token or TES_TOKEN` : 'the server wants a token: --token or TES_TOKEN';
  if (status === 403) return `the server does not allow that (${answer})`;
  if (status === 404 && body?.code === 'NOT_FOUND' && what.startsWith('task ')) return `no ${what} at ${server} (${answer})`;
  if (status === 404) return `${server} does not serve ${what} (${answer}): is --server the TES's base URL (it ends in /ga4gh/tes/v1)?`;
  if (body?.code === 'INVALID_TASK' && body.details !== undefined && body.details.length > 0) {
    const problems = body.details.map((p) => printable(`  ${p.path === '' ? '' : `${p.path}: `}${p.message}${p.rule === undefined ? '' : ` (rule ${p.rule})`}`));
    return [`the server refused the task (${status} INVALID_TASK):`, ...problems].join('\n');
  }
  if (status >= 500) return `the server failed on ${what} (${answer})`;
  return `the server refused ${what} (${answer})`;
}

/** The exit code for an error that ended a command: anything but a usage error came from talking to the server. */
export function errorExitCode(error: unknown): number {
  return error instanceof UsageError ? EXIT.usage : EXIT.server;
}
