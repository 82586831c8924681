import { readFile } from 'node:fs/promises';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import { TES_STATES, TES_VIEWS } from '../lambdas/domain/tes.js';
import { schemaProblems } from '../lambdas/domain/validation.js';
import { generate } from './generate-tes-types.js';

describe('the TES model generated from the vendored spec', () => {
  it('is up to date: the types and the runtime schema are what the spec generates now', async () => {
    for (const file of await generate()) {
      expect(await readFile(file.path, 'utf8'), `${file.path} is stale: run npm run generate`).toBe(file.content);
    }
  });

  it('takes states and views from the spec', () => {
    expect(TES_STATES).toContain('CANCELING');
    expect(TES_STATES).toContain('PREEMPTED');
    expect(TES_VIEWS).toEqual(['MINIMAL', 'BASIC', 'FULL']);
  });

  it('validates at run time what the generated type declares', () => {
    // A value built against the generated type (the compiler checks it) passes the runtime schema...
    const task: TesTask = {
      name: 'n',
      executors: [{ image: 'a', command: ['b'], env: { K: 'v' }, ignore_error: true }],
      inputs: [{ path: '/p', url: 's3://b/k', type: 'DIRECTORY', streamable: false }],
      outputs: [{ path: '/o/*', path_prefix: '/o', url: 's3://b/o', type: 'FILE' }],
      resources: { cpu_cores: 2, ram_gb: 1.5, disk_gb: 10, preemptible: true, zones: ['z'], backend_parameters: { k: 'v' } },
      volumes: ['/v'],
      tags: { t: '' },
    };
    expect(schemaProblems('tesTask', task)).toEqual([]);
    // ...and what the type forbids, the schema refuses.
    // @ts-expect-error executors is required by the generated type
    const missing: TesTask = { name: 'n' };
    expect(schemaProblems('tesTask', missing)).toEqual([{ path: 'executors', message: 'required' }]);
    expectTypeOf<TesTask['executors'][number]['command']>().toEqualTypeOf<string[]>();
    expectTypeOf<NonNullable<TesTask['resources']>['cpu_cores']>().toEqualTypeOf<number | undefined>();
  });
});
