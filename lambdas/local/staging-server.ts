/**
 * What stage-in and stage-out reach over HTTP when they run on this machine, as they reach it on
 * Fargate: the staging broker (the same handler as its private REST API in AWS) and, for stage-out,
 * the ECS task metadata endpoint that tells it the executor's exit code (one unguessable path per
 * run). On 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StagingBroker } from '../ports/staging.js';
import { brokerRequest } from '../workflow/broker-lambda.js';
import { logger } from '../api/http.js';
import { closeServer, listen } from './net.js';

/** What API Gateway's REST API takes in a request body (10 MB); larger is a 413, as there. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface StagingServer {
  /** TES_BROKER_URL for staging. */
  brokerUrl: string;
  /** A metadata endpoint for one run (ECS_CONTAINER_METADATA_URI_V4); `release` ends it. */
  metadataEndpoint(): { url: string; setExecutorExitCode: (code: number) => void; release: () => void };
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startStagingServer(broker: StagingBroker): Promise<StagingServer> {
  const runs = new Map<string, { exitCode?: number }>();
  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const metadata = /^\/metadata\/([0-9a-f]{48})\/task$/.exec(path);
      if (metadata !== null && req.method === 'GET') {
        const run = runs.get(metadata[1] as string);
        if (run === undefined) return send(res, 404, { message: 'no such run' });
        return send(res, 200, { Containers: [{ Name: 'executor', ...(run.exitCode === undefined ? {} : { ExitCode: run.exitCode }) }] });
      }
      if (!path.startsWith('/broker/') || req.method !== 'POST') return send(res, 404, { message: `nothing at ${req.method} ${path}` });
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, { message: `a request body may be at most ${MAX_BODY_BYTES} bytes` });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
      let reply;
      try {
        reply = await brokerRequest(broker, { rawPath: path, headers, body });
      } catch (error) {
        logger.error('the staging broker failed', { error: error as Error });
        return send(res, 500, { message: 'the staging broker failed' });
      }
      res.writeHead(reply.statusCode ?? 200, reply.headers as Record<string, string>).end(reply.body);
    })().catch(() => {
      if (!res.headersSent) send(res, 400, { message: 'bad request' });
    });
  });
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    brokerUrl: `${base}/broker`,
    metadataEndpoint() {
      const secret = randomBytes(24).toString('hex');
      const run: { exitCode?: number } = {};
      runs.set(secret, run);
      return {
        url: `${base}/metadata/${secret}`,
        setExecutorExitCode: (code) => {
          run.exitCode = code;
        },
        release: () => runs.delete(secret),
      };
    },
    close: () => closeServer(server),
  };
}
