import { afterAll, beforeAll } from 'vitest';
import { startTestTable, type TestTable } from '../testing/dynamo.js';
import { taskStoreConformance } from '../testing/task-store-conformance.js';

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
});
afterAll(async () => {
  await table.close();
});

taskStoreConformance('DynamoDbTaskStore on dynalite', () => table.store, { countsReadUnits: true });
