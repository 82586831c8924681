/**
 * Each deployed function's role allows every AWS call its code can make, and nothing more. The calls
 * are derived from the code (support/aws-calls.ts: a call graph from the handler the template names
 * in its `tes:source` metadata, collecting every AWS SDK command it can reach); the permissions from
 * the synthesized template (the policies attached to the function's role). No list of either is
 * kept by hand; only what AWS itself implies is listed here, with why.
 */
import { testApp } from '../support/cdk-app.js';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cdk/app.js';
import { REPO_ROOT, SOURCE_METADATA } from '../../cdk/constructs/functions.js';
import { AwsCallGraph, type FoundCommand } from '../support/aws-calls.js';

/** Actions a role needs for what the Lambda service does, not our code: X-Ray tracing (Tracing.ACTIVE). */
const PLATFORM_ACTIONS = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
/**
 * Actions AWS checks on top of a command: registering a task definition that names an execution
 * role passes that role (iam:PassRole), and one registered with tags (ours are) tags it.
 */
const IMPLIED: Record<string, string[]> = { 'ecs:RegisterTaskDefinition': ['iam:PassRole', 'ecs:TagResource'] };

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };
interface Fn {
  id: string;
  source: string;
  allowed: Set<string>;
}

let functions: Fn[];
let graph: AwsCallGraph;
const derived = new Map<string, FoundCommand[]>();

function actionsOf(statement: { Effect?: string; Action?: string | string[] }): string[] {
  if (statement.Effect !== 'Allow') return [];
  return typeof statement.Action === 'string' ? [statement.Action] : (statement.Action ?? []);
}

beforeAll(() => {
  const app = testApp({ context: { auth: 'cognito', storageRules: ['s3://lab-data/{owner}/=readwrite'], httpInputs: 'on' } });
  const stacks = buildApp(app);
  const resources = Template.fromStack(stacks.service).toJSON()['Resources'] as Record<string, Resource>;
  const roleOf = (fn: Resource): string => ((fn.Properties['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'] ?? [])[0];
  functions = Object.entries(resources)
    .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && (id.startsWith('TesApi') || id.startsWith('TesWorkflow')))
    .map(([id, fn]) => {
      const role = roleOf(fn);
      const allowed = new Set<string>();
      for (const policy of Object.values(resources)) {
        if (policy.Type !== 'AWS::IAM::Policy') continue;
        const roles = (policy.Properties['Roles'] as { Ref?: string }[]).map((r) => r.Ref);
        if (!roles.includes(role)) continue;
        const document = policy.Properties['PolicyDocument'] as { Statement: { Effect?: string; Action?: string | string[] }[] };
        for (const statement of document.Statement) for (const action of actionsOf(statement)) allowed.add(action);
      }
      const inline = (resources[role]?.Properties['Policies'] ?? []) as { PolicyDocument: { Statement: { Effect?: string; Action?: string | string[] }[] } }[];
      for (const policy of inline) for (const statement of policy.PolicyDocument.Statement) for (const action of actionsOf(statement)) allowed.add(action);
      const source = fn.Metadata?.[SOURCE_METADATA];
      return { id, source: typeof source === 'string' ? source : '', allowed };
    });
  graph = new AwsCallGraph(REPO_ROOT);
  for (const fn of functions) {
    const [entry, name] = fn.source.split('#') as [string, string];
    derived.set(fn.id, graph.commands(entry, name));
  }
}, 240_000);

/** What the function's role must allow: the actions of its commands, and what AWS implies from them. */
function needed(commands: FoundCommand[]): Set<string> {
  return new Set(commands.flatMap((c) => [c.action, ...(IMPLIED[c.action] ?? [])]));
}

function problems(fn: Fn, commands: FoundCommand[]): string[] {
  const found: string[] = [];
  const need = needed(commands);
  for (const command of commands) {
    if (!fn.allowed.has(command.action)) found.push(`${fn.id} (${fn.source}) can send ${command.command} (${command.action}, ${command.at}); its role does not allow it`);
  }
  for (const action of need) if (!fn.allowed.has(action) && !commands.some((c) => c.action === action)) found.push(`${fn.id} needs ${action} (implied); its role does not allow it`);
  for (const action of fn.allowed) {
    if (!need.has(action) && !PLATFORM_ACTIONS.has(action)) found.push(`${fn.id} (${fn.source}): its role allows ${action}, which its code never uses`);
  }
  return found;
}

describe("each deployed function's role", () => {
  it('names the source of every function, and finds the calls of each', () => {
    expect(functions.length).toBeGreaterThanOrEqual(13);
    for (const fn of functions) expect(fn.source, fn.id).toMatch(/^lambdas\/.+\.ts#\w+$/);
    // The derivation sees what the handlers do, through ports and object literals alike.
    const of = (prefix: string) => (derived.get(functions.find((f) => f.id.startsWith(prefix))?.id ?? '') ?? []).map((c) => c.action);
    expect(of('TesApiGetTask')).toEqual(['dynamodb:GetItem', 'logs:GetLogEvents', 's3:GetObject']);
    expect(of('TesApiCancelTask')).toContain('ecs:StopTask');
    expect(of('TesWorkflowRecordFailure')).toContain('ecs:StopTask');
    expect(of('TesWorkflowFinalize')).not.toContain('ecs:StopTask');
    expect(of('TesWorkflowPrepare')).toContain('ecs:RegisterTaskDefinition');
    expect(of('TesApiServiceInfo')).toEqual([]);
  });

  it('allows every AWS call its code can make, and nothing its code never makes', () => {
    const found = functions.flatMap((fn) => problems(fn, derived.get(fn.id) ?? []));
    expect(found).toEqual([]);
  });

  it('would catch a call the role does not allow, and a permission no call uses', () => {
    const getTask = functions.find((f) => f.id.startsWith('TesApiGetTask')) as Fn;
    const commands = derived.get(getTask.id) ?? [];
    const narrowed = { ...getTask, allowed: new Set([...getTask.allowed].filter((a) => a !== 'logs:GetLogEvents')) };
    expect(problems(narrowed, commands).join('\n')).toMatch(/can send @aws-sdk\/client-cloudwatch-logs GetLogEventsCommand \(logs:GetLogEvents, lambdas\/adapters\/cloudwatch-log-store\.ts:\d+\); its role does not allow it/);
    const widened = { ...getTask, allowed: new Set([...getTask.allowed, 'dynamodb:Scan']) };
    expect(problems(widened, commands)).toEqual([`${getTask.id} (${getTask.source}): its role allows dynamodb:Scan, which its code never uses`]);
  });
});
