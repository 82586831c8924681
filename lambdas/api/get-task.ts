import { parseGetTaskQuery } from '../domain/list-query.js';
import { getTask as getTaskUseCase } from '../usecases/get-task.js';
import { json, pathId } from './http.js';
import { cloudWiring, defineEndpoint } from './wiring.js';

export const getTask = defineEndpoint('GetTask', ({ deps }) => async (event, context) => {
  const id = pathId(event);
  context.taskId = id;
  const query = parseGetTaskQuery(event.rawQueryString);
  return json(200, await getTaskUseCase(deps, context.caller, id, query.view, query.outputsFrom));
});

export const handler = getTask.handler(cloudWiring);
