import { describe, expect, it } from 'vitest';
import { toSpecShape } from './spec-shape.js';

describe('spec shape', () => {
  it('drops fields the spec does not declare, at every depth', () => {
    const shaped = toSpecShape('tesTask', {
      executors: [{ image: 'a', command: ['b'], extra: 1 }],
      logs: [{ logs: [{ exit_code: 0, extra: 2 }], outputs: [], extra: 3 }],
      extra: 4,
    } as never);
    expect(shaped).toEqual({ executors: [{ image: 'a', command: ['b'] }], logs: [{ logs: [{ exit_code: 0 }], outputs: [] }] });
  });

  it('omits nulls', () => {
    expect(toSpecShape('tesTask', { name: null, executors: [{ image: 'a', command: ['b'], workdir: null }] } as never)).toEqual({
      executors: [{ image: 'a', command: ['b'] }],
    });
  });

  it("omits an empty array the schema does not require, and keeps a required one (the compliance runner reads logs[0] of whatever array is there)", () => {
    const shaped = toSpecShape('tesTask', {
      inputs: [],
      outputs: [],
      volumes: [],
      executors: [{ image: 'a', command: ['b'] }],
      logs: [],
    } as never);
    expect(shaped).toEqual({ executors: [{ image: 'a', command: ['b'] }] });
    expect(toSpecShape('tesTask', { executors: [], logs: [{ logs: [], outputs: [], system_logs: [] }] } as never)).toEqual({
      executors: [],
      logs: [{ logs: [], outputs: [] }],
    });
  });

  it('keeps every key of a map field', () => {
    expect(toSpecShape('tesTask', { tags: { 'any key': 'v', x: '' }, executors: [] } as never)).toEqual({
      tags: { 'any key': 'v', x: '' },
      executors: [],
    });
  });

  it('follows allOf for service-info', () => {
    const shaped = toSpecShape('tesServiceInfo', {
      id: 'i',
      name: 'n',
      type: { group: 'org.ga4gh', artifact: 'tes', version: '1.1.0', extra: 1 },
      organization: { name: 'o', url: 'https://o' },
      version: '1',
      storage: ['s3://b/'],
      tesResources_backend_parameters: [],
      unknown: true,
    } as never) as { type: unknown; storage: unknown };
    expect(shaped).not.toHaveProperty('unknown');
    expect(shaped.type).toEqual({ group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' });
    expect(shaped.storage).toEqual(['s3://b/']);
  });
});
