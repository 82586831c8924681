/** Starts and stops a task's workflow (Step Functions in the cloud, the local runner on one machine). */
export interface WorkflowPort {
  /** Throws (a 503) when tasks cannot run here at all, so CreateTask refuses them up front. */
  ensureReady?(): Promise<void>;
  /** Starts the task's workflow; starting the same task twice runs it once. */
  start(taskId: string): Promise<void>;
  /**
   * Stops the task's workflow and whatever it runs. `stopped` means nothing of the task is left
   * running; `stopping` means teardown continues and the task becomes CANCELED when it is seen.
   * `running` names the ECS tasks the task's runs started, when known, so they are stopped too.
   */
  stop(taskId: string, reason: string, running?: { ecsTaskArns: string[] }): Promise<'stopped' | 'stopping'>;
  /** Whether the task's workflow is running, has ended, or does not exist (for the reconciler). */
  status(taskId: string): Promise<'running' | 'ended' | 'absent'>;
}
