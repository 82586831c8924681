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

  it('FULL has every field, including content, stdout, stderr and system logs', () => {
    const full = renderTask(record, 'FULL');
    expect(full).toEqual({ id: '01abc', state: 'COMPLETE', creation_time: record.creationTime, ...record.task, logs: record.logs });
  });

  it('BASIC has everything but stdout, stderr, input content and system logs', () => {
    const basic = renderTask(record, 'BASIC');
    expect(basic.inputs).toEqual([{ path: '/in' }, { path: '/in2', url: 's3://bucket/k' }]);
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
