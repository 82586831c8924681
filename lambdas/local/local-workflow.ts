/**
 * The local WorkflowPort until the local task runner exists: it accepts every start (the task stays
 * QUEUED) and reports every stop as complete, since nothing runs. It keeps what it was asked, so
 * tests can see that CreateTask started exactly one workflow per task.
 */
import type { WorkflowPort } from '../ports/workflow.js';

export class RecordingWorkflow implements WorkflowPort {
  readonly started: string[] = [];
  readonly stopped: string[] = [];

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
