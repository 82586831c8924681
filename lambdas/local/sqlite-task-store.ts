/**
 * The local stack's task store: Node's built-in SQLite in WAL mode, in the server's own process. It
 * keeps the DynamoDB adapter's contract exactly (lambdas/testing/task-store-conformance.ts runs the
 * same suite on both): conditional writes on state and version, newest-first listings per owner and
 * per owner and state from their own indexes, the active tasks oldest first, the staging runs a
 * ticket was traded for, and DynamoDB's 400 KB item limit. What it saves is the HTTP hop, the AWS
 * SDK's marshalling and signing and dynalite's interpretation of every call; a killed process
 * leaves the database as of its last committed write.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { assertTransition, isTerminal } from '../domain/states.js';
import type { LogOverflow, TaskRecord, TaskSummary } from '../domain/task-record.js';
import type { TesState, TesTaskLog } from '../domain/tes.js';
import { StaleWriteError, type StateChange, type SummaryPage, type SummaryQuery, type TaskStore } from '../ports/task-store.js';

/** DynamoDB's item limit, kept here so that what fits locally fits in AWS. */
export const ITEM_LIMIT_BYTES = 400 * 1024;

export class ItemTooLargeError extends Error {
  constructor(bytes: number) {
    super(`Item size has exceeded the maximum allowed size (${bytes} bytes, DynamoDB's limit is ${ITEM_LIMIT_BYTES})`);
    this.name = 'ValidationException';
  }
}

export class TaskExistsError extends Error {
  constructor(id: string) {
    super(`The conditional request failed: task ${id} exists`);
    this.name = 'ConditionalCheckFailedException';
  }
}

type Row = { record: string; staging_runs: string | null };
type SummaryRow = { id: string; state: TesState; name: string | null; tags: string | null };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  version INTEGER NOT NULL,
  active INTEGER NOT NULL,
  name TEXT,
  tags TEXT,
  record TEXT NOT NULL,
  staging_runs TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks (owner, id);
