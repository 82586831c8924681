import { describe, expect, it } from 'vitest';
import { InvalidTaskError, type Problem } from './errors.js';
import { acceptTaskRequest } from './task-request.js';

const executor = { image: 'alpine:3', command: ['echo', 'hello'] };
const valid = { executors: [executor] };

function problemsOf(body: unknown): Problem[] {
  try {
    acceptTaskRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTaskError);
    expect((error as InvalidTaskError).status).toBe(400);
    return (error as InvalidTaskError).details ?? [];
  }
  throw new Error('expected the task to be refused');
}

function expectProblem(body: unknown, path: string, message: string | RegExp): void {
  expect(problemsOf(body)).toContainEqual(expect.objectContaining({ path, message: typeof message === 'string' ? message : expect.stringMatching(message) }));
}

describe('CreateTask validation', () => {
  it('accepts a minimal task', () => {
    expect(acceptTaskRequest(valid)).toEqual({ task: valid, warnings: [] });
  });

  it.each([null, [], 'task', 42])('refuses a body that is not an object: %j', (body) => {
    expectProblem(body, '', 'the task must be a JSON object');
  });

  it('requires executors', () => expectProblem({}, 'executors', 'required'));
  it('requires at least one executor', () => expectProblem({ executors: [] }, 'executors', 'must contain at least one executor'));
  it('requires an image', () => expectProblem({ executors: [{ command: ['x'] }] }, 'executors[0].image', 'required'));
  it('refuses an empty image', () => expectProblem({ executors: [{ image: ' ', command: ['x'] }] }, 'executors[0].image', 'must not be empty'));
  it('requires a command', () => expectProblem({ executors: [{ image: 'a' }] }, 'executors[0].command', 'required'));
  it('refuses an empty command', () => expectProblem({ executors: [{ image: 'a', command: [] }] }, 'executors[0].command', 'must not be empty'));
  it('refuses an empty program name', () => expectProblem({ executors: [{ image: 'a', command: [''] }] }, 'executors[0].command[0]', 'must not be empty'));
  it('refuses wrong types with the expected type', () => {
    const problems = problemsOf({ executors: [{ image: 7, command: 'echo' }], resources: { cpu_cores: 'two' } });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'executors[0].image', message: 'must be a string' },
        { path: 'executors[0].command', message: 'must be an array' },
        { path: 'resources.cpu_cores', message: 'must be an integer' },
      ]),
    );
  });
  it('refuses a fractional cpu_cores', () => expectProblem({ ...valid, resources: { cpu_cores: 1.5 } }, 'resources.cpu_cores', 'must be an integer'));
  it('refuses non-positive resources', () => {
    const problems = problemsOf({ ...valid, resources: { cpu_cores: 0, ram_gb: -1, disk_gb: 0 } });
    expect(problems.map((p) => p.path).sort()).toEqual(['resources.cpu_cores', 'resources.disk_gb', 'resources.ram_gb']);
  });
  it('refuses env values that are not strings, naming the variable', () =>
    expectProblem({ executors: [{ ...executor, env: { 'MY.VAR': 1 } }] }, 'executors[0].env["MY.VAR"]', 'must be a string'));

  it.each(['workdir', 'stdin', 'stdout', 'stderr'])('requires an absolute executor %s', (field) => {
    expectProblem({ executors: [{ ...executor, [field]: 'relative/path' }] }, `executors[0].${field}`, 'must be an absolute path');
  });
  it('refuses .. in paths', () =>
    expectProblem({ ...valid, inputs: [{ path: '/data/../etc/passwd', content: 'x' }] }, 'inputs[0].path', /normalized/));

  it('requires an input path', () => expectProblem({ ...valid, inputs: [{ content: 'x' }] }, 'inputs[0].path', 'required'));
  it('refuses a relative input path', () => expectProblem({ ...valid, inputs: [{ path: 'in.txt', content: 'x' }] }, 'inputs[0].path', 'must be an absolute path'));
  it('requires url or content on an input', () => expectProblem({ ...valid, inputs: [{ path: '/in' }] }, 'inputs[0].url', 'required unless content is set'));
  it('refuses an input URL scheme it cannot fetch', () =>
    expectProblem({ ...valid, inputs: [{ path: '/in', url: 'gs://b/k' }] }, 'inputs[0].url', /unsupported URL scheme "gs"/));
  it('refuses a DIRECTORY content input', () =>
    expectProblem({ ...valid, inputs: [{ path: '/in', content: 'x', type: 'DIRECTORY' }] }, 'inputs[0].type', 'must be FILE for a content input'));
  it('accepts s3, http and https inputs, and content', () => {
    const inputs = [
      { path: '/data/a', url: 's3://bucket/key' },
      { path: '/data/b', url: 'https://example.org/x' },
      { path: '/data/c', url: 'http://example.org/x' },
      { path: '/data/d', content: 'hello' },
    ];
    expect(acceptTaskRequest({ ...valid, inputs }).task.inputs).toEqual(inputs);
  });

  it('requires an output url and path', () => {
    const problems = problemsOf({ ...valid, outputs: [{}] });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'outputs[0].url', message: 'required' },
        { path: 'outputs[0].path', message: 'required' },
      ]),
    );
  });
  it('requires outputs to go to S3', () =>
    expectProblem({ ...valid, outputs: [{ path: '/o', url: 'https://example.org/o' }] }, 'outputs[0].url', /unsupported URL scheme "https"/));
  it('requires path_prefix for wildcard outputs', () =>
    expectProblem({ ...valid, outputs: [{ path: '/work/*.bam', url: 's3://bucket/out' }] }, 'outputs[0].path_prefix', 'required when path contains wildcards'));
  it('requires path_prefix to be a prefix of the path', () =>
    expectProblem({ ...valid, outputs: [{ path: '/work/*.bam', path_prefix: '/other', url: 's3://bucket/out' }] }, 'outputs[0].path_prefix', 'must be a prefix of path'));
  it('accepts wildcard outputs with path_prefix', () => {
    const outputs = [{ path: '/work/*.bam', path_prefix: '/work', url: 's3://bucket/out' }];
    expect(acceptTaskRequest({ ...valid, outputs }).task.outputs).toEqual(outputs);
  });
  it('requires absolute volumes', () => expectProblem({ ...valid, volumes: ['/ok', 'vol'] }, 'volumes[1]', 'must be an absolute path'));
  it('refuses an empty tag key', () => expectProblem({ ...valid, tags: { '': 'x' } }, 'tags[""]', 'tag keys must not be empty'));
  it('refuses an unknown file type', () =>
    expectProblem({ ...valid, inputs: [{ path: '/a', url: 's3://bucket/a', type: 'LINK' }] }, 'inputs[0].type', 'must be one of FILE, DIRECTORY'));

  it('lists every problem, not only the first', () => {
    const problems = problemsOf({ executors: [{ image: '', command: [] }, { command: ['x'] }], inputs: [{ path: 'rel' }] });
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['executors[0].image', 'executors[0].command', 'executors[1].image', 'inputs[0].path', 'inputs[0].url']),
    );
  });

  it('names every problem in the message as path: problem', () => {
    expect(() => acceptTaskRequest({ executors: [{ command: ['x'] }] })).toThrow('executors[0].image: required');
  });

  it('ignores client-sent id, state, logs and creation_time, even invalid ones', () => {
    const { task } = acceptTaskRequest({ ...valid, id: 'mine', state: 'BOGUS', logs: 'x', creation_time: 1 });
    expect(task).toEqual(valid);
  });

  it('drops fields the spec does not define', () => {
    const { task } = acceptTaskRequest({ ...valid, cpuCores: 4, executors: [{ ...executor, privileged: true }] });
    expect(task).toEqual(valid);
  });
});

