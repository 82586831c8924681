/**
 * The task table's shape, in one place for the store adapter, the local stack and CDK.
 *
 * - Partition key `pk` = the task id (a ULID, so ids sort by creation time).
 * - `byOwner` (owner, pk): one owner's tasks newest first.
 * - `byOwnerState` (ownerState, pk): one owner's tasks in one state, newest first.
 * - `active` (active, pk): every task not yet ended, for the reconciler; a task leaves it when it ends.
 * - `all` (shard, pk): every task, spread over ALL_SHARDS partitions by id so that no one partition
 *   takes every write; an admin's listing reads all shards and merges them newest first.
 * The listing indexes project only what a listing filters on (state, name, tags): the MINIMAL view is
 * answered from the index alone, and BASIC/FULL read the page's items by key.
 */
import { isTerminal } from '../domain/states.js';
import type { TesState } from '../domain/tes.js';

export const TASK_TABLE = {
  partitionKey: 'pk',
  indexes: {
    byOwner: { name: 'byOwner', partitionKey: 'owner', sortKey: 'pk' },
    byOwnerState: { name: 'byOwnerState', partitionKey: 'ownerState', sortKey: 'pk' },
    /** Sparse: only tasks not yet in a terminal state carry `active`, so the reconciler reads just those. */
    active: { name: 'active', partitionKey: 'active', sortKey: 'pk' },
    all: { name: 'all', partitionKey: 'shard', sortKey: 'pk' },
  },
  projectedAttributes: ['state', 'name', 'tags'],
} as const;

export const ACTIVE_PARTITION = 'ACTIVE';

/** How many partitions the `all` index spreads tasks over. */
export const ALL_SHARDS = 16;

/** The `all` index partition of a task: a stable function of its id. */
export function shardKey(id: string): string {
  let hash = 2166136261;
  for (let i = 0; i < id.length; i += 1) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619);
  return `ALL#${(hash >>> 0) % ALL_SHARDS}`;
}

/** The index keys a task item derives from its id and state: its `all` shard, and `active` until it ends. */
export function derivedIndexKeys(id: string, state: TesState): { shard: string; active?: string } {
  return { shard: shardKey(id), ...(isTerminal(state) ? {} : { active: ACTIVE_PARTITION }) };
}

export const ALL_SHARD_KEYS = Array.from({ length: ALL_SHARDS }, (_, i) => `ALL#${i}`);

/** The `ownerState` index key of a task (state first: states never contain `#`, owners may). */
export function ownerStateKey(owner: string, state: string): string {
  return `${state}#${owner}`;
}
