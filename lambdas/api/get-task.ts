import { parseViewQuery } from '../domain/list-query.js';
import { getTask as getTaskUseCase } from '../usecases/get-task.js';
import { json, pathId } from './http.js';
import { cloudWiring, defineEndpoint } from './wiring.js';

export const getTask = defineEndpoint('GetTask', ({ deps }) => async (event, context) => {
  const id = pathId(event);
  context.taskId = id;
  return json(200, await getTaskUseCase(deps, context.caller, id, parseViewQuery(event.rawQueryString)));
});

export const handler = getTask.handler(cloudWiring);
