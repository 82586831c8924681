import { parseListQuery } from '../domain/list-query.js';
import { listTasks as listTasksUseCase } from '../usecases/list-tasks.js';
import { json, logger } from './http.js';
import { cloudWiring, defineEndpoint } from './wiring.js';

export const listTasks = defineEndpoint('ListTasks', ({ deps }) => async (event, context) => {
  const outcome = await listTasksUseCase(deps, context.caller, parseListQuery(event.rawQueryString));
  logger.debug('list page', { tasks: outcome.response.tasks.length, readUnits: outcome.readUnits });
  return json(200, outcome.response);
});

export const handler = listTasks.handler(cloudWiring);
