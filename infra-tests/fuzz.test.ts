/**
 * Schemathesis (the property-based API fuzzer, pinned in infra-tests/clients/requirements.txt)
 * against the local stack with the vendored TES OpenAPI, on a fixed budget with deterministic
 * generation: every operation, positive and negative inputs, then stateful sequences (create a
 * task, read it, cancel it). It asserts that nothing answers 5xx, that every response conforms to
 * the spec's response schemas and content types, that invalid input is refused with a 4xx, and
 * that every error uses the service's documented shape {status, code, message, details?,
 * request_id} (the custom checks in infra-tests/clients/schemathesis_hooks.py).
 *
 * Always the local stack, even with TES_URL set: the fuzzer creates hundreds of tasks, so its
 * workflow is a RecordingWorkflow that runs none of them (no sandbox, no Fargate).
 *
 * TES_FUZZ_SEED=<n> swaps deterministic generation for Hypothesis' random generation with that seed,
 * to explore other inputs by hand; the default run is the same every time.
 */
import { startTestStack } from './support/local-stack.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingWorkflow } from '../lambdas/local/local-workflow.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { mergedTesOpenApi, type OpenApiDocument } from '../scripts/tes-spec.js';
import { pythonWithClients } from './support/python-clients.js';

const run = promisify(execFile);

const REQUIREMENTS = join(import.meta.dirname, 'clients', 'requirements.txt');
const HOOKS = join(import.meta.dirname, 'clients', 'schemathesis_hooks.py');
/** Test cases per operation and phase: about 1,450 requests in all, about a minute on 2 cores. */
const MAX_EXAMPLES = 100;
/** Fewer cases than this means the fuzzer did not really run. */
const MIN_CASES = 5 * MAX_EXAMPLES;

/**
 * Every check Schemathesis has, except these (each does not apply to this API, or cannot be
 * sound for it):
 */
const EXCLUDED_CHECKS = [
  // The spec declares only each operation's 200; the service's 400/404/413 are documented in the
  // README instead. What matters about them, their shape, is the custom check `tes_error_shape`.
  'status_code_conformance',
  // "Schema-valid input must be accepted": the service documents rules the spec cannot express
  // (at least one executor, absolute paths, known URL schemes, page_size as a positive integer,
  // resource ceilings), so schema-valid tasks are rightly a 400.
  'positive_data_acceptance',
  // The local stack runs with auth `none` (one anonymous user, by design); bearer tokens are
  // tested in auth.test.ts. Security parameters are not generated either (see below).
  'ignored_auth',
  // Unknown methods are a 404 NOT_FOUND (API Gateway's $default route, README "Errors"), not a 405
  // with an Allow header; the 404's shape is still checked by `tes_error_shape`.
  'unsupported_method',
  'allow_header_conformance',
];

