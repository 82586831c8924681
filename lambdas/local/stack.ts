/**
 * The local stack: the same handlers as in AWS behind a stand-in for API Gateway, with embedded
 * DynamoDB (dynalite) and S3 (s3rver). Tasks persist under the data directory across restarts,
 * or live in memory when no directory is given.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoDbDocumentClient, s3Client, type AwsConfig } from '../adapters/aws-clients.js';
import { DynamoDbTaskStore } from '../adapters/dynamodb-task-store.js';
import { S3ObjectStore } from '../adapters/s3-object-store.js';
import { systemClock } from '../adapters/system-clock.js';
import { ulidIds } from '../adapters/ulid-ids.js';
import { serviceInfoFromEnv } from '../api/config.js';
import type { Wiring } from '../api/wiring.js';
import { PageTokens } from '../domain/page-token.js';
import type { WorkflowPort } from '../ports/workflow.js';
import type { TesDeps } from '../usecases/deps.js';
import { ensureTaskTable, startDynalite } from './dynamodb-local.js';
import { createApiServer } from './http-adapter.js';
import { RecordingWorkflow } from './local-workflow.js';
import { closeServer, listen } from './net.js';
import { LOCAL_S3_CREDENTIALS, startS3rver } from './s3-local.js';

export const LOCAL_OWNER = 'local';
export const LOCAL_BUCKET = 'tes-local';
const TABLE_NAME = 'tes-tasks';

export interface LocalStackOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Where tasks and objects persist; undefined keeps everything in memory. */
  dataDir?: string;
  workflow?: WorkflowPort;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface LocalStack {
  /** Base URL of the TES API, e.g. http://127.0.0.1:8000/ga4gh/tes/v1 */
  url: string;
  port: number;
  s3: { endpoint: string; bucket: string };
  deps: TesDeps;
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} on 127.0.0.1 is already in use; choose another with PORT (for example PORT=${port + 1} npm start)`);
    this.name = 'PortInUseError';
  }
}

/** The page-token key: kept in the data directory so tokens outlive a restart. */
async function pageTokenSecret(dataDir: string | undefined): Promise<Buffer> {
  if (dataDir === undefined) return randomBytes(32);
  const file = join(dataDir, 'page-token.key');
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  } catch {
    const secret = randomBytes(32);
    await writeFile(file, secret.toString('base64'), { mode: 0o600 });
    return secret;
  }
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    if (options.dataDir !== undefined) await mkdir(join(options.dataDir, 's3'), { recursive: true, mode: 0o700 });
    const dynamo = await startDynalite(options.dataDir === undefined ? undefined : join(options.dataDir, 'dynamodb'));
    cleanups.push(() => dynamo.close());

    let s3Dir = options.dataDir === undefined ? undefined : join(options.dataDir, 's3');
    if (s3Dir === undefined) {
      const tmp = await mkdtemp(join(tmpdir(), 'tes-s3-'));
      cleanups.push(() => rm(tmp, { recursive: true, force: true }));
      s3Dir = tmp;
    }
    const s3 = await startS3rver(s3Dir, LOCAL_BUCKET);
    cleanups.push(() => s3.close());

    const aws: AwsConfig = {
      region: 'us-east-1',
      endpoints: { dynamodb: dynamo.endpoint, s3: s3.endpoint },
      credentials: LOCAL_S3_CREDENTIALS,
    };
    await ensureTaskTable(new DynamoDBClient({ region: aws.region, endpoint: dynamo.endpoint, credentials: aws.credentials }), TABLE_NAME);

    const deps: TesDeps = {
      store: new DynamoDbTaskStore(dynamoDbDocumentClient(aws), TABLE_NAME),
      objects: new S3ObjectStore(s3Client(aws), LOCAL_BUCKET),
      workflow: options.workflow ?? new RecordingWorkflow(),
      clock: systemClock,
      ids: ulidIds,
      pageTokens: new PageTokens(await pageTokenSecret(options.dataDir)),
      serviceInfo: serviceInfoFromEnv(
        { TES_SERVICE_ENVIRONMENT: 'local', ...(options.env ?? {}) },
        [`s3://${LOCAL_BUCKET}/`],
      ),
    };
    const wiring: Wiring = { deps, caller: { anonymousOwner: LOCAL_OWNER } };
    const server = createApiServer(() => wiring);
    try {
      await listen(server, options.port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(options.port);
      throw error;
    }
    cleanups.push(() => closeServer(server));
    const port = (server.address() as AddressInfo).port;
    return {
      url: `http://127.0.0.1:${port}/ga4gh/tes/v1`,
      port,
      s3: { endpoint: s3.endpoint, bucket: LOCAL_BUCKET },
      deps,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
