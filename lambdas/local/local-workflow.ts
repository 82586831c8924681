/**
 * A WorkflowPort that runs nothing, for tests and benchmarks of the API alone: every start is
 * accepted (the task stays QUEUED) and every stop is complete at once. It keeps what it was asked,
 * so tests can see that CreateTask started exactly one workflow per task.
 */
import type { WorkflowPort } from '../ports/workflow.js';

export class RecordingWorkflow implements WorkflowPort {
  readonly started: string[] = [];
  readonly stopped: string[] = [];

  ensureReady(): Promise<void> {
    return Promise.resolve();
  }

  start(taskId: string): Promise<void> {
    this.started.push(taskId);
    return Promise.resolve();
  }

  status(taskId: string): Promise<'running' | 'absent'> {
    return Promise.resolve(this.started.includes(taskId) && !this.stopped.includes(taskId) ? 'running' : 'absent');
  }

  stop(taskId: string): Promise<'stopped'> {
    this.stopped.push(taskId);
    return Promise.resolve('stopped');
  }
}
