/**
 * Workflow engines with a local work directory against the local stack (TES_LOCAL_FILE_DIRS), end
 * to end: a task shaped exactly as Nextflow's TES executor (nf-ga4gh TesTaskHandler) sends it, with
 * bare host paths and its own .command.run wrapper, and the real cwl-tes CLI (from PyPI, in the
 * project's .venv) running a CommandLineTool with file:// storage. What each leaves in its work
 * directory on the host is what the engine reads next.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesTask } from '../lambdas/domain/tes.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { startTestStack } from './support/local-stack.js';
import { pythonWithClients } from './support/python-clients.js';
import { stackClient, TesHttp } from './support/target.js';
import { RUN_ID, waitForTerminal } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';

const exec = promisify(execFile);

let stack: LocalStack;
let tes: TesHttp;
let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'tes-engines-'));
  stack = await startTestStack({ port: 0, env: { TES_LOCAL_FILE_DIRS: `${base}=readwrite` } });
  tes = await stackClient(stack);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await rm(base, { recursive: true, force: true });
});

const systemLogs = (t: TesTask) => t.logs?.map((l) => l.system_logs?.join('\n') ?? '').join('\n') ?? '';

/** What Nextflow's wrapper does, in the shell the test image has: the script's streams to files, its exit code to .exitcode. */
const COMMAND_RUN = `#!/bin/bash
# NEXTFLOW TASK: COUNT (1)
set -e
set -u
NXF_DEBUG=\${NXF_DEBUG:=0}; [ "$NXF_DEBUG" -gt 1 ] && set -x

on_exit() {
    exit_status=\${nxf_main_ret:=$?}
    printf -- "$exit_status" > /work/.exitcode
    set +u
    exit "$exit_status"
}

nxf_main() {
    trap on_exit EXIT
    cd /work
    set +e
    /bin/bash -ue /work/.command.sh > /work/.command.out 2> /work/.command.err
    nxf_main_ret=$?
    cat /work/.command.out
    cat /work/.command.err >&2
    return $nxf_main_ret
}

nxf_main
`;

/** A work directory laid out as Nextflow lays it: under the work root, two levels of the task hash. */
async function nextflowWorkDir(hash: string, script: string): Promise<string> {
  const work = join(base, 'work', hash.slice(0, 2), hash.slice(2));
  await mkdir(work, { recursive: true });
  await writeFile(join(work, '.command.sh'), `#!/bin/bash -ue\n${script}\n`);
  await writeFile(join(work, '.command.run'), COMMAND_RUN);
  return work;
}

/** The task nf-ga4gh's TesTaskHandler sends for a local work directory: bare host paths as URLs. */
function nextflowTask(work: string, inputs: Record<string, string>): TesTask {
  return {
    name: 'COUNT (1)',
    executors: [
      {
        image: TEST_IMAGE,
        command: ['bash', '-o', 'pipefail', '-c', 'bash /work/.command.run 2>&1 | tee /work/.command.log'],
        workdir: '/work',
      },
    ],
    inputs: [
      { url: join(work, '.command.sh'), path: '/work/.command.sh' },
      { url: join(work, '.command.run'), path: '/work/.command.run' },
      ...Object.entries(inputs).map(([name, url]) => ({ url, path: `/work/${name}` })),
    ],
    outputs: [
      ...['.command.out', '.command.err', '.command.log', '.exitcode'].map((name) => ({ path: `/work/${name}`, url: join(work, name) })),
      { path: '/work/*.count', path_prefix: '/work', url: work },
    ],
    resources: { cpu_cores: 1, ram_gb: 1 },
    tags: { run: RUN_ID },
  };
}

async function run(body: TesTask): Promise<TesTask> {
  const reply = await tes.post<{ id: string }>('/tasks', body);
  expect(reply.status, reply.text).toBe(200);
  return waitForTerminal((path) => tes.get<TesTask>(path), reply.body.id, 120_000);
}

