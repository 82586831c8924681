import { describe, expect, it } from 'vitest';
import type { TaskRecord } from './task-record.js';
import { renderTask } from './views.js';

const record: TaskRecord = {
  id: '01abc',
  owner: 'alice',
  state: 'COMPLETE',
  version: 3,
  creationTime: '2026-01-01T00:00:00.000Z',
  task: {
    name: 'n',
    description: 'd',
    inputs: [{ path: '/in', content: 'secret content' }, { path: '/in2', url: 's3://bucket/k' }],
    outputs: [{ path: '/out', url: 's3://bucket/o' }],
    resources: { cpu_cores: 1 },
    executors: [{ image: 'alpine', command: ['true'] }],
    volumes: ['/vol'],
    tags: { k: 'v' },
  },
  logs: [
    {
      logs: [{ exit_code: 0, stdout: 'out', stderr: 'err', start_time: 's', end_time: 'e' }],
      outputs: [{ url: 's3://bucket/o', path: '/out', size_bytes: '3' }],
      system_logs: ['sys'],
      metadata: { m: '1' },
    },
  ],
};

describe('task views', () => {
  it('MINIMAL has only id and state', () => {
    expect(renderTask(record, 'MINIMAL')).toEqual({ id: '01abc', state: 'COMPLETE' });
  });

  it('a QUEUED task has no `logs` field in any view until there is a log (not an empty array a client may index)', () => {
    const queued: TaskRecord = { ...record, state: 'QUEUED', logs: [], task: { ...record.task, inputs: [], outputs: [], volumes: [] } };
    for (const view of ['BASIC', 'FULL'] as const) {
      const task = renderTask(queued, view);
      for (const field of ['logs', 'inputs', 'outputs', 'volumes']) expect(task, `${view} ${field}`).not.toHaveProperty(field);
      expect(task.executors).toEqual(record.task.executors);
    }
  });

  it('FULL has every field, including content, stdout, stderr and system logs', () => {
    const full = renderTask(record, 'FULL');
    expect(full).toEqual({
      id: '01abc',
      state: 'COMPLETE',
      creation_time: record.creationTime,
      ...record.task,
      inputs: record.task.inputs?.map((input) => ({ ...input, type: 'FILE' })),
      outputs: record.task.outputs?.map((output) => ({ ...output, type: 'FILE' })),
      logs: record.logs,
    });
  });

  it("fills in the type of inputs and outputs sent without one (the FILE they are staged as), and keeps a DIRECTORY (TES 1.0 clients require it)", () => {
    const typed: TaskRecord = { ...record, task: { ...record.task, inputs: [{ path: '/d', url: 's3://b/d/', type: 'DIRECTORY' }, { path: '/f', url: 's3://b/f' }] } };
    for (const view of ['BASIC', 'FULL'] as const) {
      const task = renderTask(typed, view);
      expect(task.inputs?.map((i) => i.type)).toEqual(['DIRECTORY', 'FILE']);
      expect(task.outputs?.map((o) => o.type)).toEqual(['FILE']);
    }
  });

  it('BASIC has everything but stdout, stderr, input content and system logs', () => {
    const basic = renderTask(record, 'BASIC');
    expect(basic.inputs).toEqual([{ path: '/in', type: 'FILE' }, { path: '/in2', url: 's3://bucket/k', type: 'FILE' }]);
    expect(basic.logs).toEqual([
      {
        logs: [{ exit_code: 0, start_time: 's', end_time: 'e' }],
        outputs: [{ url: 's3://bucket/o', path: '/out', size_bytes: '3' }],
        metadata: { m: '1' },
      },
    ]);
    expect(basic).toMatchObject({ name: 'n', description: 'd', tags: { k: 'v' }, volumes: ['/vol'], creation_time: record.creationTime });
  });

  it('never shows the owner or the version', () => {
    for (const view of ['MINIMAL', 'BASIC', 'FULL'] as const) {
      const shown = JSON.stringify(renderTask(record, view));
      expect(shown).not.toContain('alice');
      expect(Object.keys(renderTask(record, view))).not.toContain('version');
    }
  });
});
