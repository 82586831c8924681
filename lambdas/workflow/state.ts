/** The workflow's JSON state between its steps (kept small: Step Functions allows 256 KiB). */
import type { RunPlan } from '../domain/task-definition.js';

export interface EcsTaskOutput {
  TaskArn?: string;
  StopCode?: string;
  StoppedReason?: string;
  StartedAt?: string | number;
  StoppedAt?: string | number;
  /** When the task's images were pulled (ECS; locally only when an image was not there yet). */
  PullStartedAt?: string | number;
  PullStoppedAt?: string | number;
  Containers?: { Name?: string; ExitCode?: number; Reason?: string }[];
}

export interface StepFailure {
  Error: string;
  Cause?: string;
}

export interface Outcome {
  /** An executor exited non-zero (whether or not ignore_error let the task go on). */
  executorFailed?: boolean;
  /** Why the task must end SYSTEM_ERROR, if it must. */
  systemError?: string;
  /** Seconds the executors' Fargate tasks ran, in all. */
  runSeconds?: number;
  /** What the runs cost, each priced as it ran (Spot or not, interrupted or not) with Fargate's one-minute minimum. */
  usage?: { vcpuSeconds: number; gbSeconds: number; usd: number };
  /** Fargate Spot interruptions retried so far. */
  spotRetries?: number;
}

export interface WorkflowState {
  taskId: string;
  index?: number;
  runs?: RunPlan[];
  /** The next run; absent when nothing (more) runs. */
  run?: RunPlan;
  outcome?: Outcome;
  ecs?: EcsTaskOutput;
  ecsFailure?: StepFailure;
  failure?: StepFailure;
}
