import { describe, expect, it } from 'vitest';
import { allows, allowsPath, hostFilesRefused, localDirAnchor, ownerKey, parseLocalDirs, scopesOf, storageFor, storagePolicyFromEnv, storageProblems } from './storage-policy.js';
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

describe('host directories (TES_LOCAL_FILE_DIRS, local stack only)', () => {
  const local = {
    ...storagePolicyFromEnv({}, 'tes-local'),
    localDirs: parseLocalDirs('/srv/tes/{owner}=readwrite, /srv/reference, /srv/shared/=read@admin, /srv/a=b=readwrite'),
  };

  it('reads a directory without = as read-only, keeps {owner} and @admin, and takes the access after the last =', () => {
    expect(local.localDirs).toEqual([
      { path: '/srv/tes/{owner}', access: 'readwrite', adminOnly: false },
      { path: '/srv/reference', access: 'read', adminOnly: false },
      { path: '/srv/shared', access: 'read', adminOnly: true },
      { path: '/srv/a=b', access: 'readwrite', adminOnly: false },
    ]);
    expect(localDirAnchor({ path: '/srv/tes/{owner}/work' })).toBe('/srv/tes');
    expect(localDirAnchor({ path: '/{owner}' })).toBe('/');
    expect(localDirAnchor({ path: '/srv/reference' })).toBe('/srv/reference');
  });

  it.each([
    ['srv/tes=read', /absolute directory/],
    ['/=readwrite', /whole disk/],
    ['/srv/tes=write', /must be \/dir, \/dir=read or \/dir=readwrite/],
    ['/srv/tes=', /must be \/dir/],
    ['/srv/../etc=read', /normalized/],
    ['/srv//tes=read', /normalized/],
    ['/srv/./tes', /normalized/],
    ['/srv/{owner}/{owner}=read', /\{owner\} once/],
    ['/srv/u-{owner}=read', /as a whole segment/],
    ['/srv/{user}=read', /no placeholder but \{owner\}/],
    ['/srv/a\nb=read', /control characters/],
  ])('refuses the entry %j', (entry, message) => {
    expect(() => parseLocalDirs(entry)).toThrow(message);
    expect(() => parseLocalDirs(entry)).toThrow(/^TES_LOCAL_FILE_DIRS: /);
  });

  it("lists a caller's directories as file:// URLs after the buckets, {owner} as their owner key, admin ones to admins only", () => {
    expect(storageFor(local, alice)).toEqual(['s3://tes-local/users/alice/', 'file:///srv/tes/alice/', 'file:///srv/reference/', 'file:///srv/a%3Db/']);
    expect(storageFor(local, admin)).toContain('file:///srv/shared/');
    expect(storageFor(local, { owner: 'auth0|x', admin: false })[1]).toMatch(/^file:\/\/\/srv\/tes\/~[0-9a-f]{32}\/$/);
    expect(storageFor(local, undefined).some((url) => url.startsWith('file:'))).toBe(false);
  });

  it.each([
    ['read', '/srv/tes/alice/in.txt', true],
    ['readwrite', '/srv/tes/alice/work/out', true],
    ['read', '/srv/tes/bob/in.txt', false],
    ['read', '/srv/tes/alice', false],
    ['read', '/srv/tes/alice/', true],
    ['read', '/srv/tes/alicex/in.txt', false],
    ['read', '/srv/tes/alice/../bob/x', false],
    ['read', '/srv/tes/alice//x', false],
    ['read', '/srv/reference/hg38.fa', true],
    ['readwrite', '/srv/reference/hg38.fa', false],
    ['read', '/srv/shared/x', false],
    ['read', '/etc/passwd', false],
    ['read', 'srv/reference/hg38.fa', false],
  ] as const)('%s %s → %s', (access, path, allowed) => {
    expect(allowsPath(scopesOf(local, alice), access, path)).toBe(allowed);
  });

  it('refuses host URLs outside the caller’s directories and outputs into a read-only one, with rule storage_scope', () => {
    const task = run({
      inputs: [
        { path: '/in/a', url: '/srv/tes/alice/a.txt' },
        { path: '/in/b', url: 'file:///srv/tes/bob/b.txt' },
        { path: '/in/r', url: 'file://localhost/srv/reference', type: 'DIRECTORY' },
        { path: '/in/all', url: '/srv/tes', type: 'DIRECTORY' },
        { path: '/in/enc', url: 'file:///srv/tes/alice%2F..%2Fbob/b.txt' },
      ],
      outputs: [
        { path: '/out/a', url: '/srv/tes/alice/out/a' },
        { path: '/out/r', url: '/srv/reference/out', type: 'DIRECTORY' },
        { path: '/out/*.txt', path_prefix: '/out', url: 'file:///srv/tes/alice' },
        { path: '/out/*.txt', path_prefix: '/out', url: '/srv/tes' },
      ],
    });
    const problems = storageProblems(task, local, scopesOf(local, alice));
    expect(problems.map((p) => p.path)).toEqual(['inputs[1].url', 'inputs[3].url', 'outputs[1].url', 'outputs[3].url']);
    expect(problems.every((p) => p.rule === 'storage_scope')).toBe(true);
    expect(problems[0]?.message).toBe(
      "file:///srv/tes/bob/b.txt is outside what this caller's tasks may read (file:///srv/tes/alice/, file:///srv/reference/, file:///srv/a%3Db/) (storage rule storage_scope)",
    );
    expect(problems[2]?.message).toContain('may write (file:///srv/tes/alice/, file:///srv/a%3Db/)');
  });

  it('says why file URLs are refused where there are no host directories: in the cloud, and locally without the variable', () => {
    expect(hostFilesRefused({})).toMatch(/server's own disk; this service stages only s3:\/\/ URLs \(and http\(s\) inputs\)/);
    expect(hostFilesRefused({ localDirs: [] })).toMatch(/TES_LOCAL_FILE_DIRS names, and it names none here/);
    expect(hostFilesRefused(local)).toBeUndefined();
    // Without host directories no host path lies in any scope, whatever reaches the check.
    const cloud = storagePolicyFromEnv({ TES_LOCAL_FILE_DIRS: '/srv/tes=readwrite' }, 'tes-service');
    expect(cloud.localDirs).toBeUndefined();
    expect(storageProblems(run({ inputs: [{ path: '/in/a', url: '/srv/tes/a' }] }), cloud, scopesOf(cloud, alice))).toHaveLength(1);
  });
});
