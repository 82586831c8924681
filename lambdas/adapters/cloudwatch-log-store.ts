/**
 * LogStore on CloudWatch Logs: executors log through the awslogs driver to streams named
 * `executor/executor/<ECS task id>`; the ECS task of each run is noted in the attempt's log metadata
 * (`ecs_task_<index>`). awslogs merges stdout and stderr into one stream, so in AWS the executor
 * log's `stdout` tail carries both and `stderr` is empty (set `stderr` to a path to keep it apart).
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ecsTaskMetadataKey } from '../domain/task-record.js';
import type { LogStore } from '../ports/log-store.js';
import type { TaskStore } from '../ports/task-store.js';

export class CloudWatchLogStore implements LogStore {
  constructor(
    private readonly logs: CloudWatchLogsClient,
    private readonly logGroup: string,
    private readonly store: TaskStore,
  ) {}

  location(_taskId: string, _executorIndex: number, stream: 'stdout' | 'stderr', ecsTaskArn?: string): string | undefined {
    if (stream === 'stderr' || ecsTaskArn === undefined) return undefined;
    return `cloudwatch-logs:${this.logGroup}:executor/executor/${ecsTaskArn.split('/').at(-1) as string}`;
  }

  async tail(taskId: string, executorIndex: number, stream: 'stdout' | 'stderr', bytes: number, ecsTaskArn?: string): Promise<string | undefined> {
    if (stream === 'stderr') return undefined;
    const arn = ecsTaskArn ?? (await this.store.get(taskId))?.logs.at(-1)?.metadata?.[ecsTaskMetadataKey(executorIndex)];
    if (arn === undefined) return undefined;
    const ecsTaskId = arn.split('/').at(-1) as string;
    try {
      const out = await this.logs.send(
        new GetLogEventsCommand({ logGroupName: this.logGroup, logStreamName: `executor/executor/${ecsTaskId}`, startFromHead: false, limit: 500 }),
      );
      const text = (out.events ?? []).map((e) => `${e.message ?? ''}\n`).join('');
      return Buffer.from(text).subarray(-bytes).toString('utf8');
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }
}

/** The log store GetTask's module gives the cloud wiring (config.ts CloudParts). */
export function cloudWatchLogStore(region: string, logGroup: string, store: TaskStore): LogStore {
  return new CloudWatchLogStore(new CloudWatchLogsClient({ region }), logGroup, store);
}
