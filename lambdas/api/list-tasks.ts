import { parseListQuery } from '../domain/list-query.js';
import { listTasks as listTasksUseCase } from '../usecases/list-tasks.js';
import { json, logger } from './http.js';
import { cloudWiringWith, defineEndpoint } from './wiring.js';
import { s3ObjectStore } from '../adapters/s3-object-store.js';

export const listTasks = defineEndpoint('ListTasks', ({ deps }) => async (event, context) => {
  const outcome = await listTasksUseCase(deps, context.caller, parseListQuery(event.rawQueryString));
  logger.debug('list page', { tasks: outcome.response.tasks.length, readUnits: outcome.readUnits });
  return json(200, outcome.response);
});

// The FULL view shows large content inputs and long logs from the bucket.
export const handler = listTasks.handler(cloudWiringWith({ objects: s3ObjectStore }));