describe('backend_parameters', () => {
  it('keeps supported keys, lower-cased, matched case-insensitively', () => {
    const { task, warnings } = acceptTaskRequest({ ...valid, resources: { backend_parameters: { CPU_Architecture: 'ARM64' } } });
    expect(task.resources?.backend_parameters).toEqual({ cpu_architecture: 'arm64' });
    expect(warnings).toEqual([]);
  });

  it('drops unsupported keys with a warning (not stored, not returned)', () => {
    const { task, warnings } = acceptTaskRequest({ ...valid, resources: { backend_parameters: { VmSize: 'Standard_D4' } } });
    expect(task.resources).toEqual({});
    expect(warnings).toEqual([expect.stringContaining('dropped unsupported key "VmSize"')]);
  });

  it('refuses unsupported keys when backend_parameters_strict is true', () => {
    expectProblem(
      { ...valid, resources: { backend_parameters: { VmSize: 'x' }, backend_parameters_strict: true } },
      'resources.backend_parameters["VmSize"]',
      /unsupported backend parameter/,
    );
  });

  it('refuses a supported key with a bad value', () => {
    expectProblem({ ...valid, resources: { backend_parameters: { max_runtime_seconds: 'soon' } } }, 'resources.backend_parameters["max_runtime_seconds"]', /whole number/);
  });
});

