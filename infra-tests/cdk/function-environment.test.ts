/**
 * Each deployed function's environment, as synthesized, is what its configuration reader accepts:
 * the function's dependencies are built from the template's variables (nothing is called in AWS),
 * a variable the reader needs and the template lacks fails, and so does one the template sets and no
 * reader reads. Readers are watched through the environment they are given, not listed by hand.
 */
import { testApp } from '../support/cdk-app.js';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cdk/app.js';
import { cloudDeps, configFromEnv } from '../../lambdas/api/config.js';
import { workflowFromEnv } from '../../lambdas/workflow/config.js';
import { reconcilerFromEnv } from '../../lambdas/workflow/reconcile-lambda.js';

type Fn = { id: string; handler: string; variables: Record<string, unknown> };
let functions: Fn[];

/** What the Lambda runtime itself sets, and what Powertools and Node read: no reader of ours needs them. */
const RUNTIME_VARIABLES = new Set(['AWS_REGION', 'NODE_OPTIONS', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME']);

beforeAll(() => {
  const app = testApp({
    context: { auth: 'cognito', storageRules: ['s3://lab-data/{owner}/=readwrite'], httpInputAllow: '10.0.0.0/8', httpInputs: 'on', fargatePrices: { name: 'eu-west-1 list prices' } },
  });
  const stacks = buildApp(app);
  const template = Template.fromStack(stacks.service);
  functions = Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { Handler?: string; Environment?: { Variables?: Record<string, unknown> } } }>)
    .filter(([id]) => id.startsWith('TesApi') || id.startsWith('TesWorkflow'))
    .map(([id, resource]) => ({ id, handler: resource.Properties.Handler ?? '', variables: resource.Properties.Environment?.Variables ?? {} }));
}, 120_000);

/** A value CloudFormation fills in at deploy time, as a plausible string of its kind. */
function deployed(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (/SECRET$/.test(name)) return Buffer.alloc(32, 7).toString('base64');
  if (/ARN$/.test(name)) return 'arn:aws:states:eu-west-1:123456789012:stateMachine:tes';
  if (/URL$/.test(name)) return 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/staging';
  if (name === 'TES_JWT_ISSUER') return 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc';
  return `deployed-${name.toLowerCase()}`;
}

/** Builds what the function builds from its environment, noting every variable read. */
function wire(fn: Fn): Set<string> {
  const env: Record<string, string> = { AWS_REGION: 'eu-west-1' };
  for (const [name, value] of Object.entries(fn.variables)) env[name] = deployed(name, value);
  const read = new Set<string>();
  const watched = new Proxy(env, {
    get: (target, name: string) => {
      read.add(name);
      return target[name];
    },
  });
  if (fn.id.startsWith('TesApi')) {
    cloudDeps(configFromEnv(watched));
  } else if (fn.id.startsWith('TesWorkflowReconciler')) {
    reconcilerFromEnv(watched);
  } else {
    const cloud = workflowFromEnv(watched);
    if (fn.id.startsWith('TesWorkflowBroker')) void cloud.broker;
    if (/^TesWorkflow(Prepare|Record)[0-9A-F]{8}$/.test(fn.id)) expect(cloud.deps.stagingTokens, `${fn.id} signs staging tickets`).toBeDefined();
  }
  return read;
}

describe("each deployed function's environment", () => {
  it('is every function the stacks deploy', () => {
    expect(functions.length).toBeGreaterThanOrEqual(13);
  });

  it("builds the function's dependencies (nothing it needs is missing) and holds nothing its reader does not read", () => {
    const problems: string[] = [];
    for (const fn of functions) {
      let read: Set<string>;
      try {
        read = wire(fn);
      } catch (error) {
        problems.push(`${fn.id}: ${(error as Error).message}`);
        continue;
      }
      for (const name of Object.keys(fn.variables)) {
        if (!read.has(name) && !RUNTIME_VARIABLES.has(name)) problems.push(`${fn.id}: ${name} is set but never read`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('would catch a variable no reader reads, and one a reader needs', () => {
    const api = functions.find((fn) => fn.id.startsWith('TesApiGetTask')) as Fn;
    expect(wire({ ...api, variables: { ...api.variables, TES_UNUSED_PROBE: 'x' } }).has('TES_UNUSED_PROBE')).toBe(false);
    const withoutTable = Object.fromEntries(Object.entries(api.variables).filter(([name]) => name !== 'TES_TABLE_NAME'));
    expect(() => wire({ ...api, variables: withoutTable })).toThrow('TES_TABLE_NAME is not set');
  });
});
