/**
 * Turns successive FULL views of one task into the executors' output, in order and each byte once:
 * the executor being followed is printed as its tail grows, and once it has ended (it has an
 * end_time, a later executor has a log, or the task has ended) what remains of it is printed and the
 * next one is followed. Pure: the caller polls, prints and sleeps.
 */
import type { TesTask } from '../lambdas/domain/tes.js';
import { isTerminal } from '../lambdas/domain/states.js';
import { lostItsStart, newOutput, settledTail } from './tail.js';

export type Stream = 'stdout' | 'stderr';

/** Output of an executor's stream, or a notice about the output (for our stderr). */
export type Chunk = { stream: Stream; executor: number; text: string } | { notice: string };

export interface FollowOptions {
  /** Only this executor (its index in the task); every one by default. */
  executor?: number;
  /** The executors' streams to follow. */
  streams: readonly Stream[];
}

export class LogFollower {
  private attempt = -1;
  private index = 0;
  private printed: Record<Stream, string> = { stdout: '', stderr: '' };

  constructor(private readonly options: FollowOptions) {}

  /** The index of the executor followed now (all before it have been printed whole). */
  get executor(): number {
    return this.index;
  }

  /** What this view of the task adds to what earlier ones gave, in order. */
  update(task: TesTask): Chunk[] {
    const chunks: Chunk[] = [];
    const attempts = task.logs ?? [];
    if (attempts.length === 0) return chunks;
    if (attempts.length - 1 !== this.attempt) {
      if (this.attempt >= 0) chunks.push({ notice: `[… the task started again (attempt ${attempts.length}) …]` });
      this.attempt = attempts.length - 1;
      this.move(0);
    }
    const logs = attempts[this.attempt]?.logs ?? [];
    const ended = task.state !== undefined && isTerminal(task.state);
    while (this.index < logs.length) {
      const log = logs[this.index];
      const final = log?.end_time !== undefined || this.index < logs.length - 1 || ended;
      if (this.options.executor === undefined || this.options.executor === this.index) {
        for (const stream of this.options.streams) {
          const raw = log?.[stream] ?? '';
          const tail = settledTail(raw, final);
          const { text, skipped } = newOutput(this.printed[stream], tail);
          if (skipped) chunks.push({ notice: `[… executor ${this.index} ${stream}: output skipped (more than the server's tail arrived between two looks) …]` });
          else if (this.printed[stream] === '' && lostItsStart(raw)) chunks.push({ notice: `[… executor ${this.index} ${stream}: earlier output not shown (the server keeps only the last part) …]` });
          if (text !== '') chunks.push({ stream, executor: this.index, text });
          this.printed[stream] = tail;
        }
      }
      if (!final) break;
      this.move(this.index + 1);
    }
    return chunks;
  }

  private move(index: number): void {
    this.index = index;
    this.printed = { stdout: '', stderr: '' };
  }
}
