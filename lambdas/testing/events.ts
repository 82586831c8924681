/** API Gateway v2 events for handler tests, shaped as API Gateway sends them (JWT claims included). */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { ApiEvent } from '../api/http.js';

export interface EventOptions {
  body?: string;
  query?: string;
  pathId?: string;
  /** The verified JWT subject; omit for an unauthenticated request. */
  sub?: string;
  /** More verified claims, flattened as API Gateway hands them on (`"[a b]"` for arrays). */
  claims?: Record<string, string>;
}

export function apiEvent(method: string, path: string, options: EventOptions = {}): ApiEvent {
  const requestId = randomUUID();
  const event: ApiEvent = {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: { 'content-type': 'application/json' },
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
      ...(options.sub === undefined ? {} : { authorizer: { jwt: { claims: { ...options.claims, sub: options.sub }, scopes: [] } } }),
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
