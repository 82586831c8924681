/**
 * The deployment's configuration, read from CDK context (`cdk.json`, `-c key=value`). Every key is
 * documented in the README's configuration table; defaults are the hardened choice.
 */
import { ADMISSION_SETTINGS, admissionFromEnv } from '../lambdas/domain/admission.js';
import { DEFAULT_ADMIN_CLAIM, parseAdminClaim } from '../lambdas/domain/caller.js';
import { fargatePricesFromEnv } from '../lambdas/domain/fargate.js';
import { parseAllowance } from '../lambdas/runtime/public-fetch.js';
import { STORAGE_SETTINGS, storagePolicyFromEnv, type StorageRule } from '../lambdas/domain/storage-policy.js';

/** With Cognito, admins are the members of this user pool group. */
export const ADMIN_GROUP = 'tes-admins';
const COGNITO_ADMIN_CLAIM = `cognito:groups=${ADMIN_GROUP}`;

export type Auth = 'cognito' | 'oidc' | 'none';
export type ExecutorEgress = 'none' | 's3' | 'internet';

export interface TesConfig {
  /** `cognito` (a user pool this stack creates), `oidc` (any issuer), or `none` (loudly warned about). */
  auth: Auth;
  oidcIssuer?: string;
  oidcAudience?: string[];
  /**
   * `name=value` a token must hold to see every user's tasks, or `none`. Defaults to the Cognito
   * group `tes-admins` (which the stack creates) with cognito, `groups=tes-admins` with oidc.
   */
  adminClaim: string;
  /** Numeric uid:gid every executor runs as. */
  executorUser: string;
  /** The admission policy as the API's environment (ADMISSION_SETTINGS: one context key per variable). */
  admission: Record<string, string>;
  /** What executors may reach: nothing, S3 (through the gateway endpoint), or the internet (a NAT gateway). */
  executorEgress: ExecutorEgress;
  /** Whether `preemptible` tasks may run on Fargate Spot. */
  spotAllowed: boolean;
  /** The storage policy as the functions' environment (TES_STORAGE_RULES, TES_HTTP_INPUTS). */
  storage: Record<string, string>;
  /** The operator's storage rules, parsed: what the broker's role and the S3 endpoint admit. */
  storageRules: StorageRule[];
  /** Non-public hosts and CIDRs http(s) inputs may be fetched from (TES_HTTP_INPUT_ALLOW); empty: public addresses only. */
  httpInputAllow: string;
  logRetentionDays: number;
  /** The region's Fargate prices for the cost estimate (TES_FARGATE_PRICES), as JSON; empty: us-east-1 list prices. */
  fargatePrices: string;
  /** Days the service bucket keeps task content, reports and logs. */
  taskDataRetentionDays: number;
  /** `retain` (default) keeps the table and buckets when the stacks are deleted. */
  removalPolicy: 'retain' | 'destroy';
  guardDuty: boolean;
  /** Where alarms go (an email address), if anywhere. */
  alarmEmail?: string;
  /** The web dashboard (CloudFront and a private bucket), when `dashboard` is true. */
  dashboard?: DashboardSettings;
}

/** How the dashboard signs users in, from the `dashboard*` context keys (README, Dashboard). */
export interface DashboardSettings {
  /** auth=cognito: the hosted UI's domain prefix (`<prefix>.auth.<region>.amazoncognito.com`); default tes-<hash>-<account>. */
  cognitoDomainPrefix?: string;
  /** auth=oidc: the public client (no secret) registered at the issuer for the dashboard's URL. */
  clientId?: string;
  /** auth=oidc: endpoints the issuer's discovery document would otherwise name. */
  authorizeUrl?: string;
  tokenUrl?: string;
  logoutUrl?: string;
  /** The scopes the dashboard asks for (space-separated). */
  scopes: string;
  /** Which token the dashboard calls the API with: the access token, or the ID token where the issuer's access tokens are not for the API. */
  tokenType: 'access_token' | 'id_token';
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

/** The admission settings given as context, as the API's variables, checked by the API's own parser. */
function admissionEnvironment(context: Context): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const setting of Object.values(ADMISSION_SETTINGS)) {
    const raw = context(setting.context);
    if (raw === undefined || raw === '') continue;
    const scalar = typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean';
    environment[setting.env] = Array.isArray(raw) ? raw.map((item) => String(item)).join(',') : scalar ? String(raw) : JSON.stringify(raw);
  }
  try {
    admissionFromEnv(environment);
  } catch (error) {
    const message = (error as Error).message;
    const setting = Object.values(ADMISSION_SETTINGS).find((s) => message.startsWith(s.env));
    throw new Error(setting === undefined ? message : `context ${setting.context}${message.slice(setting.env.length)}`, { cause: error });
  }
  return environment;
}