/** The operations the spec declares, as Schemathesis labels them (`GET /tasks/{id}`). */
function specOperations(spec: OpenApiDocument): string[] {
  const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((method) => methods.has(method))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

interface RecordedCase {
  value: { method: string; path: string };
}
interface RecordedCheck {
  name: string;
  status: string;
  failure_info?: { failure: { code: string; operation: string; title: string; message: string; case_id: string | null } };
}
interface RecordedInteraction {
  request: { method: string; uri: string };
  response?: { status_code: number } | null;
}
interface Recorder {
  label: string;
  cases?: Record<string, RecordedCase>;
  checks?: Record<string, RecordedCheck[]>;
  interactions?: Record<string, RecordedInteraction>;
}

interface FuzzReport {
  /** Distinct test cases sent. */
  cases: number;
  /** Cases per declared operation. */
  perOperation: Map<string, number>;
  /** Responses by status code. */
  statuses: Map<number, number>;
  serverErrors: string[];
  failures: string[];
  /** Scenarios or the run that ended in an error rather than a verdict. */
  errors: string[];
}

/** Reads Schemathesis' NDJSON event stream: every scenario's cases, checks and interactions. */
function readReport(ndjson: string, operations: readonly string[]): FuzzReport {
  const report: FuzzReport = {
    cases: 0,
    perOperation: new Map(operations.map((operation) => [operation, 0])),
    statuses: new Map(),
    serverErrors: [],
    failures: [],
    errors: [],
  };
  const seen = new Set<string>();
  const failures = new Set<string>();
  for (const line of ndjson.split('\n')) {
    if (line.trim() === '') continue;
    const event = JSON.parse(line) as Record<string, unknown>;
    const [kind, payload] = Object.entries(event)[0] ?? [];
    if (kind === 'NonFatalError' || kind === 'FatalError' || kind === 'Interrupted') {
      report.errors.push(`${kind}: ${JSON.stringify(payload).slice(0, 2000)}`);
      continue;
    }
    if (kind !== 'ScenarioFinished') continue;
    const scenario = payload as { status: string; recorder: Recorder; skip_reason?: string | null };
    const recorder = scenario.recorder;
    if (scenario.status === 'error') report.errors.push(`scenario ${recorder.label} ended in an error`);
    for (const [id, recorded] of Object.entries(recorder.cases ?? {})) {
      if (seen.has(id)) continue;
      seen.add(id);
      report.cases += 1;
      const operation = `${recorded.value.method.toUpperCase()} ${recorded.value.path}`;
      const count = report.perOperation.get(operation);
      if (count !== undefined) report.perOperation.set(operation, count + 1);
    }
    for (const [id, interaction] of Object.entries(recorder.interactions ?? {})) {
      const status = interaction.response?.status_code;
      if (status === undefined) continue;
      report.statuses.set(status, (report.statuses.get(status) ?? 0) + 1);
      if (status >= 500) report.serverErrors.push(`${status} for ${interaction.request.method} ${interaction.request.uri} (case ${id})`);
    }
    for (const [id, checks] of Object.entries(recorder.checks ?? {})) {
      for (const check of checks) {
        const failure = check.failure_info?.failure;
        if (check.status !== 'failure' || failure === undefined) continue;
        failures.add(`${failure.code} ${failure.operation}: ${failure.title} (${check.name}, case ${failure.case_id ?? id}): ${failure.message}`);
      }
    }
  }
  report.failures = [...failures];
  return report;
}

/** The excused failures the hooks noted, by reason (distinct cases). */
async function readExcused(file: string): Promise<Map<string, number>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const cases = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const noted = JSON.parse(line) as { reason: string; case_id: string };
    const set = cases.get(noted.reason) ?? new Set<string>();
    set.add(noted.case_id);
    cases.set(noted.reason, set);
  }
  return new Map([...cases].map(([reason, set]) => [reason, set.size]));
}

/** The venv's python with Schemathesis at the pinned version, or an error saying what is missing. */
async function pythonWithSchemathesis(): Promise<string> {
  const pinned = /^schemathesis==(\S+)$/m.exec(await readFile(REQUIREMENTS, 'utf8'))?.[1];
  if (pinned === undefined) throw new Error(`${REQUIREMENTS} does not pin schemathesis (schemathesis==<version>)`);
  const python = pythonWithClients();
  let installed: string;
  try {
    const { stdout } = await run(python, ['-c', 'import importlib.metadata as m; print(m.version("schemathesis"))'], { timeout: 30_000 });
    installed = stdout.trim();
  } catch (error) {
    throw new Error(`schemathesis is not installed in ${python}'s environment; pip install -r ${REQUIREMENTS} should provide it: ${String(error)}`, {
      cause: error,
    });
  }
  if (installed !== pinned) throw new Error(`the fuzz test needs schemathesis ${pinned}, but ${python} has ${installed}`);
  return python;
}

let stack: LocalStack;
let python: string;
let work: string;

beforeAll(async () => {
  python = await pythonWithSchemathesis();
  work = await mkdtemp(join(tmpdir(), 'tes-fuzz-'));
  stack = await startTestStack({ port: 0, workflow: new RecordingWorkflow() });
}, 360_000);

