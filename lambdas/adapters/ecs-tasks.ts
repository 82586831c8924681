/**
 * Stopping the Fargate tasks of a task's runs (CancelTask, RecordFailure). In a module of its own so
 * that only the functions that stop tasks carry the ECS client.
 */
import { ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';

/** Stops Fargate tasks by ARN; one already stopped or gone is left be. */
export async function stopEcsTasks(client: ECSClient, cluster: string, arns: readonly string[], reason: string): Promise<void> {
  await Promise.all(
    arns.map((task) =>
      client.send(new StopTaskCommand({ cluster, task, reason: reason.slice(0, 255) })).catch((error: unknown) => {
        if ((error as { name?: string }).name !== 'InvalidParameterException') throw error;
      }),
    ),
  );
}

/** A stopper for the tasks of one cluster, as StepFunctionsWorkflow takes it. */
export function ecsTaskStopper(region: string, cluster: string): (arns: readonly string[], reason: string) => Promise<void> {
  const client = new ECSClient({ region });
  return (arns, reason) => stopEcsTasks(client, cluster, arns, reason);
}
