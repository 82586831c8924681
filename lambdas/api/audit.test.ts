/** Every API call leaves one structured audit line: caller, operation, task id, outcome and latency. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { RecordingWorkflow } from '../local/local-workflow.js';
import { logger } from './http.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0, workflow: new RecordingWorkflow() });
});
afterAll(async () => {
  await stack.close();
});

/** The audit lines written while `action` runs. */
async function auditLines(action: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(chunk.toString());
    return true;
  });
  const consoleSpy = vi.spyOn(console, 'info').mockImplementation((...args: unknown[]) => written.push(args.map(String).join(' ')));
  logger.setLogLevel('INFO');
  try {
    await action();
  } finally {
    logger.setLogLevel('SILENT');
    spy.mockRestore();
    consoleSpy.mockRestore();
  }
  return written
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.includes('"audit"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the audit log', () => {
  it('has one line per call with caller, operation, task id, outcome and latency', async () => {
    let id = '';
    const lines = await auditLines(async () => {
      const created = await fetch(`${stack.url}/tasks`, { method: 'POST', body: JSON.stringify({ executors: [{ image: 'a', command: ['b'] }] }) });
      id = ((await created.json()) as { id: string }).id;
      await fetch(`${stack.url}/tasks/${id}?view=FULL`);
      await fetch(`${stack.url}/tasks/unknown`);
      await fetch(`${stack.url}/tasks`, { method: 'POST', body: '{' });
    });
    expect(lines.map((l) => [l['operation'], l['status']])).toEqual([
      ['CreateTask', 200],
      ['GetTask', 200],
      ['GetTask', 404],
      ['CreateTask', 400],
    ]);
    expect(lines[0]).toMatchObject({ message: 'audit', caller: 'local', taskId: id, requestId: expect.any(String) });
    expect(lines[1]).toMatchObject({ taskId: id });
    expect(lines[2]).toMatchObject({ taskId: 'unknown' });
    for (const line of lines) expect(typeof line['latencyMs']).toBe('number');
  });
});