afterAll(async () => {
  await stack?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('Schemathesis fuzzing', () => {
  it('finds no server error, no response off the spec and no error off the documented shape', async () => {
    const spec = await mergedTesOpenApi();
    const base = spec.servers?.[0]?.url ?? '';
    expect(stack.url.endsWith(base) && base !== '', `the stack's URL ${stack.url} ends with the spec's base path ${base}`).toBe(true);
    const operations = specOperations(spec);
    const specFile = join(work, 'tes-openapi.json');
    await writeFile(specFile, JSON.stringify(spec, null, 2));
    const ndjsonFile = join(work, 'schemathesis.ndjson');
    const excusedFile = join(work, 'excused.ndjson');
    const seed = process.env['TES_FUZZ_SEED'];

    const args = [
      '-m', 'schemathesis.cli', 'run', specFile,
      // The stack's base URL already ends in the spec's servers path, /ga4gh/tes/v1.
      '--url', stack.url,
      '--phases', 'examples,coverage,fuzzing,stateful',
      // Positive and negative inputs; negative ones must be refused with a 4xx (negative_data_rejection).
      '--mode', 'all',
      '--checks', 'all',
      '--exclude-checks', EXCLUDED_CHECKS.join(','),
      '--max-examples', String(MAX_EXAMPLES),
      // Deterministic generation (Hypothesis' derandomize: the same inputs every run, no example
      // database); it supersedes --seed, which only TES_FUZZ_SEED uses.
      ...(seed === undefined || seed === '' ? ['--generation-deterministic'] : ['--seed', seed, '--generation-database', 'none']),
      // Auth is `none` here, so generated Authorization headers would only be noise.
      '--generation-with-security-parameters', 'false',
      // One worker: the run stays in one order (and more would only contend on 2 cores).
      '--workers', '1',
      '--request-timeout', '10',
      '--no-color',
      // Show real values in failure reports; nothing here is secret.
      '--output-sanitize', 'false',
      '--report', 'ndjson',
      '--report-ndjson-path', ndjsonFile,
    ];
    const started = Date.now();
    const outcome = await run(python, args, {
      // A scratch directory: no schemathesis.toml is picked up and nothing is written into the repo.
      cwd: work,
      env: { ...process.env, SCHEMATHESIS_HOOKS: HOOKS, TES_FUZZ_EXCUSED_LOG: excusedFile, PYTHONDONTWRITEBYTECODE: '1', NO_COLOR: '1' },
      timeout: 170_000,
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      (result) => ({ ...result, code: 0 }),
      (error: { code?: number | string; stdout?: string; stderr?: string; killed?: boolean }) => {
        if (typeof error.code !== 'number' || error.killed === true) {
          throw new Error(`schemathesis did not finish (${String(error.code)}):\n${error.stderr ?? ''}\n${(error.stdout ?? '').slice(-20_000)}`);
        }
        return { stdout: error.stdout ?? '', stderr: error.stderr ?? '', code: error.code };
      },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    if (!existsSync(ndjsonFile)) {
      throw new Error(`schemathesis wrote no report (exit ${outcome.code}):\n${outcome.stderr}\n${outcome.stdout.slice(-20_000)}`);
    }
    const report = readReport(await readFile(ndjsonFile, 'utf8'), operations);
    const excused = await readExcused(excusedFile);

    const statuses = [...report.statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
    const excusedText = [...excused].map(([reason, count]) => `${count} ${reason}`).join(', ');
    console.log(
      `fuzz: ${report.cases} cases over ${operations.length} operations, ${report.serverErrors.length} server errors ` +
        `(${statuses}; excused: ${excusedText || 'none'}; ${seconds}s, ${seed ? `seed ${seed}` : 'deterministic'})`,
    );
    const problems = report.failures.length + report.serverErrors.length + report.errors.length;
    if (problems > 0 || outcome.code !== 0) {
      // Schemathesis' own failure report has each failing request as a curl command line.
      const failuresSection = outcome.stdout.slice(Math.max(0, outcome.stdout.indexOf('FAILURES')));
      console.error(
        `SCHEMATHESIS_HOOKS=${HOOKS} ${python} ${args.join(' ')}\nexited ${outcome.code}:\n` +
          `${failuresSection.slice(0, 30_000)}\n${outcome.stderr.slice(-5_000)}`,
      );
    }

    expect(report.errors, 'scenarios that errored').toEqual([]);
    expect(report.cases, 'test cases run').toBeGreaterThanOrEqual(MIN_CASES);
    for (const operation of operations) expect(report.perOperation.get(operation), `cases for ${operation}`).toBeGreaterThan(0);
    expect(report.serverErrors, '5xx responses').toEqual([]);
    expect(report.failures, 'check failures').toEqual([]);
    expect(outcome.code, 'schemathesis exit code').toBe(0);
  }, 180_000);
});
