/**
 * The reconciler's Lambda handler, on its schedule: ends or resumes tasks whose workflow vanished
 * (reconcile.ts). A module of its own, as the only workflow function that talks to Step Functions:
 * no other function's bundle carries that client.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { stepFunctionsWorkflow } from '../adapters/step-functions-workflow.js';
import type { WorkflowPort } from '../ports/workflow.js';
import { awsFromEnv, workflowFromEnv } from './config.js';
import type { WorkflowDeps } from './deps.js';
import { reconcile } from './reconcile.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The reconciler's dependencies from its environment: the workflow's, and the state machine (TES_STATE_MACHINE_ARN). */
export function reconcilerFromEnv(env: Env): { deps: WorkflowDeps; workflow: WorkflowPort } {
  const stateMachineArn = env['TES_STATE_MACHINE_ARN'];
  if (stateMachineArn === undefined || stateMachineArn === '') throw new Error('TES_STATE_MACHINE_ARN is not set');
  return { deps: workflowFromEnv(env).deps, workflow: stepFunctionsWorkflow(awsFromEnv(env), stateMachineArn) };
}

const logger = new Logger({ serviceName: 'tes-workflow' });
let wired: ReturnType<typeof reconcilerFromEnv> | undefined;

export async function reconcileHandler(): Promise<void> {
  const { deps, workflow } = (wired ??= reconcilerFromEnv(process.env));
  const outcome = await reconcile({ store: deps.store, workflow, clock: deps.clock }, { graceSeconds: 300 });
  logger.info('reconciled', { checked: outcome.checked, resumed: outcome.resumed, ended: outcome.ended, canceled: outcome.canceled });
}