describe('a Nextflow-shaped task with a local work directory', () => {
  it('leaves its outputs, logs and .exitcode 0 in the work directory', async () => {
    await mkdir(join(base, 'data'), { recursive: true });
    await writeFile(join(base, 'data', 'sample.txt'), 'alpha\nbeta\ngamma\n');
    const work = await nextflowWorkDir('3f9a1c0e7d2b5a4f8e6c1d0b9a8f7e6d', 'wc -l < sample.txt > lines.count\ntr a-z A-Z < sample.txt > upper.count\necho counted');
    const done = await run(nextflowTask(work, { 'sample.txt': join(base, 'data', 'sample.txt') }));
    expect(done.state, systemLogs(done)).toBe('COMPLETE');
    expect(done.logs?.[0]?.logs[0]?.exit_code).toBe(0);
    const read = (name: string) => readFile(join(work, name), 'utf8');
    expect(await read('.exitcode')).toBe('0');
    expect(await read('.command.out')).toBe('counted\n');
    expect(await read('.command.err')).toBe('');
    expect(await read('.command.log')).toBe('counted\n');
    expect((await read('lines.count')).trim()).toBe('3');
    expect(await read('upper.count')).toBe('ALPHA\nBETA\nGAMMA\n');
    expect((await readdir(work)).sort()).toEqual(['.command.err', '.command.log', '.command.out', '.command.run', '.command.sh', '.exitcode', 'lines.count', 'upper.count']);
  });

  it('leaves a failing script’s non-zero .exitcode and stderr for Nextflow to read, and ends EXECUTOR_ERROR', async () => {
    const work = await nextflowWorkDir('a07b3c9d1e2f4a5b6c7d8e9f0a1b2c3d', 'echo partial\necho oops >&2\nexit 3');
    const done = await run(nextflowTask(work, {}));
    expect(done.state, systemLogs(done)).toBe('EXECUTOR_ERROR');
    expect(done.logs?.[0]?.logs[0]?.exit_code).toBe(3);
    expect(await readFile(join(work, '.exitcode'), 'utf8')).toBe('3');
    expect(await readFile(join(work, '.command.out'), 'utf8')).toBe('partial\n');
    expect(await readFile(join(work, '.command.err'), 'utf8')).toBe('oops\n');
    expect(systemLogs(done)).toMatch(/outputs\[4\] \(\/work\/\*\.count\): no file matches/);
  });
});

describe('cwl-tes with file:// storage', () => {
  it('runs a CommandLineTool end to end through the real CLI, its outputs coming back through the host directory', async () => {
    const python = pythonWithClients();
    const cwl = join(base, 'cwl');
    for (const dir of ['tmp', 'out', 'final']) await mkdir(join(cwl, dir), { recursive: true });
    await writeFile(join(cwl, 'input.txt'), 'one\ntwo\nthree\nfour\n');
    await writeFile(
      join(cwl, 'count.cwl'),
      [
        'cwlVersion: v1.0',
        'class: CommandLineTool',
        'requirements:',
        '  DockerRequirement:',
        `    dockerPull: ${TEST_IMAGE}`,
        'baseCommand: [sh, -c]',
        'arguments: ["wc -l < $(inputs.infile.path) > count.txt && tr a-z A-Z < $(inputs.infile.path) > upper.txt"]',
        'inputs:',
        '  infile: File',
        'outputs:',
        '  count: {type: File, outputBinding: {glob: count.txt}}',
        '  upper: {type: File, outputBinding: {glob: upper.txt}}',
        '',
      ].join('\n'),
    );
    await writeFile(join(cwl, 'job.yml'), 'infile: {class: File, path: input.txt}\n');
    const cli = join(dirname(python), 'cwl-tes');
    const args = ['--tes', `http://127.0.0.1:${stack.port}`, '--tmpdir-prefix', `${cwl}/tmp/`, '--tmp-outdir-prefix', `${cwl}/out/`, '--outdir', join(cwl, 'final'), join(cwl, 'count.cwl'), join(cwl, 'job.yml')];
    let result: { stdout: string; stderr: string };
    try {
      result = await exec(cli, args, { cwd: cwl, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      throw new Error(`cwl-tes ${args.join(' ')} exited ${e.code}:\n${e.stderr ?? ''}\n${e.stdout ?? ''}`, { cause: error });
    }
    const outputs = JSON.parse(result.stdout) as Record<string, { location: string; size: number }>;
    expect(outputs['count']?.location).toBe(`file://${cwl}/final/count.txt`);
    expect((await readFile(join(cwl, 'final', 'count.txt'), 'utf8')).trim()).toBe('4');
    expect(await readFile(join(cwl, 'final', 'upper.txt'), 'utf8')).toBe('ONE\nTWO\nTHREE\nFOUR\n');
    // It went through this TES: the task it created names the input by its file:// URL and ended COMPLETE.
    const listed = await tes.get<{ tasks: TesTask[] }>('/tasks?view=BASIC&tag_key=CWLDocumentId');
    const task = listed.body.tasks[0];
    expect(task?.state).toBe('COMPLETE');
    expect(task?.inputs?.[0]?.url).toBe(`file://${cwl}/input.txt`);
    expect(task?.outputs?.some((o) => o.type === 'DIRECTORY' && o.url.startsWith(`file://${cwl}/out/`))).toBe(true);
  });
});
