/**
 * The local DynamoDB: dynalite (the real DynamoDB wire protocol) on loopback, backed by LevelDB
 * under the data directory, or in memory. The task table is created with the same keys and
 * indexes CDK declares (task-table.ts). dynalite checks no signature, so every request is checked
 * here first (sigv4.ts, with the body's hash): only the holder of the stack's key gets in.
 */
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  type GlobalSecondaryIndex,
  PutItemCommand,
  ResourceNotFoundException,
  ScanCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createHash } from 'node:crypto';
import type { IncomingMessage, RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { derivedIndexKeys, TASK_TABLE } from '../adapters/task-table.js';
import type { TesState } from '../domain/tes.js';
import { listen, closeServer } from './net.js';
import { signatureProblem, type Credentials } from './sigv4.js';

export interface LocalDynamoDb {
  endpoint: string;
  close(): Promise<void>;
}

/** DynamoDB takes requests of at most 16 MB. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** The request again, with its body read: what dynalite's handler reads it from. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  return Object.assign(Readable.from([body]), { method: req.method, url: req.url, headers: req.headers, httpVersion: req.httpVersion }) as unknown as IncomingMessage;
}

/** Starts dynalite; `path` persists the data there, otherwise it lives in memory. Only requests signed with `credentials` reach it. */
export async function startDynalite(credentials: Credentials, path?: string): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  const [handle] = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const hash = createHash('sha256').update(body).digest('hex');
      const problem = size > MAX_REQUEST_BYTES ? 'the request is larger than 16 MB' : signatureProblem({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers }, credentials, new Date(), hash);
      if (problem !== undefined) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazon.coral.service#UnrecognizedClientException', message: problem }));
        return;
      }
      (handle as RequestListener)(replay(req, body), res);
    });
  });
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/** What a task table of an older version lacks: the indexes it was made without. */
function missingIndexes(table: { GlobalSecondaryIndexes?: { IndexName?: string }[] }): string[] {
  const present = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return Object.values(TASK_TABLE.indexes)
    .map((index) => index.name)
    .filter((name) => !present.has(name));
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/**
 * Creates the task table unless it exists, and brings a table an older version made up to date
 * (dynalite cannot add an index to a table): every item is copied to a side table with the keys
 * the new indexes need, the table is made again, and the items go back. A kill at any point is
 * finished or undone by the next start: the side table says, by a marker written last, whether it
 * holds every item. Returns how many tasks were brought up to date.
 */
export async function ensureTaskTable(client: DynamoDBClient, tableName: string): Promise<number> {
  const side = `${tableName}-upgrading`;
  const saved = await describe(client, side);
  if (saved !== undefined) {
    if (await hasMarker(client, side)) return finishUpgrade(client, tableName, side);
    await dropTable(client, side); // the copy was cut short; the table itself is intact
  }
  const table = await describe(client, tableName);
  if (table === undefined) {
    await createTaskTable(client, tableName);
    return 0;
  }
  if (missingIndexes(table).length === 0) return 0;
  await createTable(client, side, []);
  for (const item of await scanAll(client, tableName)) await client.send(new PutItemCommand({ TableName: side, Item: item }));
  await client.send(new PutItemCommand({ TableName: side, Item: { [TASK_TABLE.partitionKey]: { S: UPGRADE_MARKER } } }));
  return finishUpgrade(client, tableName, side);
}

/** Sorts before every task id; written last to the side table, when it holds every item. */
const UPGRADE_MARKER = '\u0000complete';

async function hasMarker(client: DynamoDBClient, side: string): Promise<boolean> {
  const out = await client.send(new GetItemCommand({ TableName: side, Key: { [TASK_TABLE.partitionKey]: { S: UPGRADE_MARKER } }, ConsistentRead: true }));
  return out.Item !== undefined;
}

async function finishUpgrade(client: DynamoDBClient, tableName: string, side: string): Promise<number> {
  if ((await describe(client, tableName)) !== undefined) await dropTable(client, tableName);
  await createTaskTable(client, tableName);
  let count = 0;
  for (const item of await scanAll(client, side)) {
    if (item[TASK_TABLE.partitionKey]?.S === UPGRADE_MARKER) continue;
    await client.send(new PutItemCommand({ TableName: tableName, Item: withIndexKeys(item) }));
    count += 1;
  }
  await dropTable(client, side);
  return count;
}

/** An item with the index keys this version derives from it (the same for an item that has them). */
function withIndexKeys(item: Item): Item {
  const state = item['state']?.S as TesState | undefined;
  if (state === undefined) return item;
  const keys = derivedIndexKeys(item[TASK_TABLE.partitionKey]?.S ?? '', state);
  return { ...item, ...Object.fromEntries(Object.entries(keys).map(([name, value]) => [name, { S: value }])) };
}

async function dropTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  for (let attempt = 0; (await describe(client, tableName)) !== undefined; attempt += 1) {
    if (attempt >= 250) throw new Error(`the table ${tableName} is still there after DeleteTable`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function createTaskTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { byOwner, byOwnerState, active, all } = TASK_TABLE.indexes;
  const index = (spec: typeof byOwner | typeof byOwnerState | typeof active | typeof all, projection: 'INCLUDE' | 'KEYS_ONLY' = 'INCLUDE') => ({
    IndexName: spec.name,
    KeySchema: [
      { AttributeName: spec.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: spec.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection:
      projection === 'INCLUDE'
        ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...TASK_TABLE.projectedAttributes] }
        : { ProjectionType: 'KEYS_ONLY' as const },
  });
  await createTable(client, tableName, [index(byOwner), index(byOwnerState), index(active, 'KEYS_ONLY'), index(all)], [
    byOwner.partitionKey,
    byOwnerState.partitionKey,
    active.partitionKey,
    all.partitionKey,
  ]);
}

async function createTable(client: DynamoDBClient, tableName: string, indexes: GlobalSecondaryIndex[], indexKeys: string[] = []): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [TASK_TABLE.partitionKey, ...indexKeys].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
      KeySchema: [{ AttributeName: TASK_TABLE.partitionKey, KeyType: 'HASH' }],
      ...(indexes.length === 0 ? {} : { GlobalSecondaryIndexes: indexes }),
    }),
  );
  await untilActive(client, tableName);
}

