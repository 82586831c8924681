/**
 * TaskStore on DynamoDB (one table, see task-table.ts). Every state change is a conditional
 * update on the expected state and version; a lost race re-reads the item and reports it.
 */
import { ConditionalCheckFailedException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { assertTransition, isTerminal } from '../domain/states.js';
import type { OutputList, SpilledRun } from '../domain/output-list.js';
import type { LogOverflow, OffloadedContent, TaskRecord, TaskSummary } from '../domain/task-record.js';
import type { TesState, TesTask, TesTaskLog } from '../domain/tes.js';
import { StaleWriteError, type StateChange, type SummaryPage, type SummaryQuery, type TaskStore } from '../ports/task-store.js';
import { ACTIVE_PARTITION, ALL_SHARD_KEYS, derivedIndexKeys, ownerStateKey, TASK_TABLE } from './task-table.js';

interface TaskItem {
  pk: string;
  active?: string;
  shard: string;
  owner: string;
  admin?: boolean;
  ownerState: string;
  state: TesState;
  version: number;
  created: string;
  name?: string;
  tags?: Record<string, string>;
  task: TesTask;
  logs: TesTaskLog[];
  offloaded?: OffloadedContent[];
  outputList?: OutputList;
  spilled?: SpilledRun[];
}

/** The item attribute holding the staging runs whose ticket was traded (a string set). */
export const STAGING_RUNS_ATTRIBUTE = 'stagingRuns';

function toItem(record: TaskRecord): TaskItem {
  return {
    pk: record.id,
    ...derivedIndexKeys(record.id, record.state),
    owner: record.owner,
    ...(record.admin === true ? { admin: true } : {}),
    ownerState: ownerStateKey(record.owner, record.state),
    state: record.state,
    version: record.version,
    created: record.creationTime,
    name: record.task.name,
    tags: record.task.tags,
    task: record.task,
    logs: record.logs,
    offloaded: record.offloaded,
    outputList: record.outputList,
    spilled: record.spilled,
  };
}

function toRecord(item: TaskItem): TaskRecord {
  const record: TaskRecord = {
    id: item.pk,
    owner: item.owner,
    state: item.state,
    version: item.version,
    creationTime: item.created,
    task: item.task,
    logs: item.logs,
  };
  if (item.admin === true) record.admin = true;
  if (item.offloaded !== undefined && item.offloaded.length > 0) record.offloaded = item.offloaded;
  if (item.outputList !== undefined) record.outputList = item.outputList;
  if (item.spilled !== undefined && item.spilled.length > 0) record.spilled = item.spilled;
  return record;
}

function readUnits(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  if (consumed === undefined) return 0;
  const all = Array.isArray(consumed) ? consumed : [consumed];
  return all.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
}

const BATCH_GET_MAX = 100;

export class DynamoDbTaskStore implements TaskStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: TaskRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: toItem(record),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: id }, ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : toRecord(out.Item as TaskItem);
  }

  async getMany(ids: readonly string[]): Promise<TaskRecord[]> {
    const found = new Map<string, TaskRecord>();
    for (let start = 0; start < ids.length; start += BATCH_GET_MAX) {
      let keys: Record<string, unknown>[] | undefined = ids.slice(start, start + BATCH_GET_MAX).map((pk) => ({ pk }));
      for (let attempt = 0; keys !== undefined && keys.length > 0; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
        const out: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const record = toRecord(item as TaskItem);
          found.set(record.id, record);
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return ids.flatMap((id) => {
      const record = found.get(id);
      return record === undefined ? [] : [record];
    });
  }

  async listActive(after?: string, limit = 500): Promise<{ ids: string[]; more: boolean }> {
    const index = TASK_TABLE.indexes.active;
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: after === undefined ? '#a = :a' : '#a = :a AND #id > :after',
        ExpressionAttributeNames: { '#a': index.partitionKey, ...(after === undefined ? {} : { '#id': TASK_TABLE.partitionKey }) },
        ExpressionAttributeValues: { ':a': ACTIVE_PARTITION, ...(after === undefined ? {} : { ':after': after }) },
        Limit: limit,
      }),
    );
    return { ids: (out.Items ?? []).map((item) => item['pk'] as string), more: out.LastEvaluatedKey !== undefined };
  }

  async listSummaries(query: SummaryQuery): Promise<SummaryPage> {
    if (query.owner === undefined) return this.listAllSummaries(query);
    const index = query.state === undefined ? TASK_TABLE.indexes.byOwner : TASK_TABLE.indexes.byOwnerState;
    const partition = query.state === undefined ? query.owner : ownerStateKey(query.owner, query.state);
    return this.queryNewestFirst(index, partition, query.after, query.limit);
  }

  /**
   * Every owner's tasks: each shard of the `all` index newest first, merged. The merge keeps the
   * newest `limit` of all shards' answers, which are the newest `limit` overall; the shards' unread
   * rest is read from the next call's `after` on.
   */
  private async listAllSummaries(query: SummaryQuery): Promise<SummaryPage> {
    const pages = await Promise.all(ALL_SHARD_KEYS.map((shard) => this.queryNewestFirst(TASK_TABLE.indexes.all, shard, query.after, query.limit)));
    const merged = pages.flatMap((page) => page.entries).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const entries = merged.slice(0, query.limit);
    const rest = merged.length > entries.length || pages.some((page) => !page.exhausted);
    const matching = query.state === undefined ? entries : entries.filter((entry) => entry.state === query.state);
    return { entries: matching, exhausted: !rest, readUnits: pages.reduce((sum, page) => sum + page.readUnits, 0), ...(entries.length > 0 ? { last: entries.at(-1)?.id } : {}) };
  }

  private async queryNewestFirst(
    index: { name: string; partitionKey: string },
    partition: string,
    after: string | undefined,
    limit: number,
  ): Promise<SummaryPage> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: after === undefined ? '#p = :p' : '#p = :p AND #id < :after',
        ExpressionAttributeNames: {
          '#p': index.partitionKey,
          ...(after === undefined ? {} : { '#id': TASK_TABLE.partitionKey }),
        },
        ExpressionAttributeValues: { ':p': partition, ...(after === undefined ? {} : { ':after': after }) },
        ScanIndexForward: false,
        Limit: limit,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const entries = (out.Items ?? []).map((item): TaskSummary => {
      const summary: TaskSummary = { id: item['pk'] as string, state: item['state'] as TesState };
      if (item['name'] !== undefined) summary.name = item['name'] as string;
      if (item['tags'] !== undefined) summary.tags = item['tags'] as Record<string, string>;
      return summary;
    });
    return { entries, exhausted: out.LastEvaluatedKey === undefined, readUnits: readUnits(out.ConsumedCapacity) };
  }

  async updateLogs(read: TaskRecord, logs: TesTaskLog[], overflow: LogOverflow = {}): Promise<TaskRecord> {
    const set = ['#logs = :logs', '#version = #version + :one'];
    const names: Record<string, string> = { '#logs': 'logs', '#version': 'version' };
    const values: Record<string, unknown> = { ':logs': logs, ':version': read.version, ':one': 1 };
    for (const [name, value] of Object.entries(overflow)) {
      if (value === undefined) continue;
      set.push(`#${name} = :${name}`);
      names[`#${name}`] = name;
      values[`:${name}`] = value;
    }
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: read.id },
          UpdateExpression: `SET ${set.join(', ')}`,
          ConditionExpression: '#version = :version',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(out.Attributes as TaskItem);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new StaleWriteError(await this.get(read.id));
      throw error;
    }
  }

  async claimStagingRun(id: string, run: string): Promise<boolean> {
    try {
      // Touches nothing else (not even the version): the broker's role may update only this attribute.
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: id },
          UpdateExpression: 'ADD #runs :run',
          ConditionExpression: 'attribute_exists(#pk) AND NOT contains(#runs, :id)',
          ExpressionAttributeNames: { '#runs': STAGING_RUNS_ATTRIBUTE, '#pk': 'pk' },
          ExpressionAttributeValues: { ':run': new Set([run]), ':id': run },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async changeState(read: TaskRecord, change: StateChange): Promise<TaskRecord> {
    assertTransition(read.state, change.to);
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: read.id },
          UpdateExpression:
            'SET #state = :to, #ownerState = :ownerState, #version = #version + :one' +
            (change.logs === undefined ? '' : ', #logs = :logs') +
            (isTerminal(change.to) ? ' REMOVE #active' : ''),
          ConditionExpression: '#state = :from AND #version = :version',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#ownerState': 'ownerState',
            '#version': 'version',
            ...(change.logs === undefined ? {} : { '#logs': 'logs' }),
            ...(isTerminal(change.to) ? { '#active': 'active' } : {}),
          },
          ExpressionAttributeValues: {
            ':to': change.to,
            ':from': read.state,
            ':version': read.version,
            ':one': 1,
            ':ownerState': ownerStateKey(read.owner, change.to),
            ...(change.logs === undefined ? {} : { ':logs': change.logs }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(out.Attributes as TaskItem);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new StaleWriteError(await this.get(read.id));
      throw error;
    }
  }
}
