import { createTask as createTaskUseCase } from '../usecases/create-task.js';
import { json, jsonBody } from './http.js';
import { cloudWiring, defineEndpoint } from './wiring.js';

export const createTask = defineEndpoint('CreateTask', ({ deps }) => async (event, context) => {
  const created = await createTaskUseCase(deps, context.caller, jsonBody(event));
  context.taskId = created.id;
  return json(200, created);
});

export const handler = createTask.handler(cloudWiring);
