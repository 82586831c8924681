import { createTask as createTaskUseCase } from '../usecases/create-task.js';
import { json, jsonBody } from './http.js';
import { cloudWiringWith, defineEndpoint } from './wiring.js';
import { s3ObjectStore } from '../adapters/s3-object-store.js';
import { stepFunctionsWorkflow } from '../adapters/step-functions-workflow.js';

export const createTask = defineEndpoint('CreateTask', ({ deps }) => async (event, context) => {
  const created = await createTaskUseCase(deps, context.caller, jsonBody(event));
  context.taskId = created.id;
  return json(200, created);
});

export const handler = createTask.handler(cloudWiringWith({ objects: s3ObjectStore, workflow: stepFunctionsWorkflow }));
