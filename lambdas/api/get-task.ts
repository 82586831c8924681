import { parseGetTaskQuery } from '../domain/list-query.js';
import { getTask as getTaskUseCase } from '../usecases/get-task.js';
import { json, pathId } from './http.js';
import { cloudWatchLogStore } from '../adapters/cloudwatch-log-store.js';
import { cloudWiringWith, defineEndpoint } from './wiring.js';
import { s3ObjectStore } from '../adapters/s3-object-store.js';

export const getTask = defineEndpoint('GetTask', ({ deps }) => async (event, context) => {
  const id = pathId(event);
  context.taskId = id;
  const query = parseGetTaskQuery(event.rawQueryString);
  return json(200, await getTaskUseCase(deps, context.caller, id, query.view, query.outputsFrom));
});

// A running executor's output in the FULL view comes from its CloudWatch log stream.
export const handler = getTask.handler(cloudWiringWith({ logStore: cloudWatchLogStore, objects: s3ObjectStore }));