/**
 * dynalite answers CreateTable while the table is still CREATING, and refuses item requests until
 * it has stored it ACTIVE a moment later: waits for that, so that the first request does not fail.
 */
export async function untilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const table = await describe(client, tableName);
    if (table?.TableStatus === 'ACTIVE') return;
    if (attempt >= 250) throw new Error(`the table ${tableName} is still ${table?.TableStatus} after CreateTable`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

type Item = Record<string, AttributeValue>;

/** JSON with sorted keys, to compare attribute values. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function pick(item: Item, names: readonly string[]): Item {
  return Object.fromEntries(names.filter((name) => item[name] !== undefined).map((name) => [name, item[name] as AttributeValue]));
}

async function scanAll(client: DynamoDBClient, tableName: string, indexName?: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await client.send(
      new ScanCommand({
        TableName: tableName,
        ...(indexName === undefined ? { ConsistentRead: true } : { IndexName: indexName }),
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** On an item the repair wrote for a moment: how to undo it (the overlaid attributes' values, or NULL: no such item). */
const REPAIR_UNDO = 'indexRepairUndo';

/**
 * Makes a persisted table's secondary indexes agree with its items again, and returns the keys of
 * the items it had to repair. dynalite writes an item's index entries and then the item as separate
 * LevelDB writes, so a process killed between them leaves an entry without its item, an item
 * without its entry, or an entry for a state the item never reached (a task missing from the
 * `active` index would never be seen by the reconciler and stay RUNNING for ever). The items are
 * the truth: an entry that disagrees with its item is removed (by writing the item once with that
 * entry's key, then the item itself, so dynalite deletes the entry) and the item is written again,
 * which rewrites its entries. What the repair writes for a moment says how to undo it, so a repair
 * killed half-way is finished by the next. Run it before anything else uses the table.
 */
export async function repairIndexes(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const tableKeys = (table?.KeySchema ?? []).map((k) => k.AttributeName as string);
  const indexes = [...(table?.GlobalSecondaryIndexes ?? []), ...(table?.LocalSecondaryIndexes ?? [])].map((index) => {
    const keys = (index.KeySchema ?? []).map((k) => k.AttributeName as string);
    const projection = index.Projection?.ProjectionType;
    const projected = projection === 'ALL' ? undefined : [...keys, ...tableKeys, ...(projection === 'INCLUDE' ? (index.Projection?.NonKeyAttributes ?? []) : [])];
    return { name: index.IndexName as string, keys, projected };
  });
  if (indexes.length === 0) return [];
  const keyOf = (item: Item): string => canonical(pick(item, tableKeys));
  /** The entry an item should have in an index, or undefined when it has none there (a sparse index). */
  const entryOf = (item: Item, index: (typeof indexes)[number]): Item | undefined =>
    index.keys.every((key) => item[key] !== undefined) ? (index.projected === undefined ? item : pick(item, index.projected)) : undefined;

  /** Per item to repair: its key, and items carrying the key of each of its entries that must go. */
  const repairs = new Map<string, { key: Item; stale: Item[] }>();
  const repair = (item: Item, stale?: Item): void => {
    const found = repairs.get(keyOf(item)) ?? { key: pick(item, tableKeys), stale: [] };
    if (stale !== undefined) found.stale.push(stale);
    repairs.set(keyOf(item), found);
  };
  const items = new Map<string, Item>();
  for (const scanned of await scanAll(client, tableName)) {
    const { [REPAIR_UNDO]: undo, ...item } = scanned;
    if (undo !== undefined) {
      repair(scanned); // a repair killed half-way: undo what it wrote
      if (undo.M === undefined) continue;
      for (const [name, value] of Object.entries(undo.M)) {
        if (value.NULL === true) delete item[name];
        else item[name] = value;
      }
    }
    items.set(keyOf(item), item);
  }
  for (const index of indexes) {
    const found = new Set<string>();
    for (const entry of await scanAll(client, tableName, index.name)) {
      const key = keyOf(entry);
      const item = items.get(key);
      const expected = item === undefined ? undefined : entryOf(item, index);
      if (expected !== undefined && canonical(expected) === canonical(entry)) {
        found.add(key);
      } else if (item === undefined) {
        repair(entry, { ...entry, [REPAIR_UNDO]: { NULL: true } });
      } else if (expected === undefined || canonical(pick(expected, index.keys)) !== canonical(pick(entry, index.keys))) {
        const undo = Object.fromEntries(index.keys.map((name): [string, AttributeValue] => [name, item[name] ?? { NULL: true }]));
        repair(item, { ...item, ...pick(entry, index.keys), [REPAIR_UNDO]: { M: undo } });
      } else {
        repair(item); // the right key with stale attributes: writing the item again rewrites it
      }
    }
    for (const [key, item] of items) if (entryOf(item, index) !== undefined && !found.has(key)) repair(item);
  }
  for (const [key, { key: tableKey, stale }] of repairs) {
    const item = items.get(key);
    for (const overlay of stale) {
      await client.send(new PutItemCommand({ TableName: tableName, Item: overlay }));
      if (item === undefined) await client.send(new DeleteItemCommand({ TableName: tableName, Key: tableKey }));
    }
    if (item !== undefined) await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
    else await client.send(new DeleteItemCommand({ TableName: tableName, Key: tableKey }));
  }
  return [...repairs.values()].map(({ key }) => tableKeys.map((name) => Object.values(key[name] ?? {})[0] as string).join('/'));
}
