/**
 * CancelTask, `POST /tasks/{id}:cancel`. API Gateway cannot declare `{id}:cancel`, so the route is
 * `POST /tasks/{id}` and the `:cancel` suffix (also URL-encoded as `%3Acancel`) is split off here;
 * any other POST to a task is a 404.
 */
import { NotFoundError } from '../domain/errors.js';
import { cancelTask as cancelTaskUseCase } from '../usecases/cancel-task.js';
import { json, pathId } from './http.js';
import { ecsTaskStopper } from '../adapters/ecs-tasks.js';
import { cloudWiringWith, defineEndpoint } from './wiring.js';
import { stepFunctionsWorkflow } from '../adapters/step-functions-workflow.js';

const CANCEL_SUFFIX = ':cancel';

export const cancelTask = defineEndpoint('CancelTask', ({ deps }) => async (event, context) => {
  const target = pathId(event);
  if (!target.toLowerCase().endsWith(CANCEL_SUFFIX)) {
    throw new NotFoundError(`no operation at POST ${event.rawPath}; did you mean POST .../tasks/{id}:cancel?`);
  }
  const id = target.slice(0, -CANCEL_SUFFIX.length);
  context.taskId = id;
  return json(200, await cancelTaskUseCase(deps, context.caller, id));
});

// A canceled task's Fargate tasks are stopped too, not only its workflow.
export const handler = cancelTask.handler(cloudWiringWith({ taskStopper: ecsTaskStopper, workflow: stepFunctionsWorkflow }));
