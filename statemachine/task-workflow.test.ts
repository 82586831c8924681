/**
 * Every path of the task workflow, run by aws-local-stepfunctions on the very definition CDK deploys,
 * with its Task states bound to recording stand-ins.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { withAwsTaskTimeouts } from '../lambdas/local/local-step-functions.js';
import { describe, expect, it } from 'vitest';
import { loadDefinition, SUBSTITUTIONS } from './definition.js';

type Json = Record<string, unknown>;
type Handler = (input: Json) => Promise<Json> | Json;

function failing(name: string, message = 'boom'): () => never {
  return () => {
    const error = new Error(message);
    error.name = name;
    throw error;
  };
}

/** Runs the workflow with the given handlers; returns what each state was called with, in order. */
async function run(handlers: Partial<Record<'Prepare' | 'RunExecutor' | 'Record' | 'Finalize' | 'RecordFailure', Handler>>) {
  const calls: [string, Json][] = [];
  const record = (name: string, handler: Handler | undefined): Handler => (input) => {
    calls.push([name, input]);
    if (handler === undefined) throw new Error(`unexpected state ${name}`);
    return handler(input);
  };
  const machine = new StateMachine(withAwsTaskTimeouts<never>(loadDefinition(SUBSTITUTIONS) as never), { validationOptions: { checkArn: false } });
  const execution = machine.run(
    { taskId: 't1' },
    {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(
          (['Prepare', 'RunExecutor', 'Record', 'Finalize', 'RecordFailure'] as const).map((name) => [name, record(name, handlers[name])]),
        ) as never,
        retryIntervalOverrides: { Prepare: 0, RunExecutor: 0, Record: 0, Finalize: 0, RecordFailure: 0 },
      },
    },
  );
  let error: Error | undefined;
  const result = await execution.result.catch((e: Error) => {
    error = e;
    return undefined;
  });
  return { calls, names: calls.map(([name]) => name), result, error };
}

const plan = (i: number, timeoutSeconds = 3600): Json => ({
  taskDefinition: `td-${i}`,
  cluster: 'c',
  group: `g${i}`,
  capacityProviderStrategy: [],
  timeoutSeconds,
  networkConfiguration: {},
  overrides: {},
});
/** Prepare for n executors; Record advances, stopping after `stopAfter` runs. */
function executors(n: number, stopAfter = n): Partial<Record<string, Handler>> {
  return {
    Prepare: () => ({ taskId: 't1', index: 0, runs: Array.from({ length: n }, (_, i) => plan(i)), run: plan(0) }),
    RunExecutor: () => ({ Containers: [{ Name: 'executor', ExitCode: 0 }] }),
    Record: (input) => {
      const next = (input['index'] as number) + 1;
      const more = next < n && next < stopAfter;
      return { taskId: 't1', index: next, runs: input['runs'] as Json[], ...(more ? { run: plan(next) } : {}) };
    },
    Finalize: () => ({ state: 'COMPLETE' }),
  };
}