describe('resources Fargate cannot serve', () => {
  it('refuses more than 16 vCPU, 120 GB of memory or 200 GB of disk at CreateTask', () => {
    const problems = problemsOf({ ...valid, resources: { cpu_cores: 64, ram_gb: 512, disk_gb: 1000 } });
    expect(problems.map((p) => p.path)).toEqual(['resources.cpu_cores', 'resources.ram_gb', 'resources.disk_gb']);
    expect(problems[2]?.message).toMatch(/200 GB/);
  });
});

describe('where task files are mounted', () => {
  it('refuses a file directly under /', () =>
    expectProblem({ ...valid, inputs: [{ path: '/in.txt', content: 'x' }] }, 'inputs[0].path', /not directly under \//));
  it('refuses system directories', () => {
    expectProblem({ ...valid, outputs: [{ path: '/etc/passwd', url: 's3://bucket/o' }] }, 'outputs[0].path', /system directory/);
    expectProblem({ ...valid, volumes: ['/usr/local'] }, 'volumes[0]', /system directory/);
  });
  it.each([
    ['/opt', /mounted at \/opt, which holds \/opt\/tes/],
    ['/home', /mounted at \/home, which holds \/home\/tes/],
    ['/opt/tes/app', /mounted under \/opt\/tes/],
  ])('refuses a volume at %s, which would hide what the runtime needs (the staging code on Fargate, the executor home)', (volume, message) =>
    expectProblem({ ...valid, volumes: [volume] }, 'volumes[0]', message));
  it('accepts other directories under /opt and /home', () => {
    expect(() => acceptTaskRequest({ ...valid, volumes: ['/opt/tools', '/home/user'] })).not.toThrow();
  });
  it.each([
    ['the same path twice', [{ path: '/data/a', content: 'x' }, { path: '/data/a', content: 'y' }], /is also the path of inputs\[0\]/],
    ['a path inside a FILE input', [{ path: '/data/a', content: 'x' }, { path: '/data/a/b', content: 'y' }], /is inside \/data\/a, which inputs\[0\] makes a file/],
    ['a FILE input holding an earlier one', [{ path: '/data/a/b', content: 'x' }, { path: '/data/a', content: 'y' }], /is a file, and inputs\[0\] \(\/data\/a\/b\) is inside it/],
  ])('refuses inputs that land on each other (%s) at CreateTask, not at run time', (_what, inputs, message) =>
    expectProblem({ ...valid, inputs }, 'inputs[1].path', message));
  it('accepts a file inside a DIRECTORY input, and inputs side by side', () => {
    expect(() =>
      acceptTaskRequest({ ...valid, inputs: [{ path: '/data/ref', url: 's3://bucket/ref', type: 'DIRECTORY' }, { path: '/data/ref/extra.txt', content: 'x' }, { path: '/data/ab', content: 'y' }] }),
    ).not.toThrow();
  });
  it('accepts /tmp, /data and a workdir', () => {
    expect(() => acceptTaskRequest({ executors: [{ ...executor, workdir: '/work' }], inputs: [{ path: '/tmp/run.sh', content: 'x' }] })).not.toThrow();
  });
  it('refuses a command and env larger than ECS overrides can carry', () =>
    expectProblem({ executors: [{ image: 'a', command: ['sh', '-c', 'x'.repeat(7000)] }] }, 'executors[0]', /limit is 6144/));
});

describe('text the service could not give back as it came', () => {
  it('refuses unpaired surrogates anywhere, keys included, naming where', () => {
    const problems = problemsOf({
      name: 'bad\udc00',
      executors: [{ image: 'alpine', command: ['echo', '\ud800'], env: { ['K\ud800']: 'v' } }],
      tags: { t: 'x\udfff' },
    });
    expect(problems.map((p) => p.path)).toEqual(['name', 'executors[0].command[1]', 'executors[0].env', 'tags.t']);
    expect(problems[0]?.message).toMatch(/unpaired surrogate/);
  });

  it('accepts paired surrogates (emoji and other astral characters)', () => {
    expect(acceptTaskRequest({ ...valid, name: 'run 🧬', tags: { '🧪': '𝔁' } }).task).toMatchObject({ name: 'run 🧬', tags: { '🧪': '𝔁' } });
  });

  it('refuses __proto__ as a key, which no JavaScript object keeps as data', () => {
    const body = JSON.parse('{"executors":[{"image":"a","command":["b"],"env":{"__proto__":"x"}}],"tags":{"__proto__":"y"}}') as unknown;
    expect(problemsOf(body)).toEqual([
      expect.objectContaining({ path: 'executors[0].env.__proto__', message: '"__proto__" is not accepted as a key' }),
      expect.objectContaining({ path: 'tags.__proto__' }),
    ]);
  });

  it('keeps keys named like Object methods in maps, and drops them as unknown task fields', () => {
    const { task } = acceptTaskRequest({ ...valid, toString: 'x', hasOwnProperty: 'y', tags: { constructor: 'c', toString: 't' } });
    expect(Object.keys(task)).toEqual(['executors', 'tags']);
    expect(task.tags).toEqual({ constructor: 'c', toString: 't' });
  });
});

describe('nothing of a task can be read as something else', () => {
  it.each([
    'ubuntu',
    'ubuntu:24.04',
    'quay.io/biocontainers/samtools:1.19--h50ea8bc_0',
    'registry.example.org:5000/team/tool',
    'localhost/tes-test:1',
    '[::1]:5000/x:y',
    `alpine@sha256:${'a'.repeat(64)}`,
    `public.ecr.aws/docker/library/alpine:3.20@sha256:${'0'.repeat(64)}`,
  ])('admits the image reference %s', (image) => {
    expect(acceptTaskRequest({ executors: [{ image, command: ['true'] }] }).task.executors[0]?.image).toBe(image);
  });

  it.each([
    '--volume=/:/host',
    '-v',
    '--privileged',
    'alpine --privileged',
    'Alpine',
    '/etc/passwd',
    '../x',
    'alpine:',
    'alpine:-tag',
    'alpine@sha256:abc',
    'a//b',
    'alpine\n',
    `x${'/y'.repeat(130)}`,
  ])('refuses %j as an image, naming the rule', (image) => {
    expect(problemsOf({ executors: [{ image, command: ['true'] }] })).toContainEqual(expect.objectContaining({ path: 'executors[0].image', rule: 'image_reference' }));
  });

  it('refuses NUL in argv, and env names or values no environment can hold', () => {
    const problems = problemsOf({ executors: [{ image: 'a', command: ['echo', 'a\u0000--b'], env: { 'A=B': 'x', OK: 'v\u0000--bind', '': 'y' } }] });
    expect(problems.map((p) => [p.path, p.rule])).toEqual(
      expect.arrayContaining([
        ['executors[0].command[1]', 'argv_and_env'],
        ['executors[0].env["A=B"]', 'argv_and_env'],
        ['executors[0].env.OK', 'argv_and_env'],
      ]),
    );
  });

  it('admits env names with dots or dashes, which Java and Spring use', () => {
    expect(acceptTaskRequest({ executors: [{ image: 'a', command: ['x'], env: { 'spring.profiles.active': 'p', 'A-B': '' } }] }).task.executors[0]?.env).toEqual({
      'spring.profiles.active': 'p',
      'A-B': '',
    });
  });

  it.each(['/data\n/x', '/data/a\u0007'])('refuses control characters in paths: %j', (path) => {
    expectProblem({ ...valid, volumes: [path] }, 'volumes[0]', /control characters/);
  });

  it.each(['/data,ro', '/data:/host', '/da"ta'])('refuses a mounted directory a runtime would split: %j', (volume) => {
    expect(problemsOf({ ...valid, volumes: [volume] })).toContainEqual(expect.objectContaining({ path: 'volumes[0]', rule: 'normalized_paths' }));
  });
});

describe('documents nested deeper than any task needs', () => {
  const nested = (depth: number) => JSON.parse(`{"executors":[{"image":"alpine","command":["true"]}],"tags":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`) as unknown;

  it.each([100, 3000, 20000])('refuses %i levels with a 400 naming the limit, where walking it would overflow the stack', (depth) => {
    const error = (() => {
      try {
        acceptTaskRequest(nested(depth));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidTaskError);
    expect((error as InvalidTaskError).details).toEqual([{ path: '', message: 'the document nests arrays and objects more than 64 levels deep' }]);
  });

  it('reads a document within the limit as usual (here: a tag that is not a string)', () => {
    expect(() => acceptTaskRequest(nested(50))).toThrow(/tags\.a: must be a string/);
  });
});

describe('file:// URLs and bare paths', () => {
  const local = { localDirs: [{ path: '/srv/tes', access: 'readwrite' as const, adminOnly: false }] };
  const refusal = (body: unknown, storage: { localDirs?: typeof local.localDirs } = {}) => {
    try {
      acceptTaskRequest(body, undefined, storage);
    } catch (error) {
      return (error as InvalidTaskError).details ?? [];
    }
    return [];
  };

  it('are refused in the cloud, saying they name the server’s own disk', () => {
    expect(refusal({ ...valid, inputs: [{ path: '/in', url: 'file:///etc/passwd' }] })).toEqual([
      { path: 'inputs[0].url', message: "a file:// URL names a file on the server's own disk; this service stages only s3:// URLs (and http(s) inputs)" },
    ]);
    expect(refusal({ ...valid, outputs: [{ path: '/o', url: '/home/me/work/.exitcode' }] })).toEqual([
      { path: 'outputs[0].url', message: "a bare path names a file on the server's own disk; this service stages only s3:// URLs (and http(s) inputs)" },
    ]);
  });

  it('are refused locally without TES_LOCAL_FILE_DIRS, naming the variable', () => {
    expect(refusal({ ...valid, inputs: [{ path: '/in', url: '/srv/tes/x' }] }, { localDirs: [] })[0]?.message).toMatch(/^a bare path names a file on this machine's disk, which tasks may use only in the directories TES_LOCAL_FILE_DIRS names/);
  });

  it('are accepted locally with host directories when well-formed, and refused with the reason when not', () => {
    expect(refusal({ ...valid, inputs: [{ path: '/in/a', url: '/srv/tes/x' }, { path: '/in/b', url: 'file:///srv/tes/a%20b' }], outputs: [{ path: '/out/o', url: 'file://localhost/srv/tes/o' }] }, local)).toEqual([]);
    const problems = refusal(
      {
        ...valid,
        inputs: [
          { path: '/a', url: 'file://otherhost/srv/tes/x' },
          { path: '/b', url: '/srv/tes/../etc/passwd' },
          { path: '/c', url: 'srv/tes/x' },
          { path: '/d', url: 'file:///srv/tes/a%00b' },
        ],
      },
      local,
    );
    expect(problems).toEqual([
      { path: 'inputs[0].url', message: expect.stringMatching(/names the host "otherhost"/) },
      { path: 'inputs[1].url', message: expect.stringMatching(/no '\.' or '\.\.' segments/) },
      { path: 'inputs[2].url', message: 'must be a URL with a scheme (s3://, http://, https://, file://) or an absolute path' },
      { path: 'inputs[3].url', message: expect.stringMatching(/control characters/) },
    ]);
  });

  it('keep the cloud’s message for a relative path', () => {
    expect(refusal({ ...valid, inputs: [{ path: '/in', url: 'data/x.txt' }] })).toEqual([{ path: 'inputs[0].url', message: 'must be a URL with a scheme (s3://, http://, https://)' }]);
  });
});
