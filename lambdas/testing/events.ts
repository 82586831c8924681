/** API Gateway v2 events for handler tests, shaped as API Gateway sends them (JWT claims included). */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { flattenClaims, type ApiEvent } from '../api/http.js';

export interface EventOptions {
  body?: string;
  query?: string;
  pathId?: string;
  /** The verified JWT subject; omit for an unauthenticated request. */
  sub?: string;
  /**
   * More claims of the verified token, as the token carries them: the event gets them flattened
   * where API Gateway's authorizer puts them (`"[a b]"` for arrays), and whole in the bearer token.
   */
  claims?: Record<string, unknown>;
  /** The bearer token's own subject, when it differs from what the authorizer says (a test of trust). */
  tokenSub?: string;
}

/** A JWT with these claims and no valid signature: what reaches a handler after API Gateway verified it. */
function bearer(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `Bearer ${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

export function apiEvent(method: string, path: string, options: EventOptions = {}): ApiEvent {
  const requestId = randomUUID();
  const event: ApiEvent = {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: {
      'content-type': 'application/json',
      ...(options.sub === undefined ? {} : { authorization: bearer({ ...options.claims, sub: options.tokenSub ?? options.sub }) }),
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'example.org',
      domainPrefix: 'example',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId,
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(options.sub === undefined ? {} : { authorizer: { jwt: { claims: flattenClaims({ ...options.claims, sub: options.sub }), scopes: [] } } }),
    },
    isBase64Encoded: false,
  };
  if (options.body !== undefined) event.body = options.body;
  if (options.pathId !== undefined) event.pathParameters = { id: options.pathId };
  return event;
}

export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