describe('the task workflow', () => {
  it('runs one executor: Prepare, RunExecutor, Record, Finalize', async () => {
    const { names, error } = await run(executors(1));
    expect(error).toBeUndefined();
    expect(names).toEqual(['Prepare', 'RunExecutor', 'Record', 'Finalize']);
  });

  it('passes the run plan to ECS RunTask', async () => {
    const { calls } = await run(executors(1));
    expect(calls[1]?.[1]).toEqual({
      Cluster: 'c',
      TaskDefinition: 'td-0',
      Group: 'g0',
      CapacityProviderStrategy: [],
      NetworkConfiguration: {},
      Overrides: {},
      PlatformVersion: 'LATEST',
      PropagateTags: 'TASK_DEFINITION',
      // Only in the local definition, which carries TimeoutSecondsPath through Parameters.
      tesTimeoutSeconds: 3600,
    });
  });

  it('hands Record the stopped ECS task', async () => {
    const { calls } = await run(executors(1));
    expect(calls[2]?.[1]).toMatchObject({ index: 0, ecs: { Containers: [{ Name: 'executor', ExitCode: 0 }] } });
  });

  it('runs every executor in order while Record says go on', async () => {
    const { names } = await run(executors(3));
    expect(names).toEqual(['Prepare', 'RunExecutor', 'Record', 'RunExecutor', 'Record', 'RunExecutor', 'Record', 'Finalize']);
  });

  it('stops after the executor Record says failed (no ignore_error)', async () => {
    const { names } = await run(executors(3, 1));
    expect(names).toEqual(['Prepare', 'RunExecutor', 'Record', 'Finalize']);
  });

  it('goes straight to Finalize when Prepare finds nothing to run (canceled first)', async () => {
    const { names, error } = await run({ Prepare: () => ({ taskId: 't1' }), Finalize: () => ({}) });
    expect(error).toBeUndefined();
    expect(names).toEqual(['Prepare', 'Finalize']);
  });

  it('records a failed ECS task (States.TaskFailed) instead of failing the workflow', async () => {
    const handlers = executors(1);
    handlers['RunExecutor'] = failing('States.TaskFailed', '{"StopCode":"TaskFailedToStart"}');
    const { names, calls } = await run(handlers);
    expect(names).toEqual(['Prepare', 'RunExecutor', 'Record', 'Finalize']);
    expect(calls[2]?.[1]).toMatchObject({ ecsFailure: { Error: 'States.TaskFailed', Cause: '{"StopCode":"TaskFailedToStart"}' } });
  });

  it("stops waiting for an executor once its run's timeout (what is left of max_runtime_seconds) passes: RecordFailure, not Record", async () => {
    const handlers = executors(1);
    handlers['Prepare'] = () => ({ taskId: 't1', index: 0, runs: [plan(0, 1)], run: plan(0, 1) });
    handlers['RunExecutor'] = () => new Promise(() => undefined);
    handlers['RecordFailure'] = () => ({ state: 'SYSTEM_ERROR' });
    const started = Date.now();
    const { names, calls, error } = await run(handlers);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(names).toEqual(['Prepare', 'RunExecutor', 'RecordFailure']);
    expect(calls[2]?.[1]).toMatchObject({ index: 0, failure: { Error: 'States.Timeout' } });
    expect(error?.message ?? '').toMatch(/TES.SystemError|failed/i);
  });

  it('retries ECS throttling, then carries on', async () => {
    const handlers = executors(1);
    let attempts = 0;
    handlers['RunExecutor'] = () => {
      attempts += 1;
      if (attempts < 3) failing('ECS.AmazonECSException', 'Rate exceeded')();
      return { Containers: [] };
    };
    const { names } = await run(handlers);
    expect(attempts).toBe(3);
    expect(names.filter((n) => n === 'RunExecutor')).toHaveLength(3);
    expect(names.at(-1)).toBe('Finalize');
  });

  it('retries a throttled Prepare (task definition registration), then carries on', async () => {
    const handlers = executors(1);
    const prepare = handlers['Prepare'] as Handler;
    let attempts = 0;
    handlers['Prepare'] = (input) => {
      attempts += 1;
      if (attempts < 2) failing('TES.Throttled')();
      return prepare(input);
    };
    const { names } = await run(handlers);
    expect(names).toEqual(['Prepare', 'Prepare', 'RunExecutor', 'Record', 'Finalize']);
  });

  it('runs Record again when it could not read a stage report (TES.Transient), with backoff', async () => {
    const handlers = executors(1);
    const record = handlers['Record'] as Handler;
    let attempts = 0;
    handlers['Record'] = (input) => {
      attempts += 1;
      if (attempts < 3) failing('TES.Transient', 'SlowDown')();
      return record(input);
    };
    const { names } = await run(handlers);
    expect(names).toEqual(['Prepare', 'RunExecutor', 'Record', 'Record', 'Record', 'Finalize']);
  });

  it('hands any other RunExecutor error to Record too (States.TaskFailed matches every task error)', async () => {
    const handlers = executors(1);
    handlers['RunExecutor'] = failing('ECS.AccessDeniedException', 'not allowed');
    const { names, calls } = await run(handlers);
    expect(names).toEqual(['Prepare', 'RunExecutor', 'Record', 'Finalize']);
    expect(calls[2]?.[1]).toMatchObject({ ecsFailure: { Error: 'ECS.AccessDeniedException', Cause: 'not allowed' } });
  });

  it.each(['Prepare', 'Record', 'Finalize'])('ends SYSTEM_ERROR through RecordFailure when %s fails', async (state) => {
    const handlers = executors(1);
    handlers[state] = failing('Error', `${state} broke`);
    handlers['RecordFailure'] = () => ({});
    const { names, calls, error } = await run(handlers);
    expect(names.at(-1)).toBe('RecordFailure');
    expect(calls.at(-1)?.[1]).toMatchObject({ failure: { Error: 'Error', Cause: expect.stringContaining(`${state} broke`) } });
    expect(error?.message ?? '').toMatch(/TES.SystemError|failed/i);
  });

  it('uses the same ARN placeholders CDK substitutes', () => {
    const definition = loadDefinition({
      PrepareFunctionArn: 'arn:p',
      RecordFunctionArn: 'arn:r',
      FinalizeFunctionArn: 'arn:f',
      RecordFailureFunctionArn: 'arn:x',
    });
    expect(Object.values(definition.States).map((s) => s['Resource'])).toEqual(
      expect.arrayContaining(['arn:p', 'arn:r', 'arn:f', 'arn:x', 'arn:aws:states:::ecs:runTask.sync']),
    );
    expect(() => loadDefinition({} as never)).toThrow(/no substitution/);
  });
});