/**
 * The context keys storageRules and httpInputs as the functions' variables, checked by the same
 * parser they use. `dataBuckets` (whole buckets for everyone) is gone: a rule says which prefix,
 * whose, and whether to write.
 */
function storageEnvironment(context: Context, egress: ExecutorEgress): { storage: Record<string, string>; storageRules: StorageRule[] } {
  if (context('dataBuckets') !== undefined) {
    throw new Error('context dataBuckets is replaced by storageRules: s3://<bucket>/{owner}/=readwrite gives each user a prefix there, s3://<bucket>/=read shares a bucket read-only');
  }
  const storage: Record<string, string> = {};
  const rules = context(STORAGE_SETTINGS.storage_rules.context);
  if (Array.isArray(rules)) storage[STORAGE_SETTINGS.storage_rules.env] = rules.map((rule) => (typeof rule === 'string' ? rule : JSON.stringify(rule))).join(',');
  else if (typeof rules === 'string' && rules !== '') storage[STORAGE_SETTINGS.storage_rules.env] = rules;
  else if (rules !== undefined) throw new Error('context storageRules must be a string or a list of strings (s3://bucket/prefix/=read or =readwrite)');
  const http = context(STORAGE_SETTINGS.http_inputs.context);
  if (typeof http === 'boolean') storage[STORAGE_SETTINGS.http_inputs.env] = http ? 'on' : 'off';
  else if (typeof http === 'string' && http !== '') storage[STORAGE_SETTINGS.http_inputs.env] = http;
  else if (http !== undefined) throw new Error('context httpInputs must be on or off');
  // Without a NAT gateway stage-in reaches nothing outside the VPC: an http(s) input would fail at run
  // time, so CreateTask refuses it with a 400 instead (httpInputs=on keeps them, e.g. for internal hosts in httpInputAllow).
  else if (egress !== 'internet') storage[STORAGE_SETTINGS.http_inputs.env] = 'off';
  try {
    // The service bucket's name is not known at synth; the functions refuse a rule naming it when they start.
    return { storage, storageRules: storagePolicyFromEnv(storage, '').rules };
  } catch (error) {
    const message = (error as Error).message;
    const setting = Object.values(STORAGE_SETTINGS).find((s) => message.startsWith(s.env));
    throw new Error(setting === undefined ? message : `context ${setting.context}${message.slice(setting.env.length)}`, { cause: error });
  }
}

/** The context key httpInputAllow, checked by the parser stage-in uses (a bad value fails synth). */
function httpInputAllow(value: unknown): string {
  if (value !== undefined && typeof value !== 'string') throw new Error('context httpInputAllow must be a comma-separated string of hosts and CIDRs');
  const text = value ?? '';
  try {
    parseAllowance(text);
  } catch (error) {
    throw new Error(`context httpInputAllow: ${(error as Error).message.replace(/^TES_HTTP_INPUT_ALLOW: /, '')}`, { cause: error });
  }
  return text;
}

/** The context key fargatePrices (an object or its JSON), checked by the parser the workflow uses. */
function fargatePrices(value: unknown): string {
  if (value === undefined || value === '') return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  try {
    fargatePricesFromEnv(text);
  } catch (error) {
    throw new Error(`context fargatePrices${(error as Error).message.replace(/^TES_FARGATE_PRICES/, '')}`, { cause: error });
  }
  return text;
}

