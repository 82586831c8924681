/**
 * The staging broker's HTTP face (API Gateway v2 events): `POST .../session` with the run's ticket,
 * then `.../plan`, `.../upload-targets`, `.../outputs/{page}` and `.../report/{stage-in|stage-out}` with the session
 * token, each as `Authorization: Bearer <token>`. A bad or
 * foreign token, or a request outside what the task declared, is a 403 that says why.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { StagingRefusedError } from '../adapters/s3-staging-broker.js';
import { InvalidStagingTokenError } from '../domain/staging-token.js';
import type { StageReport, StagingBroker, UploadedFile, UploadRequest } from '../ports/staging.js';
import { workflowFromEnv, type CloudWorkflow } from './config.js';

let cloud: CloudWorkflow | undefined;

function reply(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The broker is a private REST API in AWS (v1 events) and may sit behind an HTTP API (v2): read both. */
type BrokerEvent = {
  body?: string | null;
  isBase64Encoded?: boolean;
  rawPath?: string;
  path?: string;
  headers: Record<string, string | undefined> | null;
};

export async function brokerRequest(broker: StagingBroker, event: BrokerEvent): Promise<APIGatewayProxyStructuredResultV2> {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const token = /^Bearer (.+)$/.exec(headers['authorization'] ?? '')?.[1];
  if (token === undefined) return reply(401, { message: 'a staging token is required' });
  let body: Record<string, unknown>;
  try {
    body = (event.body ? JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : {}) as Record<string, unknown>;
  } catch {
    return reply(400, { message: 'the body is not JSON' });
  }
  const path = event.rawPath ?? event.path ?? '';
  try {
    if (path.endsWith('/session')) return reply(200, await broker.session(token));
    if (path.endsWith('/plan')) return reply(200, await broker.plan(token));
    if (path.endsWith('/upload-targets')) return reply(200, await broker.uploadTargets(token, (body['files'] ?? []) as UploadRequest[]));
    const page = /\/outputs\/(\d{1,9})$/.exec(path)?.[1];
    if (page !== undefined) return reply(200, await broker.outputPage(token, Number(page), body['files'] as UploadedFile[]));
    const report = /\/report\/(stage-in|stage-out)$/.exec(path)?.[1] as 'stage-in' | 'stage-out' | undefined;
    if (report !== undefined) {
      await broker.report(token, report, body as unknown as StageReport);
      return reply(200, {});
    }
    return reply(404, { message: `no broker operation at ${path}` });
  } catch (error) {
    if (error instanceof InvalidStagingTokenError || error instanceof StagingRefusedError) return reply(403, { message: error.message });
    throw error;
  }
}

export const handler = (event: BrokerEvent) => brokerRequest((cloud ??= workflowFromEnv(process.env)).broker, event);
