/**
 * The workflow functions' configuration, read from their environment in one place.
 * | variable | meaning |
 * |---|---|
 * | TES_TABLE_NAME, TES_BUCKET | the task table and the service bucket |
 * | TES_STAGING_SECRET | base64 key (≥ 32 bytes) that signs staging capabilities (Prepare, Record, the broker only) |
 * | TES_RUNTIME_IMAGE | the stage-in/stage-out image |
 * | TES_EXECUTOR_USER | numeric uid:gid executors run as (default 1000:1000) |
 * | TES_EXECUTION_ROLE_ARN | lets ECS pull images and write logs (never visible to containers) |
 * | TES_EXECUTOR_LOG_GROUP | where executor output goes |
 * | TES_CLUSTER_ARN, TES_SUBNETS, TES_SECURITY_GROUPS | where executors run (comma-separated lists) |
 * | TES_SPOT_ALLOWED | `true` lets `preemptible` tasks use Fargate Spot |
 * | TES_FARGATE_PRICES | the region's Fargate prices for the cost estimate, as JSON (default us-east-1 list prices) |
 * | TES_BROKER_URL | where stage-in/stage-out reach the staging broker |
 * | TES_STORAGE_RULES, TES_HTTP_INPUTS | the storage policy the broker enforces (lambdas/domain/storage-policy.ts) |
 * | TES_DYNAMODB_ENDPOINT, TES_S3_ENDPOINT, TES_STEPFUNCTIONS_ENDPOINT, TES_ECS_ENDPOINT, TES_LOGS_ENDPOINT | stand-in endpoints (LocalStack, the benchmark); unset in AWS |
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { dynamoDbDocumentClient, s3Client, type AwsConfig } from '../adapters/aws-clients.js';
import { CloudWatchLogStore } from '../adapters/cloudwatch-log-store.js';
import { DynamoDbTaskStore } from '../adapters/dynamodb-task-store.js';
import { EcsTaskDefinitions } from '../adapters/ecs-task-definitions.js';
import { S3ObjectStore } from '../adapters/s3-object-store.js';
import { S3StagingBroker } from '../adapters/s3-staging-broker.js';
import { stopEcsTasks } from '../adapters/ecs-tasks.js';
import { systemClock } from '../adapters/system-clock.js';
import { parseAllowance } from '../runtime/public-fetch.js';
import { fargatePricesFromEnv } from '../domain/fargate.js';
import { StagingTokens } from '../domain/staging-token.js';
import { storagePolicyFromEnv } from '../domain/storage-policy.js';
import type { WorkflowDeps } from './deps.js';

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function awsFromEnv(env: Env): AwsConfig {
  const endpoints: NonNullable<AwsConfig['endpoints']> = {};
  if (env['TES_DYNAMODB_ENDPOINT']) endpoints.dynamodb = env['TES_DYNAMODB_ENDPOINT'];
  if (env['TES_S3_ENDPOINT']) endpoints.s3 = env['TES_S3_ENDPOINT'];
  if (env['TES_STEPFUNCTIONS_ENDPOINT']) endpoints.stepfunctions = env['TES_STEPFUNCTIONS_ENDPOINT'];
  if (env['TES_ECS_ENDPOINT']) endpoints.ecs = env['TES_ECS_ENDPOINT'];
  if (env['TES_LOGS_ENDPOINT']) endpoints.logs = env['TES_LOGS_ENDPOINT'];
  return { region: required(env, 'AWS_REGION'), endpoints };
}

export interface CloudWorkflow {
  deps: WorkflowDeps;
  broker: S3StagingBroker;
}

/** TES_HTTP_INPUT_ALLOW for stage-in, checked here so that a bad value fails the function, not every task. */
export function httpInputAllow(env: Readonly<Record<string, string | undefined>>): { httpInputAllow?: string } {
  const value = env['TES_HTTP_INPUT_ALLOW']?.trim();
  if (value === undefined || value === '') return {};
  parseAllowance(value);
  return { httpInputAllow: value };
}

export function workflowFromEnv(env: Env): CloudWorkflow {
  const aws = awsFromEnv(env);
  const store = new DynamoDbTaskStore(dynamoDbDocumentClient(aws), required(env, 'TES_TABLE_NAME'));
  const bucket = required(env, 'TES_BUCKET');
  const s3 = s3Client(aws);
  // Only the functions that sign or check staging tokens hold the key (Prepare, Record, the broker).
  const secret = env['TES_STAGING_SECRET'];
  const stagingTokens = secret ? new StagingTokens(Buffer.from(secret, 'base64')) : undefined;
  const logGroup = required(env, 'TES_EXECUTOR_LOG_GROUP');
  const executionRoleArn = env['TES_EXECUTION_ROLE_ARN'];
  const cluster = required(env, 'TES_CLUSTER_ARN');
  // (The ECS and CloudWatch Logs clients are made here, not in aws-clients.ts, which the API's bundles import.)
  const ecs = new ECSClient({ region: aws.region, ...(aws.endpoints?.ecs === undefined ? {} : { endpoint: aws.endpoints.ecs }) });
  const deps: WorkflowDeps = {
    store,
    objects: new S3ObjectStore(s3, bucket),
    registry: new EcsTaskDefinitions(ecs),
    ...(stagingTokens === undefined ? {} : { stagingTokens }),
    platform: {
      runtimeImage: required(env, 'TES_RUNTIME_IMAGE'),
      executorUser: env['TES_EXECUTOR_USER'] ?? '1000:1000',
      ...(executionRoleArn ? { executionRoleArn } : {}),
      logGroup,
      region: aws.region,
      cluster,
      subnets: list(env, 'TES_SUBNETS'),
      securityGroups: list(env, 'TES_SECURITY_GROUPS'),
    },
    sizing: { spotAllowed: env['TES_SPOT_ALLOWED'] === 'true' },
    prices: fargatePricesFromEnv(env['TES_FARGATE_PRICES']),
    clock: systemClock,
    logs: new CloudWatchLogStore(new CloudWatchLogsClient({ region: aws.region, ...(aws.endpoints?.logs === undefined ? {} : { endpoint: aws.endpoints.logs }) }), logGroup, store),
    ...(env['TES_BROKER_URL'] ? { brokerUrl: env['TES_BROKER_URL'] } : {}),
    ...httpInputAllow(env),
    stopExecutors: (_taskId, arns, reason) => stopEcsTasks(ecs, cluster, arns, reason),
  };
  let broker: S3StagingBroker | undefined;
  return {
    deps,
    get broker() {
      if (stagingTokens === undefined) throw new Error('TES_STAGING_SECRET is not set (the broker checks staging tokens)');
      broker ??= new S3StagingBroker({ store, s3, bucket, tokens: stagingTokens, clock: systemClock, storage: storagePolicyFromEnv(env, bucket) });
      return broker;
    },
  };
}
