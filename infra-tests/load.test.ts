/**
 * A burst: 200 tasks submitted at once all reach a terminal state; none is lost or stuck, and each
 * ran exactly once.
 */
import { describe, expect, it } from 'vitest';
import type { TesListTasksResponse, TesTask } from '../lambdas/domain/tes.js';
import { useTarget } from './support/target.js';
import { RUN_ID, task, TERMINAL_STATES } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

// The burst tests the API and the workflow, not this machine's size: locally, eight executors at once
// whatever its CPUs (its tasks only echo).
const suite = useTarget({ TES_LOCAL_CPUS: '8' });

const COUNT = 200;

describe('a burst of tasks', () => {
  it(`runs ${COUNT} tasks submitted at once to the end`, async () => {
    const replies = await Promise.all(
      Array.from({ length: COUNT }, (_, i) =>
        suite.tes.post<{ id: string }>('/tasks', task({ name: `burst-${i}`, tags: { burst: RUN_ID }, executors: [{ image: TEST_IMAGE, command: ['echo', String(i)] }] })),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(COUNT).fill(200));
    const ids = replies.map((r) => r.body.id);
    expect(new Set(ids).size).toBe(COUNT);

    const deadline = Date.now() + 240_000;
    let states: Record<string, string> = {};
    while (Date.now() < deadline) {
      const page = await suite.tes.get<TesListTasksResponse>(`/tasks?tag_key=burst&tag_value=${RUN_ID}&page_size=${COUNT}`);
      states = Object.fromEntries(page.body.tasks.map((t) => [t.id, t.state as string]));
      if (Object.values(states).length === COUNT && Object.values(states).every((s) => TERMINAL_STATES.includes(s))) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(Object.keys(states).sort()).toEqual([...ids].sort());
    expect(Object.values(states).filter((s) => s !== 'COMPLETE')).toEqual([]);

    // Each ran once: one executor log with its own output.
    const sample = await Promise.all(ids.slice(0, 20).map((id) => suite.tes.get<TesTask>(`/tasks/${id}?view=FULL`)));
    for (const [i, reply] of sample.entries()) {
      expect(reply.body.logs).toHaveLength(1);
      expect(reply.body.logs?.[0]?.logs.map((l) => l.stdout)).toEqual([`${i}\n`]);
    }
  }, 300_000);
});
