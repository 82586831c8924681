/**
 * The one middy chain every TES endpoint uses: structured logging with the operation and task id,
 * one audit line per call, and the error handler that turns typed errors into the documented JSON
 * shape (errors under 500 as they are, anything else a generic 500 that leaks nothing).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { claimHolds, tokenClaims, type AdminClaim, type Caller } from '../domain/caller.js';
import type { TokenVerifier } from './public-caller.js';
import { HttpError, internalErrorBody, PayloadTooLargeError, UnauthorizedError, BadRequestError } from '../domain/errors.js';

export type ApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, string | number | boolean | string[]>; scopes?: string[] | null } };
  };
};
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** API Gateway's HTTP API hands Lambda at most 6 MB; requests are held well under it. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

export const logger = new Logger({ serviceName: 'tes' });

export interface CallerOptions {
  /** The owner of every request when authentication is off (local mode or `auth=none`). */
  anonymousOwner?: string;
  /** The claim that makes a caller an admin, who sees every user's tasks; none when unset. */
  adminClaim?: AdminClaim;
  /** Checks a bearer token on a public route, where no authorizer ran (AWS); locally the server does it. */
  verifyPublic?: TokenVerifier;
}

/**
 * The caller's identity: the verified JWT's subject (an admin if it holds the admin claim), or the
 * anonymous owner when auth is off.
 */
export function callerOf(event: ApiEvent, options: CallerOptions): Caller {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  const sub = claims?.['sub'];
  if (typeof sub === 'string' && sub !== '') {
    // The authorizer verified the very token in the Authorization header; its payload has the claims
    // as they were issued, which the authorizer's flattened copy cannot tell apart.
    const raw = options.adminClaim === undefined ? undefined : tokenClaims(headerOf(event, 'authorization'));
    const admin = options.adminClaim !== undefined && raw?.['sub'] === sub && claimHolds(raw[options.adminClaim.name], options.adminClaim.value, options.adminClaim.name);
    return { owner: sub, admin };
  }
  if (options.anonymousOwner !== undefined) return { owner: options.anonymousOwner, admin: false };
  throw new UnauthorizedError();
}

/** A request header, whatever its case (API Gateway v2 lower-cases them; not every client of a handler does). */
function headerOf(event: ApiEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

/**
 * Claims the way API Gateway's JWT authorizer hands them on: every value a string, arrays as
 * `[a b c]`, objects as JSON.
 */
export function flattenClaims(claims: Record<string, unknown>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (Array.isArray(value)) flat[name] = `[${value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(' ')}]`;
    else if (typeof value === 'string') flat[name] = value;
    else flat[name] = JSON.stringify(value);
  }
  return flat;
}

/** The request body parsed as JSON; bad JSON is a 400 and an oversized body a 413. */
export function jsonBody(event: ApiEvent): unknown {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  if (bytes.byteLength === 0) throw new BadRequestError('INVALID_JSON', 'the request body is empty; a JSON task document is required');
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new BadRequestError('INVALID_JSON', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}

export function json(status: number, body: unknown): ApiResult {
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The Lambda context as the TES operations see it: who calls, and (once known) which task. */
export interface TesContext extends Context {
  caller: Caller;
  /** False on a public operation nobody authenticated for (`caller` is then a placeholder). */
  callerKnown?: boolean;
  /** Set by an operation once it knows the task id, for the logs and the audit line. */
  taskId?: string;
}

export type Operation = (event: ApiEvent, context: TesContext) => Promise<ApiResult>;

/** Identifies the caller before the operation runs (401 when nobody is authenticated). */
function identifyCaller(options: () => CallerOptions): middy.MiddlewareObj<ApiEvent, ApiResult, Error, TesContext> {
  return {
    before: (request) => {
      request.context.caller = callerOf(request.event, options());
    },
  };
}

/**
 * Turns errors into the documented JSON shape, and writes one audit line per call with the
 * caller, operation, task id, outcome and latency. Registered first, so it sees every error.
 */
function errorsAndAudit(operation: string): middy.MiddlewareObj<ApiEvent, ApiResult, Error, TesContext> {
  const started = new WeakMap<object, number>();
  const audit = (request: middy.Request<ApiEvent, ApiResult, Error, TesContext>): void => {
    logger.info('audit', {
      operation,
      requestId: request.event.requestContext.requestId,
      caller: request.context.caller?.owner ?? null,
      admin: request.context.caller?.admin ?? false,
      taskId: request.context.taskId ?? null,
      status: request.response?.statusCode ?? null,
      latencyMs: Date.now() - (started.get(request) ?? Date.now()),
    });
  };
  return {
    before: (request) => {
      started.set(request, Date.now());
    },
    after: audit,
    onError: (request) => {
      const error = request.error;
      const requestId = request.event.requestContext.requestId;
      if (error instanceof HttpError) {
        request.response = json(error.status, { ...error.toJSON(), request_id: requestId });
      } else {
        logger.error('unhandled error', { operation, requestId, error: error ?? undefined });
        request.response = json(500, { ...internalErrorBody(), request_id: requestId });
      }
      audit(request);
    },
  };
}

/**
 * Wraps an operation into a Lambda handler for API Gateway v2 events.
 * Example: `export const handler = apiHandler('GetTask', () => config, getTaskOperation)`.
 */
export function apiHandler(
  operationName: string,
  callerOptions: () => CallerOptions,
  operation: Operation,
  options: { public?: boolean } = {},
): middy.MiddyfiedHandler<ApiEvent, ApiResult, Error, TesContext> {
  const chain = middy<ApiEvent, ApiResult, Error, TesContext>().use(errorsAndAudit(operationName));
  // Public operations (service-info, the 404) answer anyone; the caller is noted when known.
  chain.use(options.public === true ? noteCaller(callerOptions) : identifyCaller(callerOptions));
  return chain.handler(operation);
}

/** For public operations: notes who calls, if anyone is authenticated, without requiring it. */
function noteCaller(options: () => CallerOptions): middy.MiddlewareObj<ApiEvent, ApiResult, Error, TesContext> {
  return {
    before: async (request) => {
      const verify = options().verifyPublic;
      const token = /^Bearer\s+(\S+)$/i.exec(headerOf(request.event, 'authorization') ?? '')?.[1];
      if (verify !== undefined && token !== undefined && request.event.requestContext.authorizer?.jwt?.claims === undefined) {
        const claims = await verify(token).catch(() => undefined);
        if (claims !== undefined) request.event.requestContext.authorizer = { jwt: { claims: flattenClaims(claims), scopes: null } };
      }
      const caller = optionalCaller(request.event, options());
      request.context.caller = caller ?? { owner: 'anonymous', admin: false };
      request.context.callerKnown = caller !== undefined;
    },
  };
}

function optionalCaller(event: ApiEvent, options: CallerOptions): Caller | undefined {
  try {
    return callerOf(event, options);
  } catch {
    return undefined;
  }
}

/** The `{id}` path parameter, URL-decoded (API Gateway may or may not have decoded it). */
export function pathId(event: ApiEvent): string {
  const raw = event.pathParameters?.['id'] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
