import { describe, expect, it } from 'vitest';
import { loadDefinition, SUBSTITUTIONS } from '../../statemachine/definition.js';
import { UNBOUNDED_TASK_SECONDS, withAwsTaskTimeouts } from './local-step-functions.js';

describe('the local state machine', () => {
  it("gives every Task state AWS's unlimited wait, not the interpreter's 60 s, keeping explicit timeouts", () => {
    const definition = loadDefinition(SUBSTITUTIONS) as unknown as { States: Record<string, { Type: string; TimeoutSeconds?: number }> };
    const local = withAwsTaskTimeouts(definition);
    const tasks = Object.entries(local.States).filter(([name, state]) => state.Type === 'Task' && name !== 'RunExecutor');
    expect(tasks.map(([name]) => name)).toEqual(expect.arrayContaining(['Prepare', 'Record', 'Finalize', 'RecordFailure']));
    for (const [name, state] of tasks) expect(state.TimeoutSeconds, name).toBe(definition.States[name]?.TimeoutSeconds ?? UNBOUNDED_TASK_SECONDS);
    expect(definition.States['Prepare']?.TimeoutSeconds, 'the deployed definition is left as it is').toBeUndefined();
    // Longer than any executor runs here, and still a timer Node.js keeps (a larger one fires at once).
    expect(UNBOUNDED_TASK_SECONDS).toBeGreaterThan(20 * 24 * 3600);
    expect(UNBOUNDED_TASK_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('reads TimeoutSecondsPath from the state input, as AWS does, by carrying it through Parameters', () => {
    const definition = loadDefinition(SUBSTITUTIONS) as unknown as { States: Record<string, { TimeoutSecondsPath?: string; Parameters?: Record<string, unknown> }> };
    expect(definition.States['RunExecutor']?.TimeoutSecondsPath).toBe('$.run.timeoutSeconds');
    const local = withAwsTaskTimeouts(definition).States['RunExecutor'];
    expect(local?.TimeoutSecondsPath).toBe('$.tesTimeoutSeconds');
    expect(local?.Parameters?.['tesTimeoutSeconds.$']).toBe('$.run.timeoutSeconds');
  });

  it('reaches states nested in Parallel and Map', () => {
    const nested = withAwsTaskTimeouts<{ States: Record<string, { Type: string; TimeoutSeconds?: number; Branches?: { States: Record<string, { Type: string; TimeoutSeconds?: number }> }[]; ItemProcessor?: { States: Record<string, { Type: string; TimeoutSeconds?: number }> } }> }>({
      States: {
        P: { Type: 'Parallel', Branches: [{ States: { A: { Type: 'Task' } } }] },
        M: { Type: 'Map', ItemProcessor: { States: { B: { Type: 'Task', TimeoutSeconds: 5 } } } },
      },
    });
    expect(nested.States['P']?.Branches?.[0]?.States['A']?.TimeoutSeconds).toBe(UNBOUNDED_TASK_SECONDS);
    expect(nested.States['M']?.ItemProcessor?.States['B']?.TimeoutSeconds).toBe(5);
  });
});