/** The Cognito rules for a hosted UI domain prefix. */
const DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The `dashboard*` context keys, checked; undefined unless `dashboard` is true. */
function dashboardSettings(context: Context, auth: Auth): DashboardSettings | undefined {
  const enabled = context('dashboard');
  if (enabled === undefined || enabled === false || enabled === 'false') return undefined;
  if (enabled !== true && enabled !== 'true') throw new Error(`context dashboard must be true or false, not ${JSON.stringify(enabled)}`);
  const text = (key: string): string | undefined => {
    const value = context(key);
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') throw new Error(`context ${key} must be a string`);
    return value;
  };
  const url = (key: string): string | undefined => {
    const value = text(key);
    if (value !== undefined && !/^https:\/\/[^/\s]+(\/\S*)?$/.test(value)) throw new Error(`context ${key} must be an https URL, not ${value}`);
    return value;
  };
  const tokenType = text('dashboardTokenType') ?? 'access_token';
  if (tokenType !== 'access_token' && tokenType !== 'id_token') throw new Error(`context dashboardTokenType must be access_token or id_token, not ${tokenType}`);
  const settings: DashboardSettings = { scopes: text('dashboardScopes') ?? (auth === 'cognito' ? 'openid email profile' : 'openid'), tokenType };
  if (auth === 'cognito') {
    const prefix = text('dashboardDomainPrefix');
    if (prefix !== undefined && (!DOMAIN_PREFIX.test(prefix) || /aws|amazon|cognito/.test(prefix))) {
      throw new Error(`context dashboardDomainPrefix must be lower-case letters, digits and hyphens (at most 63), without aws, amazon or cognito, not ${prefix}`);
    }
    if (prefix !== undefined) settings.cognitoDomainPrefix = prefix;
  } else if (auth === 'oidc') {
    const clientId = text('dashboardClientId');
    if (clientId === undefined) throw new Error("dashboard=true with auth=oidc needs context dashboardClientId: a public client (no secret) at the issuer, whose redirect URI is the dashboard's URL");
    settings.clientId = clientId;
    for (const [key, field] of [['dashboardAuthorizeUrl', 'authorizeUrl'], ['dashboardTokenUrl', 'tokenUrl'], ['dashboardLogoutUrl', 'logoutUrl']] as const) {
      const value = url(key);
      if (value !== undefined) settings[field] = value;
    }
  }
  return settings;
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
    admission: admissionEnvironment(context),
    adminClaim: 'none',
    executorEgress: egress,
    spotAllowed: bool(context('spotAllowed'), true),
    ...storageEnvironment(context, egress),
    httpInputAllow: httpInputAllow(context('httpInputAllow')),
    fargatePrices: fargatePrices(context('fargatePrices')),
    logRetentionDays: Number(context('logRetentionDays') ?? 90),
    taskDataRetentionDays: Number(context('taskDataRetentionDays') ?? 30),
    removalPolicy: context('removalPolicy') === 'destroy' ? 'destroy' : 'retain',
    guardDuty: bool(context('guardDuty'), true),
  };
  if (auth !== 'none') {
    const claim = context('adminClaim');
    const spec = typeof claim === 'string' && claim !== '' ? claim : auth === 'cognito' ? COGNITO_ADMIN_CLAIM : DEFAULT_ADMIN_CLAIM;
    try {
      parseAdminClaim(spec);
    } catch (error) {
      throw new Error(`context adminClaim${(error as Error).message.slice('TES_ADMIN_CLAIM'.length)}`, { cause: error });
    }
    config.adminClaim = spec;
  }
  if (auth === 'oidc') {
    const issuer = context('oidcIssuer');
    const audience = list(context('oidcAudience'));
    if (typeof issuer !== 'string' || !issuer.startsWith('https://') || audience.length === 0) {
      throw new Error('auth=oidc needs context oidcIssuer (an https URL) and oidcAudience');
    }
    config.oidcIssuer = issuer;
    config.oidcAudience = audience;
  }
  const email = context('alarmEmail');
  if (typeof email === 'string' && email !== '') config.alarmEmail = email;
  const dashboard = dashboardSettings(context, auth);
  if (dashboard !== undefined) config.dashboard = dashboard;
  return config;
}
