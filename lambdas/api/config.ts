/**
 * The deployed functions' configuration, read from their environment in one place.
 * | variable | meaning |
 * |---|---|
 * | TES_TABLE_NAME | the task table |
 * | TES_BUCKET | the bucket for large task content and logs |
 * | TES_STATE_MACHINE_ARN | the task workflow |
 * | TES_EXECUTOR_LOG_GROUP | GetTask, ListTasks: where a running executor's output is read for the FULL view |
 * | TES_CLUSTER_ARN | the executors' cluster (CancelTask stops their Fargate tasks) |
 * | TES_PAGE_TOKEN_SECRET | base64 key (≥ 32 bytes) that signs ListTasks page tokens (ListTasks only) |
 * | TES_ANONYMOUS_OWNER | set only when authentication is off: the owner of every task |
 * | TES_JWT_ISSUER, TES_JWT_AUDIENCE | service-info only: checks a bearer token itself (its route has no authorizer) to list the caller's storage |
 * | TES_ADMIN_CLAIM | `name=value` a caller's token must hold to see every user's tasks (default groups=tes-admins; `none`) |
 * | TES_ALLOWED_IMAGE_PREFIXES, TES_MAX_* | the admission policy (lambdas/domain/admission.ts) |
 * | TES_STORAGE_RULES, TES_HTTP_INPUTS | the storage policy (lambdas/domain/storage-policy.ts) |
 * | TES_SERVICE_* | service-info fields (see serviceInfoFromEnv) |
 * | TES_DYNAMODB_ENDPOINT, TES_S3_ENDPOINT, TES_STEPFUNCTIONS_ENDPOINT | stand-in endpoints (LocalStack) |
 */
import { PageTokens } from '../domain/page-token.js';
import type { ServiceInfoConfig } from '../domain/service-info.js';
import { admissionFromEnv, type AdmissionPolicy } from '../domain/admission.js';
import { storagePolicyFromEnv, type StoragePolicy } from '../domain/storage-policy.js';
import type { LogStore } from '../ports/log-store.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { TaskStore } from '../ports/task-store.js';
import type { WorkflowPort } from '../ports/workflow.js';
import { dynamoDbDocumentClient, type AwsConfig } from '../adapters/aws-clients.js';
import { DynamoDbTaskStore } from '../adapters/dynamodb-task-store.js';
import { systemClock } from '../adapters/system-clock.js';
import { ulidIds } from '../adapters/ulid-ids.js';
import type { TesDeps } from '../usecases/deps.js';
import { parseAdminClaim } from '../domain/caller.js';
import type { CallerOptions } from './http.js';
import type { TokenVerifier } from './public-caller.js';

