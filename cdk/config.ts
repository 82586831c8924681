/**
 * The deployment's configuration, read from CDK context (`cdk.json`, `-c key=value`). Every key is
 * documented in the README's configuration table; defaults are the hardened choice.
 */
export type Auth = 'cognito' | 'oidc' | 'none';
export type ExecutorEgress = 'none' | 's3' | 'internet';

export interface TesConfig {
  /** `cognito` (a user pool this stack creates), `oidc` (any issuer), or `none` (loudly warned about). */
  auth: Auth;
  oidcIssuer?: string;
  oidcAudience?: string[];
  /** Numeric uid:gid every executor runs as. */
  executorUser: string;
  /** Image prefixes executors may use; empty allows any. */
  allowedImagePrefixes: string[];
  /** The most one task may ask for; unset means Fargate's limits (16 vCPU, 120 GB, 200 GB). */
  maxCpuCores?: number;
  maxRamGb?: number;
  maxDiskGb?: number;
  /** What executors may reach: nothing, S3 (through the gateway endpoint), or the internet (a NAT gateway). */
  executorEgress: ExecutorEgress;
  /** Whether `preemptible` tasks may run on Fargate Spot. */
  spotAllowed: boolean;
  /** Buckets tasks may read inputs from and write outputs to, besides the service bucket. */
  dataBuckets: string[];
  logRetentionDays: number;
  /** Days the service bucket keeps task content, reports and logs. */
  taskDataRetentionDays: number;
  /** `retain` (default) keeps the table and buckets when the stacks are deleted. */
  removalPolicy: 'retain' | 'destroy';
  guardDuty: boolean;
  /** Where alarms go (an email address), if anywhere. */
  alarmEmail?: string;
}

type Context = (key: string) => unknown;

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string' && value !== '') return value.split(',').map((s) => s.trim()).filter(Boolean);
  return [];
}

function bool(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === true || value === 'true';
}

/** Reads and checks the configuration; throws naming the key that is wrong. */
export function readConfig(context: Context): TesConfig {
  const auth = (context('auth') ?? 'cognito') as Auth;
  if (!['cognito', 'oidc', 'none'].includes(auth)) throw new Error(`context auth must be cognito, oidc or none, not ${String(auth)}`);
  const egress = (context('executorEgress') ?? 's3') as ExecutorEgress;
  if (!['none', 's3', 'internet'].includes(egress)) throw new Error(`context executorEgress must be none, s3 or internet, not ${String(egress)}`);
  const user = context('executorUser');
  const executorUser = typeof user === 'string' ? user : '1000:1000';
  if (!/^[1-9]\d*:[1-9]\d*$/.test(executorUser)) throw new Error(`context executorUser must be a non-root numeric uid:gid, not ${executorUser}`);
  const config: TesConfig = {
    auth,
    executorUser,
    allowedImagePrefixes: list(context('allowedImagePrefixes')),
    executorEgress: egress,
    spotAllowed: bool(context('spotAllowed'), true),
    dataBuckets: list(context('dataBuckets')),
    logRetentionDays: Number(context('logRetentionDays') ?? 90),
    taskDataRetentionDays: Number(context('taskDataRetentionDays') ?? 30),
    removalPolicy: context('removalPolicy') === 'destroy' ? 'destroy' : 'retain',
    guardDuty: bool(context('guardDuty'), true),
  };
  if (auth === 'oidc') {
    const issuer = context('oidcIssuer');
    const audience = list(context('oidcAudience'));
    if (typeof issuer !== 'string' || !issuer.startsWith('https://') || audience.length === 0) {
      throw new Error('auth=oidc needs context oidcIssuer (an https URL) and oidcAudience');
    }
    config.oidcIssuer = issuer;
    config.oidcAudience = audience;
  }
  for (const key of ['maxCpuCores', 'maxRamGb', 'maxDiskGb'] as const) {
    const raw = context(key);
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!(value > 0)) throw new Error(`context ${key} must be a positive number, not ${JSON.stringify(raw)}`);
    config[key] = value;
  }
  const email = context('alarmEmail');
  if (typeof email === 'string' && email !== '') config.alarmEmail = email;
  return config;
}
