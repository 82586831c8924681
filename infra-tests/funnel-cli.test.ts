/**
 * Funnel's CLI (`funnel task …`, `funnel run`) as a client: its requests, recorded from the real
 * binary (infra-tests/clients/funnel-cli-requests.json; the binary itself is not installable here,
 * as neither its module nor its repository can be fetched), replayed in order against the TES. Each
 * answer must be what Funnel's protojson decoding accepts: spec fields only, known enum values, and
 * the wait loop's MINIMAL polls ending in a terminal state.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesListTasksResponse, TesTask } from '../lambdas/domain/tes.js';
import { expectSpecResponse } from './support/spec-assertions.js';
import { startTarget, type Target } from './support/target.js';
import { TEST_IMAGE } from './support/test-image.js';

interface Recorded {
  command: string;
  method: 'GET' | 'POST';
  path: string;
  contentType?: string;
  body?: unknown;
  answers: 'tesCreateTaskResponse' | 'tesTask' | 'tesListTasksResponse' | 'empty';
  view?: string;
  until?: string[];
  lists?: string;
}

const recorded = (JSON.parse(readFileSync(join(import.meta.dirname, 'clients', 'funnel-cli-requests.json'), 'utf8')) as { requests: Recorded[] }).requests;

let target: Target;
beforeAll(async () => {
  target = await startTarget();
});
afterAll(async () => {
  await target?.close();
});

/** protojson accepts only values its enums declare. */
const STATES = ['UNKNOWN', 'QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED', 'CANCELING'];

describe("Funnel's CLI, its recorded requests replayed", () => {
  it('creates, waits for, gets, lists with every filter, cancels and runs, each answer decodable by Funnel', async () => {
    let id = '';
    const fill = (text: string) => text.replaceAll('{id}', id).replaceAll('{image}', TEST_IMAGE);
    for (const request of recorded) {
      const send = async () => {
        const response = await fetch(`${target.root}${fill(request.path)}`, {
          method: request.method,
          headers: { ...(request.contentType === undefined ? {} : { 'Content-Type': request.contentType }), ...target.headers },
          ...(request.method === 'POST' ? { body: request.body === undefined ? '' : fill(JSON.stringify(request.body, null, 2)) } : {}),
        });
        const text = await response.text();
        expect(response.status, `${request.command}: ${text}`).toBe(200);
        return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      };
      let body = await send();
      // `funnel task wait` polls MINIMAL until the task ends (it sleeps a second between polls).
      const deadline = Date.now() + 60_000;
      while (request.until !== undefined && !request.until.includes(String(body['state']))) {
        expect(STATES, request.command).toContain(body['state']);
        if (Date.now() > deadline) throw new Error(`${request.command}: the task did not end within 60 s (${JSON.stringify(body)})`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        body = await send();
      }
      if (request.answers === 'empty') expect(body, request.command).toEqual({});
      else expectSpecResponse(request.answers, body, request.view);
      if (request.answers === 'tesCreateTaskResponse' && id === '') id = String(body['id']);
      const tasks = request.answers === 'tesListTasksResponse' ? (body as unknown as TesListTasksResponse).tasks : request.answers === 'tesTask' ? [body as TesTask] : [];
      for (const task of tasks) expect(STATES, request.command).toContain(task.state);
      if (request.lists !== undefined) expect(tasks.map((t) => t.id), request.command).toContain(fill(request.lists));
    }
    // What `funnel task get` printed: the task ran, its stdout is there.
    const done = (await (await fetch(`${target.root}/v1/tasks/${id}?view=FULL`, { headers: target.headers })).json()) as TesTask;
    expect(done.state).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]?.stdout).toBe('hi from funnel\n');
  });
});