export interface CloudConfig {
  aws: AwsConfig;
  tableName: string;
  bucket: string;
  stateMachineArn: string;
  /** ListTasks' only: no other function holds it. */
  pageTokenSecret?: Uint8Array;
  caller: CallerOptions;
  serviceInfo: ServiceInfoConfig;
  admission: AdmissionPolicy;
  storage: StoragePolicy;
  /** The executors' ECS cluster, so CancelTask can stop their Fargate tasks. */
  clusterArn?: string;
  /** Where executors log (CloudWatch Logs): GetTask and ListTasks show a running executor's output from it. */
  executorLogGroup?: string;
  /** Service-info only: the issuer whose bearer tokens it checks itself (TES_JWT_ISSUER, TES_JWT_AUDIENCE). */
  publicIssuer?: { issuer: string; audiences: string[] };
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** service-info fields from TES_SERVICE_* variables, with the product's defaults. */
export function serviceInfoFromEnv(env: Env): ServiceInfoConfig {
  const config: ServiceInfoConfig = {
    id: optional(env, 'TES_SERVICE_ID') ?? 'org.ga4gh.serverless-tes',
    name: optional(env, 'TES_SERVICE_NAME') ?? 'Serverless TES',
    description: optional(env, 'TES_SERVICE_DESCRIPTION') ?? 'GA4GH Task Execution Service on AWS Step Functions and Fargate',
    organization: {
      name: optional(env, 'TES_SERVICE_ORGANIZATION_NAME') ?? 'Serverless TES',
      url: optional(env, 'TES_SERVICE_ORGANIZATION_URL') ?? 'https://github.com/serverless-tes',
    },
    version: optional(env, 'TES_SERVICE_VERSION') ?? '0.1.0',
  };
  const extra: [keyof ServiceInfoConfig, string][] = [
    ['contactUrl', 'TES_SERVICE_CONTACT_URL'],
    ['documentationUrl', 'TES_SERVICE_DOCUMENTATION_URL'],
    ['environment', 'TES_SERVICE_ENVIRONMENT'],
    ['createdAt', 'TES_SERVICE_CREATED_AT'],
    ['updatedAt', 'TES_SERVICE_UPDATED_AT'],
  ];
  for (const [field, name] of extra) {
    const value = optional(env, name);
    if (value !== undefined) (config as unknown as Record<string, string>)[field] = value;
  }
  return config;
}

/** Who callers are: TES_ANONYMOUS_OWNER when authentication is off, TES_ADMIN_CLAIM (see domain/caller.ts). */
export function callerOptionsFromEnv(env: Env): CallerOptions {
  const anonymousOwner = optional(env, 'TES_ANONYMOUS_OWNER');
  if (anonymousOwner !== undefined) return { anonymousOwner };
  const adminClaim = parseAdminClaim(env['TES_ADMIN_CLAIM']);
  return adminClaim === undefined ? {} : { adminClaim };
}

/** TES_JWT_ISSUER and TES_JWT_AUDIENCE (comma-separated), or undefined when either is unset. */
export function publicIssuerFromEnv(env: Env): { issuer: string; audiences: string[] } | undefined {
  const issuer = env['TES_JWT_ISSUER']?.trim();
  const audiences = (env['TES_JWT_AUDIENCE'] ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  return !issuer || audiences.length === 0 ? undefined : { issuer, audiences };
}

export function configFromEnv(env: Env): CloudConfig {
  const bucket = required(env, 'TES_BUCKET');
  const endpoints: NonNullable<AwsConfig['endpoints']> = {};
  const dynamodb = optional(env, 'TES_DYNAMODB_ENDPOINT');
  const s3 = optional(env, 'TES_S3_ENDPOINT');
  const stepfunctions = optional(env, 'TES_STEPFUNCTIONS_ENDPOINT');
  if (dynamodb !== undefined) endpoints.dynamodb = dynamodb;
  if (s3 !== undefined) endpoints.s3 = s3;
  if (stepfunctions !== undefined) endpoints.stepfunctions = stepfunctions;
  return {
    aws: { region: required(env, 'AWS_REGION'), endpoints },
    tableName: required(env, 'TES_TABLE_NAME'),
    bucket,
    stateMachineArn: required(env, 'TES_STATE_MACHINE_ARN'),
    ...(optional(env, 'TES_PAGE_TOKEN_SECRET') === undefined ? {} : { pageTokenSecret: Buffer.from(optional(env, 'TES_PAGE_TOKEN_SECRET') as string, 'base64') }),
    caller: callerOptionsFromEnv(env),
    serviceInfo: serviceInfoFromEnv(env),
    admission: admissionFromEnv(env),
    storage: storagePolicyFromEnv(env, bucket),
    ...(optional(env, 'TES_CLUSTER_ARN') === undefined ? {} : { clusterArn: optional(env, 'TES_CLUSTER_ARN') }),
    ...(optional(env, 'TES_EXECUTOR_LOG_GROUP') === undefined ? {} : { executorLogGroup: optional(env, 'TES_EXECUTOR_LOG_GROUP') }),
    ...(optional(env, 'TES_ANONYMOUS_OWNER') === undefined && publicIssuerFromEnv(env) !== undefined ? { publicIssuer: publicIssuerFromEnv(env) } : {}),
  };
}

/**
 * What only some functions use, given by their own modules so that no other function's bundle
 * carries its AWS client or library: the S3 object store (CreateTask, GetTask), the Step Functions
 * workflow (CreateTask, CancelTask), GetTask's CloudWatch log store, CancelTask's ECS task stopper,
 * service-info's bearer-token check (jose).
 */
export interface CloudParts {
  objects?: (aws: AwsConfig, bucket: string) => ObjectStore;
  workflow?: (aws: AwsConfig, stateMachineArn: string, stopTasks?: (arns: readonly string[], reason: string) => Promise<void>) => WorkflowPort;
  logStore?: (region: string, logGroup: string, store: TaskStore) => LogStore;
  taskStopper?: (region: string, cluster: string) => (arns: readonly string[], reason: string) => Promise<void>;
  publicTokens?: (issuer: string, audiences: readonly string[]) => TokenVerifier;
}

/** What a function was not given: using it is a bug in its module's parts, said as such. */
function absent<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: (_target, name) =>
      name === 'then' ? undefined : () => Promise.reject(new Error(`this function was not given ${what} (its module's CloudParts), yet called ${String(name)} on it`)),
  });
}

/** The deployed dependencies: DynamoDB, and the parts the function gives. */
export function cloudDeps(config: CloudConfig, parts: CloudParts = {}): TesDeps {
  const store = new DynamoDbTaskStore(dynamoDbDocumentClient(config.aws), config.tableName);
  const stopTasks = config.clusterArn === undefined || parts.taskStopper === undefined ? undefined : parts.taskStopper(config.aws.region, config.clusterArn);
  return {
    store,
    ...(config.executorLogGroup === undefined || parts.logStore === undefined ? {} : { logs: parts.logStore(config.aws.region, config.executorLogGroup, store) }),
    objects: parts.objects?.(config.aws, config.bucket) ?? absent<ObjectStore>('the object store'),
    workflow: parts.workflow?.(config.aws, config.stateMachineArn, stopTasks) ?? absent<WorkflowPort>('the workflow'),
    clock: systemClock,
    ids: ulidIds,
    ...(config.pageTokenSecret === undefined ? {} : { pageTokens: new PageTokens(config.pageTokenSecret) }),
    serviceInfo: config.serviceInfo,
    admission: config.admission,
    storage: config.storage,
  };
}

/** Who the function's callers are: with service-info's part, a bearer token on its public route is checked. */
export function cloudCaller(config: CloudConfig, parts: CloudParts = {}): CallerOptions {
  if (config.publicIssuer === undefined || parts.publicTokens === undefined) return config.caller;
  return { ...config.caller, verifyPublic: parts.publicTokens(config.publicIssuer.issuer, config.publicIssuer.audiences) };
}
