/**
 * A small HTTP server that stands in for API Gateway's HTTP API: it matches the same routes
 * (routes.ts), builds the same version 2.0 events the handlers receive in AWS, and writes their
 * results back. Bodies over API Gateway's 10 MB limit are refused here, as API Gateway would.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import { flattenClaims, logger, type ApiEvent, type ApiResult } from '../api/http.js';
import { BASE_PATHS, DEFAULT_ROUTE, ROUTES, routePaths } from '../api/routes.js';
import type { WiringSource } from '../api/wiring.js';
import type { DashboardSite } from './dashboard-site.js';

/** What a Lambda function can be handed (6 MB); API Gateway answers a larger request itself. */
const API_GATEWAY_MAX_BODY = 6 * 1024 * 1024;

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

interface BoundRoute {
  method: string;
  segments: string[];
  routeKey: string;
  handler: Handler;
  public: boolean;
}

/** Verifies a bearer token and answers its claims (the local stand-in for API Gateway's JWT authorizer). */
export type TokenVerifier = (token: string) => Promise<Record<string, unknown>>;

function bindRoutes(wiring: WiringSource): { routes: BoundRoute[]; fallback: Handler } {
  const routes: BoundRoute[] = [];
  for (const route of ROUTES) {
    const handler = route.endpoint.handler(wiring) as unknown as Handler;
    for (const path of BASE_PATHS.flatMap((base) => routePaths(route).map((relative) => `${base}${relative}`))) {
      routes.push({
        method: route.method,
        segments: path.split('/').slice(1),
        routeKey: `${route.method} ${path}`,
        handler,
        public: route.endpoint.public,
      });
    }
  }
  return { routes, fallback: DEFAULT_ROUTE.endpoint.handler(wiring) as unknown as Handler };
}

function match(route: BoundRoute, method: string, segments: string[]): Record<string, string> | undefined {
  if (route.method !== method || route.segments.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, pattern] of route.segments.entries()) {
    const segment = segments[i] ?? '';
    if (pattern.startsWith('{') && pattern.endsWith('}')) {
      if (segment === '') return undefined;
      params[pattern.slice(1, -1)] = segment;
    } else if (pattern !== segment) {
      return undefined;
    }
  }
  return params;
}

class BodyTooLarge extends Error {}

const NO_BODY = Buffer.alloc(0);

async function readBody(request: IncomingMessage): Promise<Buffer> {
  // A request that declares no body has none (HTTP/1.1): nothing to wait for.
  if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined) return NO_BODY;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > API_GATEWAY_MAX_BODY) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function isText(contentType: string | undefined): boolean {
  return contentType === undefined || /^(text\/|application\/(json|[\w.+-]*\+json|x-www-form-urlencoded|xml))/i.test(contentType);
}

function lambdaContext(requestId: string, functionName: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Builds the API Gateway v2 event for a request, as API Gateway would. */
export function toApiEvent(
  request: IncomingMessage,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string> | undefined,
  url: URL = new URL(request.url ?? '/', 'http://local'),
): ApiEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const now = new Date();
  const text = isText(headers['content-type']);
  const event: ApiEvent = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers['host'] ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: !text && body.byteLength > 0,
  };
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (pathParameters !== undefined && Object.keys(pathParameters).length > 0) event.pathParameters = pathParameters;
  if (body.byteLength > 0) event.body = text ? body.toString('utf8') : body.toString('base64');
  return event;
}

function writeResult(response: ServerResponse, result: ApiResult): void {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  const body = result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}

/**
 * What API Gateway answers itself, before or instead of a function: its own body, `{"message": ...}`,
 * not the TES error shape (README, "Errors"). Reproduced here so that the local stack answers as the
 * deployed API does.
 */
export const API_GATEWAY_RESPONSES = {
  unauthorized: { status: 401, message: 'Unauthorized', headers: { 'www-authenticate': 'Bearer' } },
  tooLarge: { status: 413, message: 'Request Entity Too Large', headers: {} },
  functionFailed: { status: 500, message: 'Internal Server Error', headers: {} },
} as const;

function gatewayResult(kind: keyof typeof API_GATEWAY_RESPONSES): ApiResult {
  const { status, message, headers } = API_GATEWAY_RESPONSES[kind];
  return { statusCode: status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ message }) };
}

/** Refuses a request as API Gateway's JWT authorizer does; the reason goes to the stack's log only, as there. */
function unauthorized(reason: string): ApiResult {
  logger.info('refused a bearer token', { reason });
  return gatewayResult('unauthorized');
}

/**
 * An HTTP server that serves the TES routes with the given wiring (not yet listening). With
 * `verify`, protected routes need a valid bearer token, whose claims reach the handlers exactly
 * where API Gateway's JWT authorizer puts them. With `dashboard`, its few paths (`/`, its files,
 * `/config.json`) serve the dashboard; every other path is the API's, as without it.
 */
export function createApiServer(wiring: WiringSource, verify?: TokenVerifier, dashboard?: DashboardSite): Server {
  const { routes, fallback } = bindRoutes(wiring);
  return createServer((request, response) => {
    void (async () => {
      try {
        const method = (request.method ?? 'GET').toUpperCase();
        const url = new URL(request.url ?? '/', 'http://local');
        // The request target as sent (`//x` is no path of the dashboard's, whatever a URL parser makes of it).
        if (dashboard?.answer(method, (request.url ?? '/').replace(/\?.*$/s, ''), response) === true) return;
        const body = await readBody(request);
        const segments = url.pathname.split('/').slice(1);
        let handler = fallback;
        let routeKey = '$default';
        let protectedRoute = false;
        let params: Record<string, string> | undefined;
        for (const route of routes) {
          params = match(route, method, segments);
          if (params !== undefined) {
            handler = route.handler;
            routeKey = route.routeKey;
            protectedRoute = !route.public;
            break;
          }
        }
        const event = toApiEvent(request, body, routeKey, params, url);
        if (verify !== undefined && !protectedRoute) {
          // A public route answers anyone; a valid token there still says who asks (service-info's storage).
          const token = /^Bearer\s+(\S+)$/i.exec(event.headers['authorization'] ?? '')?.[1];
          const claims = token === undefined ? undefined : await verify(token).catch(() => undefined);
          if (claims !== undefined) event.requestContext.authorizer = { jwt: { claims: flattenClaims(claims), scopes: null } };
        } else if (verify !== undefined) {
          const token = /^Bearer\s+(\S+)$/i.exec(event.headers['authorization'] ?? '')?.[1];
          if (token === undefined) {
            writeResult(response, unauthorized('a bearer token is required (npm run token -- <subject> prints one)'));
            return;
          }
          try {
            const claims = await verify(token);
            event.requestContext.authorizer = { jwt: { claims: flattenClaims(claims), scopes: null } };
          } catch (error) {
            writeResult(response, unauthorized(`the bearer token was refused: ${(error as Error).message}`));
            return;
          }
        }
        writeResult(response, await handler(event, lambdaContext(event.requestContext.requestId, routeKey)));
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          writeResult(response, gatewayResult('tooLarge'));
        } else {
          writeResult(response, gatewayResult('functionFailed'));
        }
      }
    })();
  });
}
