import { describe, expect, it } from 'vitest';
import { allows, ownerKey, scopesOf, storageFor, storagePolicyFromEnv, storageProblems } from './storage-policy.js';
import type { TesTask } from './tes.js';

const policy = storagePolicyFromEnv(
  { TES_STORAGE_RULES: 's3://lab-data/{owner}/=readwrite, s3://reference/genomes/=read, s3://lab-data/=readwrite@admin' },
  'tes-service',
);
const alice = { owner: 'alice', admin: false };
const admin = { owner: 'root-person', admin: true };
const run = (extra: Partial<TesTask>): TesTask => ({ executors: [{ image: 'alpine', command: ['true'] }], ...extra });

describe('owner keys', () => {
  it('keep a plain subject and hash any other, so that no two owners share a prefix and none names another path', () => {
    expect(ownerKey('alice')).toBe('alice');
    expect(ownerKey('3f1c2a9e-0b7d-4c1e-9d51-7a0e6e1f2b3c')).toBe('3f1c2a9e-0b7d-4c1e-9d51-7a0e6e1f2b3c');
    for (const odd of ['..', '.', 'a/b', 'auth0|123', 'alice/../bob', '', 'Ä', 'x'.repeat(65), '~abc']) {
      expect(ownerKey(odd)).toMatch(/^~[0-9a-f]{32}$/);
    }
    expect(ownerKey('a/b')).not.toBe(ownerKey('a|b'));
    expect(ownerKey('auth0|123')).toBe(ownerKey('auth0|123'));
  });
});

describe('the storage policy', () => {
  it("gives each user their own prefix of the service bucket, the operator's rules, and admin rules only to admins", () => {
    expect(storageFor(policy, alice)).toEqual(['s3://tes-service/users/alice/', 's3://lab-data/alice/', 's3://reference/genomes/']);
    expect(storageFor(policy, admin)).toEqual(['s3://tes-service/users/root-person/', 's3://lab-data/root-person/', 's3://reference/genomes/', 's3://lab-data/']);
    expect(storageFor(policy, undefined)).toEqual(['s3://tes-service/users/{owner}/', 's3://lab-data/{owner}/', 's3://reference/genomes/']);
  });

  it.each([
    ['read', 'tes-service', 'users/alice/in.txt', true],
    ['readwrite', 'tes-service', 'users/alice/out/x', true],
    ['read', 'tes-service', 'users/bob/in.txt', false],
    ['read', 'tes-service', 'users/alicex/in.txt', false],
    ['read', 'tes-service', 'users/alice', false],
    ['read', 'tes-service', 'tasks/01abc/inputs/0/content', false],
    ['read', 'tes-service', 'users/alice/../bob/x', false],
    ['read', 'tes-service', 'users/alice/./x', false],
    ['read', 'reference', 'genomes/hg38.fa', true],
    ['readwrite', 'reference', 'genomes/hg38.fa', false],
    ['read', 'lab-data', 'bob/x', false],
    ['read', 'lab-data', 'alice/x', true],
    ['read', 'other', 'users/alice/x', false],
  ] as const)('%s s3://%s/%s → %s', (access, bucket, key, allowed) => {
    expect(allows(scopesOf(policy, alice), access, bucket, key)).toBe(allowed);
  });

  it('refuses every URL outside the caller’s scopes with rule storage_scope naming the field, DIRECTORY and wildcard prefixes included', () => {
    const task = run({
      inputs: [
        { path: '/in/a', url: 's3://tes-service/users/alice/a' },
        { path: '/in/b', url: 's3://tes-service/users/bob/b' },
        { path: '/in/all', url: 's3://tes-service/', type: 'DIRECTORY' },
        { path: '/in/users', url: 's3://tes-service/users', type: 'DIRECTORY' },
        { path: '/in/ref', url: 's3://reference/genomes', type: 'DIRECTORY' },
        { path: '/in/c', content: 'inline' },
        { path: '/in/web', url: 'https://example.org/x' },
      ],
      outputs: [
        { path: '/out/a', url: 's3://tes-service/users/alice/out/a' },
        { path: '/out/ref', url: 's3://reference/genomes/hg38.fa' },
        { path: '/out/tasks', url: 's3://tes-service/tasks', type: 'DIRECTORY' },
        { path: '/out/*.txt', path_prefix: '/out', url: 's3://tes-service/users/ali' },
        { path: '/out/d', url: 's3://lab-data/alice', type: 'DIRECTORY' },
      ],
    });
    const problems = storageProblems(task, policy, scopesOf(policy, alice));
    expect(problems.map((p) => p.path)).toEqual(['inputs[1].url', 'inputs[2].url', 'inputs[3].url', 'outputs[1].url', 'outputs[2].url', 'outputs[3].url']);
    expect(problems.every((p) => p.rule === 'storage_scope')).toBe(true);
    expect(problems[0]?.message).toBe(
      "s3://tes-service/users/bob/b is outside what this caller's tasks may read (s3://tes-service/users/alice/, s3://lab-data/alice/, s3://reference/genomes/) (storage rule storage_scope)",
    );
    expect(problems[3]?.message).toContain('may write (s3://tes-service/users/alice/, s3://lab-data/alice/)');
  });

  it('refuses http(s) inputs when they are turned off', () => {
    const off = storagePolicyFromEnv({ TES_HTTP_INPUTS: 'off' }, 'tes-service');
    const problems = storageProblems(run({ inputs: [{ path: '/in/web', url: 'HTTPS://example.org/x' }] }), off, scopesOf(off, alice));
    expect(problems).toEqual([expect.objectContaining({ path: 'inputs[0].url', rule: 'storage_scope', message: expect.stringContaining('TES_HTTP_INPUTS=off') })]);
  });

  it.each([
    ['s3://lab-data/x=read', /must end its prefix with '\/'/],
    ['s3://lab-data/x/=write', /must be s3:\/\/bucket\/prefix\/=read or =readwrite/],
    ['lab-data/x/=read', /must be s3:\/\/bucket/],
    ['s3://Lab_Data/x/=read', /does not name a valid bucket/],
    ['s3://lab-data/../x/=read', /must not hold '\.', '\.\.' or empty segments/],
    ['s3://lab-data/a//b/=read', /empty segments/],
    ['s3://lab-data/{owner}{owner}/=read', /\{owner\} once, as a whole segment/],
    ['s3://lab-data/u-{owner}/=read', /as a whole segment/],
    ['s3://lab-data/{user}/=read', /no placeholder but \{owner\}/],
    ['s3://tes-service/shared/=read', /names the service bucket/],
  ])('refuses the rule %s', (rule, message) => {
    expect(() => storagePolicyFromEnv({ TES_STORAGE_RULES: rule }, 'tes-service')).toThrow(message);
  });

  it('refuses a TES_HTTP_INPUTS that is neither on nor off', () => {
    expect(() => storagePolicyFromEnv({ TES_HTTP_INPUTS: 'yes' }, 'b')).toThrow(/TES_HTTP_INPUTS must be on or off/);
  });
});
