import { describe, expect, it } from 'vitest';
import { ADMISSION_SETTINGS, admissionFromEnv, DEFAULT_ADMISSION, type AdmissionPolicy } from './admission.js';
import { InvalidTaskError, type Problem } from './errors.js';
import { acceptTaskRequest } from './task-request.js';

const executor = { image: 'alpine:3', command: ['echo', 'hello'] };
const valid = { executors: [executor] };

function refusals(body: unknown, policy: Partial<AdmissionPolicy> = {}): Problem[] {
  try {
    acceptTaskRequest(body, { ...DEFAULT_ADMISSION, ...policy });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTaskError);
    return (error as InvalidTaskError).details ?? [];
  }
  return [];
}

describe('the image allowlist', () => {
  const policy = { allowedImagePrefixes: ['public.ecr.aws/', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/'] };
  it('admits any image when the list is empty', () => {
    expect(refusals({ executors: [{ image: 'docker.io/anything', command: ['a'] }] })).toEqual([]);
  });
  it('admits images under an allowed prefix', () => {
    expect(refusals({ executors: [{ image: 'public.ecr.aws/docker/library/alpine:3', command: ['true'] }] }, policy)).toEqual([]);
  });
  it('refuses any other image, naming the executor, the rule and the allowed prefixes', () => {
    const problems = refusals({ executors: [{ image: 'public.ecr.aws/x', command: ['a'] }, { image: 'docker.io/evil/miner', command: ['a'] }] }, policy);
    expect(problems).toEqual([
      { path: 'executors[1].image', rule: 'allowed_image_prefixes', message: expect.stringContaining('not from an allowed registry (allowed: public.ecr.aws/') },
    ]);
  });
});

describe('resource limits', () => {
  it('refuses a task asking for more than the operator allows, naming each field and rule', () => {
    const policy = { maxCpuCores: 4, maxRamGb: 16, maxDiskGb: 50 };
    expect(refusals({ ...valid, resources: { cpu_cores: 4, ram_gb: 16, disk_gb: 50 } }, policy)).toEqual([]);
    expect(refusals({ ...valid, resources: { cpu_cores: 8, ram_gb: 32, disk_gb: 100 } }, policy)).toEqual([
      { path: 'resources.cpu_cores', rule: 'max_cpu_cores', message: "8 exceeds this service's limit of 4 (admission rule max_cpu_cores)" },
      { path: 'resources.ram_gb', rule: 'max_ram_gb', message: "32 exceeds this service's limit of 16 (admission rule max_ram_gb)" },
      { path: 'resources.disk_gb', rule: 'max_disk_gb', message: "100 exceeds this service's limit of 50 (admission rule max_disk_gb)" },
    ]);
  });

  it('limits the executors per task', () => {
    const three = { executors: [executor, executor, executor] };
    expect(refusals(three, { maxExecutors: 3 })).toEqual([]);
    expect(refusals(three, { maxExecutors: 2 })).toEqual([expect.objectContaining({ path: 'executors', rule: 'max_executors' })]);
    expect(refusals({ executors: Array.from({ length: 101 }, () => executor) })).toEqual([
      expect.objectContaining({ path: 'executors', message: expect.stringContaining('101 executors exceed') }),
    ]);
  });

  it("limits one executor's command and env, never above what ECS overrides carry", () => {
    const big = { image: 'a', command: ['sh', '-c', 'x'.repeat(1000)], env: { A: 'y'.repeat(1000) } };
    expect(refusals({ executors: [executor, big] })).toEqual([]);
    expect(refusals({ executors: [executor, big] }, { maxExecutorBytes: 1500 })).toEqual([
      expect.objectContaining({ path: 'executors[1]', rule: 'max_executor_bytes', message: expect.stringMatching(/take \d+ bytes; the limit is 1500/) }),
    ]);
    expect(refusals({ executors: [{ image: 'a', command: ['sh', '-c', 'x'.repeat(7000)] }] })).toEqual([
      expect.objectContaining({ path: 'executors[0]', message: expect.stringContaining('the limit is 6144') }),
    ]);
  });

  it("limits one input's content", () => {
    const task = (bytes: number) => ({ ...valid, inputs: [{ path: '/data/a', content: 'é'.repeat(bytes / 2) }] });
    expect(refusals(task(1024), { maxContentBytes: 1024 })).toEqual([]);
    expect(refusals(task(1026), { maxContentBytes: 1024 })).toEqual([
      expect.objectContaining({ path: 'inputs[0].content', rule: 'max_content_bytes', message: expect.stringContaining('takes 1026 bytes; the limit is 1024') }),
    ]);
    expect(refusals(task(4 * 1024 * 1024 + 2))).toEqual([expect.objectContaining({ path: 'inputs[0].content', rule: 'max_content_bytes' })]);
  });
});

describe('paths', () => {
  it.each([
    ['inputs[0].path', { inputs: [{ path: 'data/in', content: 'x' }] }, 'normalized_paths', /absolute/],
    ['outputs[0].path', { outputs: [{ path: '/data/../etc/out', url: 's3://bucket/o' }] }, 'normalized_paths', /normalized/],
    ['volumes[0]', ['/usr/local'], 'reserved_paths', /system directory/],
    ['inputs[0].path', { inputs: [{ path: '/tes-scratch/x', content: 'x' }] }, 'reserved_paths', /runtime reserves/],
    ['outputs[0].path', { outputs: [{ path: '/opt/tes/main.mjs', url: 's3://bucket/o' }] }, 'reserved_paths', /under \/opt\/tes/],
    ['executors[0].workdir', { executors: [{ ...executor, workdir: '/home/tes' }] }, 'reserved_paths', /under \/home\/tes/],
    ['inputs[0].path', { inputs: [{ path: '/in', content: 'x' }] }, 'reserved_paths', /not directly under \//],
  ])('refuses %s outside what tasks may use', (path, extra, rule, message) => {
    const body = Array.isArray(extra) ? { ...valid, volumes: extra } : { ...valid, ...extra };
    expect(refusals(body)).toContainEqual({ path, rule, message: expect.stringMatching(message) });
  });
});

describe('the policy', () => {
  it('is read from one set of variables, each checked', () => {
    expect(admissionFromEnv({})).toEqual(DEFAULT_ADMISSION);
    expect(
      admissionFromEnv({
        TES_ALLOWED_IMAGE_PREFIXES: ' public.ecr.aws/ , quay.io/biocontainers/ ',
        TES_MAX_CPU_CORES: '4',
        TES_MAX_RAM_GB: '8.5',
        TES_MAX_DISK_GB: '50',
        TES_MAX_EXECUTORS: '10',
        TES_MAX_EXECUTOR_BYTES: '2048',
        TES_MAX_CONTENT_BYTES: '65536',
      }),
    ).toEqual({
      allowedImagePrefixes: ['public.ecr.aws/', 'quay.io/biocontainers/'],
      maxCpuCores: 4,
      maxRamGb: 8.5,
      maxDiskGb: 50,
      maxExecutors: 10,
      maxExecutorBytes: 2048,
      maxContentBytes: 65536,
    });
    expect(() => admissionFromEnv({ TES_MAX_RAM_GB: 'lots' })).toThrow('TES_MAX_RAM_GB must be a positive number, not "lots"');
    expect(() => admissionFromEnv({ TES_MAX_EXECUTORS: '2.5' })).toThrow('TES_MAX_EXECUTORS must be a positive integer');
    expect(() => admissionFromEnv({ TES_MAX_EXECUTOR_BYTES: '10000' })).toThrow('TES_MAX_EXECUTOR_BYTES must be at most 6144');
  });

  it('has every setting documented in the README', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [rule, setting] of Object.entries(ADMISSION_SETTINGS)) {
      expect(readme, rule).toContain(`\`${rule}\``);
      expect(readme, rule).toContain(setting.env);
      expect(readme, rule).toContain(setting.context);
    }
  });
});
