/** Where executors' full stdout and stderr streams are kept (CloudWatch Logs in AWS, files locally). */
export interface LogStore {
  /**
   * The last `bytes` of an executor's stream, or undefined when there is none (yet). `ecsTaskArn`:
   * the run's ECS task when the caller knows it (Record does), else the one noted in the task.
   */
  tail(taskId: string, executorIndex: number, stream: 'stdout' | 'stderr', bytes: number, ecsTaskArn?: string): Promise<string | undefined>;
  /** Where the whole stream is kept (noted in the task's log metadata), given the run's ECS task ARN. */
  location(taskId: string, executorIndex: number, stream: 'stdout' | 'stderr', ecsTaskArn?: string): string | undefined;
}

/** How much of each stream the task's executor logs carry (the full streams stay in the log store). */
export const LOG_TAIL_BYTES = 10 * 1024;
