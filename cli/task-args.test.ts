import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseInput, parseKeyValue, parseOutput, taskFromDocument, taskFromOptions } from './task-args.js';

describe('parseKeyValue', () => {
  it('splits at the first =, so values may hold = themselves', () => {
    expect(parseKeyValue('A=1', '--env')).toEqual(['A', '1']);
    expect(parseKeyValue('URL=a=b?c=d', '--env')).toEqual(['URL', 'a=b?c=d']);
    expect(parseKeyValue('EMPTY=', '--env')).toEqual(['EMPTY', '']);
  });

  it('gives no value for a key alone, and refuses a missing key', () => {
    expect(parseKeyValue('K', '--tag')).toEqual(['K', undefined]);
    expect(() => parseKeyValue('=v', '--tag')).toThrow(/--tag takes KEY=VALUE/);
  });
});

describe('parseInput (URL:PATH)', () => {
  it('splits at the last colon that starts a path, whatever colons the URL holds', () => {
    expect(parseInput('s3://bucket/in.txt:/data/in.txt')).toEqual({ url: 's3://bucket/in.txt', path: '/data/in.txt', type: 'FILE' });
    expect(parseInput('https://files.example:8443/a:b.txt:/data/ab.txt')).toEqual({ url: 'https://files.example:8443/a:b.txt', path: '/data/ab.txt', type: 'FILE' });
  });

  it('reads a trailing slash as a directory', () => {
    expect(parseInput('s3://bucket/ref/:/data/ref')).toEqual({ url: 's3://bucket/ref/', path: '/data/ref', type: 'DIRECTORY' });
    expect(parseInput('s3://bucket/ref:/data/ref/')).toEqual({ url: 's3://bucket/ref', path: '/data/ref', type: 'DIRECTORY' });
  });

  it('refuses what has no URL or no path', () => {
    for (const bad of ['s3://bucket/in.txt', '/data/in.txt', 'in.txt:/data/in.txt', '']) expect(() => parseInput(bad), bad).toThrow(/--input takes URL:PATH/);
  });
});

describe('parseOutput (PATH:URL)', () => {
  it('splits at the first colon', () => {
    expect(parseOutput('/data/out.txt:s3://bucket/out.txt')).toEqual({ path: '/data/out.txt', url: 's3://bucket/out.txt', type: 'FILE' });
  });

  it('reads a trailing slash as a directory', () => {
    expect(parseOutput('/data/results/:s3://bucket/results/')).toEqual({ path: '/data/results', url: 's3://bucket/results/', type: 'DIRECTORY' });
  });

  it('gives a wildcard its path_prefix: the directory before the first wildcard', () => {
    expect(parseOutput('/data/run*/log?.txt:s3://bucket/logs/')).toEqual({ path: '/data/run*/log?.txt', path_prefix: '/data/', url: 's3://bucket/logs/', type: 'FILE' });
  });

  it('refuses a relative path or a missing URL', () => {
    for (const bad of ['data/out.txt:s3://b/o', '/data/out.txt', '/data/out.txt:bucket/o']) expect(() => parseOutput(bad), bad).toThrow(/--output takes PATH:URL/);
  });
});

describe('taskFromOptions', () => {
  it('maps every option onto the task document', () => {
    const task = taskFromOptions(
      {
        image: 'alpine:3',
        name: 'hello',
        workdir: '/work',
        env: ['A=1', 'B=x=y'],
        cpu: '2',
        ram: '1.5',
        disk: '10',
        tag: ['project=demo', 'flag'],
        input: ['s3://b/in.txt:/work/in.txt'],
        output: ['/work/out.txt:s3://b/out.txt'],
      },
      ['sh', '-c', 'echo hi; exit 3'],
    );
    expect(task).toEqual({
      name: 'hello',
      tags: { project: 'demo', flag: '' },
      resources: { cpu_cores: 2, ram_gb: 1.5, disk_gb: 10 },
      inputs: [{ url: 's3://b/in.txt', path: '/work/in.txt', type: 'FILE' }],
      outputs: [{ path: '/work/out.txt', url: 's3://b/out.txt', type: 'FILE' }],
      executors: [{ image: 'alpine:3', command: ['sh', '-c', 'echo hi; exit 3'], workdir: '/work', env: { A: '1', B: 'x=y' } }],
    });
  });

  it('keeps the command exactly, options of its own and -- included', () => {
    // commander hands over everything after `--` (or after the first word) as the command.
    expect(taskFromOptions({ image: 'alpine' }, ['grep', '--', '-v', '--image']).executors[0]?.command).toEqual(['grep', '--', '-v', '--image']);
  });

  it('leaves out what was not given', () => {
    expect(taskFromOptions({ image: 'alpine', env: [], tag: [] }, ['true'])).toEqual({ executors: [{ image: 'alpine', command: ['true'] }] });
  });

  it("takes --env K's value from this environment, as docker run -e K does", () => {
    expect(taskFromOptions({ image: 'alpine', env: ['HOME'] }, ['env'], { HOME: '/root' }).executors[0]?.env).toEqual({ HOME: '/root' });
    expect(() => taskFromOptions({ image: 'alpine', env: ['NOPE'] }, ['env'], {})).toThrow(/--env NOPE: no value given and NOPE is not set here/);
  });

  it('needs an image and a command', () => {
    expect(() => taskFromOptions({}, ['true'])).toThrow(/--image is required/);
    expect(() => taskFromOptions({ image: 'alpine' }, [])).toThrow(/after the options/);
  });

  it('refuses resources that are not numbers above 0, and fractional cores', () => {
    for (const [option, value] of [['cpu', '1.5'], ['cpu', '0'], ['ram', 'lots'], ['disk', '-1'], ['ram', '']] as const) {
      expect(() => taskFromOptions({ image: 'alpine', [option]: value }, ['true']), `${option} ${value}`).toThrow(UsageError);
    }
  });
});

describe('taskFromDocument (--file)', () => {
  const document = JSON.stringify({ name: 'from-file', tags: { a: '1' }, executors: [{ image: 'alpine', command: ['true'] }] });

  it('is the task as written, with --name and --tag put on it', () => {
    expect(taskFromDocument(document, 'task.json', { name: 'renamed', tag: ['b=2'] }, [])).toEqual({ name: 'renamed', tags: { a: '1', b: '2' }, executors: [{ image: 'alpine', command: ['true'] }] });
  });

  it('refuses the options that describe a task beside it, naming them', () => {
    expect(() => taskFromDocument(document, 'task.json', { image: 'alpine', env: ['A=1'] }, [])).toThrow(/--image, --env cannot go with it/);
    expect(() => taskFromDocument(document, 'task.json', {}, ['echo'])).toThrow(/a command cannot go with it/);
  });

  it('refuses what is not a JSON object, naming where it came from', () => {
    expect(() => taskFromDocument('{', 'the task on stdin', {}, [])).toThrow(/the task on stdin is not JSON/);
    expect(() => taskFromDocument('[1]', 'task.json', {}, [])).toThrow(/task.json must hold a TES task/);
  });
});
