/**
 * Following a task by polling GetTask (FULL view), as any TES allows: every change is printed as it
 * is seen, the polls come every 250 ms and slow to one a second while nothing changes. Ctrl-C
 * cancels the task first when the caller asks for that (`tes run`), else it only stops following.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TesTask } from '../lambdas/domain/tes.js';
import { isTerminal } from '../lambdas/domain/states.js';
import type { TesClient } from './client.js';
import { EXIT } from './exit-codes.js';
import { LogFollower, type Chunk, type FollowOptions } from './log-follower.js';
import type { Progress } from './progress.js';

const FIRST_POLL_MS = 250;
const SLOWEST_POLL_MS = 1000;

/** Thrown once Ctrl-C has been handled: the command exits 130. */
export class Interrupted extends Error {
  override name = 'Interrupted';
}

export interface FollowSettings extends FollowOptions {
  /** Prints what the follower found. */
  print(chunk: Chunk): void;
  progress: Progress;
  /** Ctrl-C cancels the task (`tes run`) or only stops following it. */
  onInterrupt: 'cancel' | 'leave';
  /** A line for the user however quiet they asked us to be (what Ctrl-C did). */
  tell(line: string): void;
}

/** Follows task `id` until it ends; the task as it ended (FULL view). */
export async function followTask(client: TesClient, id: string, settings: FollowSettings): Promise<TesTask> {
  const follower = new LogFollower(settings);
  const wake = new AbortController();
  let interrupted: Promise<void> | undefined;
  const cancel = async (): Promise<void> => {
    settings.tell(`Ctrl-C: canceling task ${id}`);
    try {
      await client.cancelTask(id);
      settings.tell(`task ${id} canceled`);
    } catch (error) {
      settings.tell(`could not cancel task ${id}: ${(error as Error).message}`);
    }
  };
  const onInterrupt = (): void => {
    // A second Ctrl-C does not wait for the cancel to be answered.
    if (interrupted !== undefined) process.exit(EXIT.interrupted);
    settings.progress.stop();
    interrupted = settings.onInterrupt === 'cancel' ? cancel() : Promise.resolve();
    wake.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    let delay = FIRST_POLL_MS;
    let state: string | undefined;
    while (interrupted === undefined) {
      const task = await client.getTask(id, 'FULL');
      if (interrupted !== undefined) break;
      const chunks = follower.update(task);
      const ended = task.state !== undefined && isTerminal(task.state);
      // A new state is shown before the output that came with it; the end, after the last of it.
      if (!ended) settings.progress.show(task, follower.executor);
      for (const chunk of chunks) settings.print(chunk);
      if (ended) {
        settings.progress.show(task, follower.executor);
        return task;
      }
      delay = chunks.length > 0 || task.state !== state ? FIRST_POLL_MS : Math.min(delay * 1.5, SLOWEST_POLL_MS);
      state = task.state;
      await sleep(delay, undefined, { signal: wake.signal }).catch(() => undefined);
    }
    await interrupted;
    throw new Interrupted('interrupted');
  } finally {
    process.off('SIGINT', onInterrupt);
    settings.progress.stop();
  }
}
