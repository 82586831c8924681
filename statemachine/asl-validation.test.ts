/**
 * The state machine definition, checked as AWS would check it before deploying: valid Amazon States
 * Language (asl-validator), and the ECS RunTask state's parameters, filled with a run plan as Prepare
 * makes them, matching RunTask's input as the ECS service model defines it (botocore's model, from
 * the project's Python environment: derived, not a hand list).
 */
import { execFileSync } from 'node:child_process';
import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { fargateSize } from '../lambdas/domain/fargate.js';
import { executorTaskDefinition, runPlan } from '../lambdas/domain/task-definition.js';
import { pythonWithClients } from '../infra-tests/support/python-clients.js';
import { loadDefinition } from './definition.js';

const validate = validator;

const substitutions = {
  PrepareFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:prepare',
  RecordFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:record',
  FinalizeFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:finalize',
  RecordFailureFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:record-failure',
};

type Shape = { type: string; members?: Record<string, Shape>; member?: Shape };

/** RunTask's input shape from botocore's ECS service model, nested structures and lists included. */
function runTaskShape(): Shape {
  const script = `
import botocore.session, json
def walk(shape, depth=0):
    out = {"type": shape.type_name}
    if depth > 6: return out
    if shape.type_name == "structure": out["members"] = {k: walk(v, depth + 1) for k, v in shape.members.items()}
    if shape.type_name == "list": out["member"] = walk(shape.member, depth + 1)
    return out
print(json.dumps(walk(botocore.session.get_session().get_service_model("ecs").operation_model("RunTask").input_shape)))`;
  return JSON.parse(execFileSync(pythonWithClients(), ['-c', script], { encoding: 'utf8' })) as Shape;
}

/** Where `value` does not fit `shape` (member names compared as Step Functions writes them, in PascalCase). */
function misfits(value: unknown, shape: Shape, path: string): string[] {
  if (shape.type === 'structure') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: not an object`];
    return Object.entries(value).flatMap(([key, child]) => {
      const member = Object.entries(shape.members ?? {}).find(([name]) => name.toLowerCase() === key.toLowerCase());
      return member === undefined ? [`${path}.${key}: not a member of the model`] : misfits(child, member[1], `${path}.${key}`);
    });
  }
  if (shape.type === 'list') return Array.isArray(value) ? value.flatMap((item, i) => misfits(item, shape.member as Shape, `${path}[${i}]`)) : [`${path}: not a list`];
  if (shape.type === 'integer' || shape.type === 'long') return Number.isInteger(value) ? [] : [`${path}: not an integer`];
  if (shape.type === 'boolean') return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
  return typeof value === 'string' ? [] : [`${path}: not a string`];
}

/** A JSONPath of the simple form the definition uses ($.a.b) read from `input`. */
function read(input: unknown, path: string): unknown {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], input);
}

describe('the state machine definition', () => {
  it('is valid Amazon States Language', () => {
    const result = validate(loadDefinition(substitutions));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('is refused by the same validator when broken (a Next to no state)', () => {
    const broken = loadDefinition(substitutions) as unknown as { States: Record<string, { Next?: string }> };
    (broken.States['Record'] as { Next?: string }).Next = 'NoSuchState';
    expect(validate(broken).isValid).toBe(false);
  });

  it("hands RunTask only parameters of RunTask's input, in its shapes, for a run plan as Prepare makes it", () => {
    const platform = { runtimeImage: 'r:1', executorUser: '1000:1000', logGroup: 'g', region: 'eu-west-1', cluster: 'arn:c', subnets: ['s1'], securityGroups: ['sg1'] };
    const executor = { image: 'alpine:3', command: ['sh', '-c', 'echo hi > /out/x'], env: { A: 'b' }, workdir: '/out' };
    const size = fargateSize({ cpu_cores: 2, ram_gb: 4, disk_gb: 50, preemptible: true }, { spotAllowed: true });
    executorTaskDefinition(executor, ['/out'], size, platform);
    const run = runPlan({ taskId: 't', executorIndex: 0, executor, taskDefinitionArn: 'arn:td', size, platform, stagingEnvironment: { TES_EXECUTOR_INDEX: '0' }, ticket: 'ticket', timeoutSeconds: 600 });
    const definition = loadDefinition(substitutions) as unknown as { States: Record<string, { Resource?: string; Parameters?: Record<string, unknown> }> };
    const state = Object.values(definition.States).find((s) => s.Resource === 'arn:aws:states:::ecs:runTask.sync');
    const parameters = Object.fromEntries(
      Object.entries(state?.Parameters ?? {}).map(([key, value]) => (key.endsWith('.$') ? [key.slice(0, -2), read({ run }, value as string)] : [key, value])),
    );
    expect(Object.values(parameters)).not.toContain(undefined);
    expect(misfits(parameters, runTaskShape(), 'RunTask')).toEqual([]);
    // The check bites: a misspelled member is caught.
    expect(misfits({ ...parameters, Overides: {} }, runTaskShape(), 'RunTask')).toEqual(['RunTask.Overides: not a member of the model']);
  }, 600_000);
});
