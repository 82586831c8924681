/**
 * The local WorkflowPort: runs the very definition CDK deploys (statemachine/) in
 * aws-local-stepfunctions, its Lambda steps bound to the workflow handlers in-process and its
 * `ecs:runTask.sync` step to the local ECS runner. Stopping an execution aborts it and kills the
 * task's sandbox; the stop resolves once the executor process is gone.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { loadDefinition, SUBSTITUTIONS } from '../../statemachine/definition.js';
import { logger } from '../api/http.js';
import { ServiceUnavailableError } from '../domain/errors.js';
import type { WorkflowPort } from '../ports/workflow.js';
import type { WorkflowDeps } from '../workflow/deps.js';
import { finalize, recordFailure } from '../workflow/finalize.js';
import { prepare } from '../workflow/prepare.js';
import { record } from '../workflow/record.js';
import type { WorkflowState } from '../workflow/state.js';
import type { LocalEcsRunner, RunTaskParameters } from './ecs-runner.js';

type Json = Parameters<StateMachine['run']>[0];

/**
 * aws-local-stepfunctions gives a Task state without TimeoutSeconds 60 s; AWS gives it no limit
 * (the execution's year). So that an executor may run, or wait for a free slot, as long as it would
 * in AWS, such states get the longest timer Node.js keeps (setTimeout holds up to 2^31-1 ms).
 */
export const UNBOUNDED_TASK_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

type StateDefinition = {
  Type?: string;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Parameters?: Record<string, unknown>;
  Branches?: Machine[];
  Iterator?: Machine;
  ItemProcessor?: Machine;
};
type Machine = { States: Record<string, StateDefinition> };

/** Where the local definition carries a TimeoutSecondsPath's value through Parameters (see below). */
export const LOCAL_TIMEOUT_FIELD = 'tesTimeoutSeconds';

/**
 * Also: AWS reads TimeoutSecondsPath from the state's input; the interpreter reads it from what
 * Parameters made of it. So the value is carried through Parameters here, under a name the local
 * handlers ignore.
 */
export function withAwsTaskTimeouts<T extends Machine>(definition: T): T {
  const copy = structuredClone(definition);
  const visit = (machine: Machine): void => {
    for (const state of Object.values(machine.States)) {
      if (state.Type === 'Task' && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = UNBOUNDED_TASK_SECONDS;
      if (state.Type === 'Task' && state.TimeoutSecondsPath !== undefined && state.Parameters !== undefined) {
        state.Parameters = { ...state.Parameters, [`${LOCAL_TIMEOUT_FIELD}.$`]: state.TimeoutSecondsPath };
        state.TimeoutSecondsPath = `$.${LOCAL_TIMEOUT_FIELD}`;
      }
      for (const inner of [...(state.Branches ?? []), state.Iterator, state.ItemProcessor]) if (inner !== undefined) visit(inner);
    }
  };
  visit(copy);
  return copy;
}

export class LocalStepFunctions implements WorkflowPort {
  // The definition is checked against the ASL schema by statemachine/asl-validation.test.ts and by
  // Step Functions at deploy; checking it again here cost every start-up about 200 ms.
  private readonly machine = new StateMachine(withAwsTaskTimeouts(loadDefinition(SUBSTITUTIONS) as unknown as Machine) as never, { validationOptions: { noValidate: true } });
  private readonly executions = new Map<string, { abort: () => void; done: Promise<unknown> }>();
  /**
   * Tasks started while `maxLive` executions run, in arrival order. Each live execution holds an
   * interpreter; a task waiting here is only its id (it stays QUEUED), so 90,000 queued tasks cost
   * what 90,000 strings do. In AWS every execution starts at once: Step Functions holds them.
   */
  private readonly waiting = new Set<string>();
  /** Transitions the last executions went through, for the benchmark's billing figure. */
  readonly transitions = new Map<string, number>();

  constructor(
    private readonly deps: WorkflowDeps,
    private readonly runner: LocalEcsRunner,
    private readonly sandboxProblem: string | undefined,
    private readonly maxLive = Infinity,
  ) {}

  ensureReady(): Promise<void> {
    if (this.sandboxProblem !== undefined) {
      return Promise.reject(new ServiceUnavailableError(`tasks cannot run on this machine: ${this.sandboxProblem}`));
    }
    return Promise.resolve();
  }

  start(taskId: string): Promise<void> {
    if (this.executions.has(taskId) || this.waiting.has(taskId)) return Promise.resolve();
    if (this.executions.size >= this.maxLive) this.waiting.add(taskId);
    else this.launch(taskId);
    return Promise.resolve();
  }

  /** Starts waiting tasks while there is room for their executions. */
  private launchWaiting(): void {
    for (const taskId of this.waiting) {
      if (this.executions.size >= this.maxLive) return;
      this.waiting.delete(taskId);
      this.launch(taskId);
    }
  }

  private launch(taskId: string): void {
    const step = <T>(fn: (input: WorkflowState) => Promise<T>) => (input: Json) => fn(input as unknown as WorkflowState) as Promise<Json>;
    const execution = this.machine.run({ taskId }, {
      overrides: {
        taskResourceLocalHandlers: {
          Prepare: step((input) => prepare(this.deps, input)),
          RunExecutor: (input: Json) => this.runner.runTask(input as unknown as RunTaskParameters) as unknown as Promise<Json>,
          Record: step((input) => record(this.deps, input)),
          // A task ends once its executors' streams are kept (ecs-runner.ts logsKept).
          Finalize: step(async (input) => {
            await this.runner.logsKept(input.taskId);
            return finalize(this.deps, input);
          }),
          RecordFailure: step(async (input) => {
            await this.runner.logsKept(input.taskId);
            return recordFailure(this.deps, input);
          }),
        },
        retryIntervalOverrides: { Prepare: 200, RunExecutor: 500, Record: 200, Finalize: 200, RecordFailure: 200 },
      },
      noThrowOnAbort: true,
    });
    const done = (async () => {
      let transitions = 0;
      const counting = (async () => {
        for await (const event of execution.eventLogs) if (event.type === 'StateEntered') transitions += 1;
      })();
      try {
        await execution.result;
      } catch (error) {
        // RecordFailure already ended the task; the execution's own failure is only logged.
        logger.debug('task workflow ended in failure', { taskId, error: (error as Error).message });
      } finally {
        await counting.catch(() => undefined);
        this.transitions.set(taskId, transitions);
        if (this.transitions.size > 1000) this.transitions.delete(this.transitions.keys().next().value as string);
        this.executions.delete(taskId);
        this.launchWaiting();
      }
    })();
    this.executions.set(taskId, { abort: () => execution.abort(), done });
  }

  status(taskId: string): Promise<'running' | 'absent'> {
    return Promise.resolve(this.executions.has(taskId) || this.waiting.has(taskId) ? 'running' : 'absent');
  }

  async stop(taskId: string): Promise<'stopped'> {
    // A task that never started stops by leaving the line.
    if (this.waiting.delete(taskId)) return 'stopped';
    const execution = this.executions.get(taskId);
    execution?.abort();
    await this.runner.stop(taskId);
    return 'stopped';
  }

  /**
   * Shutdown: stops every execution and kills its sandbox. The tasks keep their last state; on the
   * next start the reconciler ends or resumes them.
   */
  async shutdown(): Promise<void> {
    this.waiting.clear();
    const running = [...this.executions.entries()];
    for (const [, execution] of running) execution.abort();
    await Promise.all(running.map(([taskId]) => this.runner.stop(taskId)));
    await Promise.all(running.map(([, execution]) => execution.done));
  }
}