CREATE INDEX IF NOT EXISTS tasks_by_owner_state ON tasks (owner, state, id);
CREATE INDEX IF NOT EXISTS tasks_active ON tasks (id) WHERE active = 1;
`;

/** The stored record: everything but the staging runs, which only the broker's claim touches. */
function serialize(record: TaskRecord): string {
  const text = JSON.stringify(record);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > ITEM_LIMIT_BYTES) throw new ItemTooLargeError(bytes);
  return text;
}

/** The port is asynchronous: what a synchronous step throws becomes a rejection. */
function settle<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function summary(row: SummaryRow): TaskSummary {
  const entry: TaskSummary = { id: row.id, state: row.state };
  if (row.name !== null) entry.name = row.name;
  if (row.tags !== null) entry.tags = JSON.parse(row.tags) as Record<string, string>;
  return entry;
}

export class SqliteTaskStore implements TaskStore {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  /** `path`: the database file (`:memory:` for none). */
  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
  }

  /** What SQLite's own check finds wrong with the database (its tables and indexes); none when sound. */
  integrityProblems(): string[] {
    const rows = this.db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check).filter((line) => line !== 'ok');
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private sql(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (statement === undefined) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private read(id: string): TaskRecord | undefined {
    const row = this.sql('SELECT record, staging_runs FROM tasks WHERE id = ?').get(id) as Row | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as TaskRecord);
  }

  create(record: TaskRecord): Promise<void> {
    return settle(() => this.insert(record));
  }

  private insert(record: TaskRecord): Promise<void> {
    const text = serialize(record);
    const { changes } = this.sql('INSERT INTO tasks (id, owner, state, version, active, name, tags, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING').run(
      record.id,
      record.owner,
      record.state,
      record.version,
      isTerminal(record.state) ? 0 : 1,
      record.task.name ?? null,
      record.task.tags === undefined ? null : JSON.stringify(record.task.tags),
      text,
    );
    return changes === 0 ? Promise.reject(new TaskExistsError(record.id)) : Promise.resolve();
  }

  get(id: string): Promise<TaskRecord | undefined> {
    return Promise.resolve(this.read(id));
  }

  getMany(ids: readonly string[]): Promise<TaskRecord[]> {
    return Promise.resolve(ids.flatMap((id) => this.read(id) ?? []));
  }

  listActive(after?: string, limit = 500): Promise<{ ids: string[]; more: boolean }> {
    const rows = this.sql('SELECT id FROM tasks WHERE active = 1 AND id > ? ORDER BY id LIMIT ?').all(after ?? '', limit + 1) as { id: string }[];
    return Promise.resolve({ ids: rows.slice(0, limit).map((r) => r.id), more: rows.length > limit });
  }

  listSummaries(query: SummaryQuery): Promise<SummaryPage> {
    // One more than asked says whether more remain, as DynamoDB's LastEvaluatedKey does.
    const before = query.after ?? '\uffff';
    let rows: SummaryRow[];
    if (query.owner !== undefined && query.state !== undefined) {
      rows = this.sql('SELECT id, state, name, tags FROM tasks WHERE owner = ? AND state = ? AND id < ? ORDER BY id DESC LIMIT ?').all(query.owner, query.state, before, query.limit + 1) as SummaryRow[];
    } else if (query.owner !== undefined) {
      rows = this.sql('SELECT id, state, name, tags FROM tasks WHERE owner = ? AND id < ? ORDER BY id DESC LIMIT ?').all(query.owner, before, query.limit + 1) as SummaryRow[];
    } else {
      // Every owner's tasks (an admin's listing), filtered by state as the DynamoDB adapter filters them.
      const all = this.sql('SELECT id, state, name, tags FROM tasks WHERE id < ? ORDER BY id DESC LIMIT ?').all(before, query.limit + 1) as SummaryRow[];
      const page = all.slice(0, query.limit);
      const entries = page.filter((row) => query.state === undefined || row.state === query.state).map(summary);
      return Promise.resolve({ entries, exhausted: all.length <= query.limit, readUnits: 0, ...(page.length > 0 ? { last: page.at(-1)?.id } : {}) });
    }
    return Promise.resolve({ entries: rows.slice(0, query.limit).map(summary), exhausted: rows.length <= query.limit, readUnits: 0 });
  }

  updateLogs(read: TaskRecord, logs: TesTaskLog[], overflow: LogOverflow = {}): Promise<TaskRecord> {
    return settle(() => this.write(read, (current) => {
      const next: TaskRecord = { ...current, logs, version: current.version + 1 };
      if (overflow.outputList !== undefined) next.outputList = overflow.outputList;
      if (overflow.spilled !== undefined) next.spilled = overflow.spilled;
      return next;
    }));
  }

  changeState(read: TaskRecord, change: StateChange): Promise<TaskRecord> {
    return settle(() => {
      assertTransition(read.state, change.to);
      return this.write(read, (current) => (current.state !== read.state ? undefined : { ...current, state: change.to, version: current.version + 1, ...(change.logs === undefined ? {} : { logs: change.logs }) }));
    });
  }

  /** Replaces the task if it is still at `read`'s version (and `next` agrees); otherwise the writer lost. */
  private write(read: TaskRecord, next: (current: TaskRecord) => TaskRecord | undefined): Promise<TaskRecord> {
    const current = this.read(read.id);
    const changed = current === undefined || current.version !== read.version ? undefined : next(current);
    if (changed === undefined) return Promise.reject(new StaleWriteError(current));
    const { changes } = this.sql('UPDATE tasks SET state = ?, version = ?, active = ?, record = ? WHERE id = ? AND version = ?').run(
      changed.state,
      changed.version,
      isTerminal(changed.state) ? 0 : 1,
      serialize(changed),
      read.id,
      read.version,
    );
    return changes === 0 ? Promise.reject(new StaleWriteError(this.read(read.id))) : Promise.resolve(changed);
  }

  claimStagingRun(id: string, run: string): Promise<boolean> {
    const row = this.sql('SELECT staging_runs FROM tasks WHERE id = ?').get(id) as { staging_runs: string | null } | undefined;
    if (row === undefined) return Promise.resolve(false);
    const runs = row.staging_runs === null ? [] : (JSON.parse(row.staging_runs) as string[]);
    if (runs.includes(run)) return Promise.resolve(false);
    const { changes } = this.sql('UPDATE tasks SET staging_runs = ? WHERE id = ? AND staging_runs IS ?').run(JSON.stringify([...runs, run]), id, row.staging_runs);
    return Promise.resolve(changes === 1);
  }
}
