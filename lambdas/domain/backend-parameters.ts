/**
 * `resources.backend_parameters`: the keys this backend understands (listed in service-info),
 * matched case-insensitively as the spec asks. Unsupported keys are dropped with a warning in the
 * task's system logs, or refused with a 400 when `backend_parameters_strict` is true.
 */
import type { Problem } from './errors.js';

interface ParameterRule {
  /** What the value must be, for error messages. */
  expected: string;
  isValid: (value: string) => boolean;
}

const MAX_RUNTIME_SECONDS = 365 * 24 * 3600;

/** The supported keys, lower-case, each with the rule its value must satisfy. */
export const BACKEND_PARAMETERS: Readonly<Record<string, ParameterRule>> = {
  // The executor's CPU architecture: Graviton (arm64) is cheaper, but only multi-arch images run there.
  cpu_architecture: {
    expected: 'x86_64 or arm64',
    isValid: (v) => /^(x86_64|arm64)$/i.test(v),
  },
  // A wall-clock limit for the whole task; the task ends SYSTEM_ERROR when it is exceeded.
  max_runtime_seconds: {
    expected: `a whole number of seconds from 1 to ${MAX_RUNTIME_SECONDS}`,
    isValid: (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_RUNTIME_SECONDS,
  },
};

/** A task's max_runtime_seconds, if it set one (kept lower-cased by applyBackendParameters). */
export function maxRuntimeSeconds(resources: { backend_parameters?: Readonly<Record<string, string>> } | undefined): number | undefined {
  const raw = resources?.backend_parameters?.['max_runtime_seconds'];
  return raw === undefined ? undefined : Number(raw);
}

/**
 * How long the workflow may wait for a task's next executor: what is left of its
 * max_runtime_seconds since it started (undefined: none left), never more than `longest`.
 */
export function runTimeoutSeconds(maxRuntime: number | undefined, startedAt: string | undefined, now: Date, longest: number): number | undefined {
  if (maxRuntime === undefined) return longest;
  const elapsed = startedAt === undefined ? 0 : Math.max(0, (now.getTime() - Date.parse(startedAt)) / 1000);
  const left = Math.floor(maxRuntime - elapsed);
  return left >= 1 ? Math.min(left, longest) : undefined;
}

export const SUPPORTED_BACKEND_PARAMETERS: readonly string[] = Object.keys(BACKEND_PARAMETERS);

export interface BackendParameterOutcome {
  /** The supported parameters, keys lower-cased; undefined when none remain. */
  kept: Record<string, string> | undefined;
  warnings: string[];
  problems: Problem[];
}

/** Sorts a request's backend_parameters into kept, dropped-with-warning and refused. */
export function applyBackendParameters(
  params: Readonly<Record<string, string>> | undefined,
  strict: boolean,
  path = 'resources.backend_parameters',
): BackendParameterOutcome {
  const outcome: BackendParameterOutcome = { kept: undefined, warnings: [], problems: [] };
  if (params === undefined) return outcome;
  const supportedList = SUPPORTED_BACKEND_PARAMETERS.join(', ');
  for (const [key, value] of Object.entries(params)) {
    const normalized = key.toLowerCase();
    const rule = BACKEND_PARAMETERS[normalized];
    const where = `${path}[${JSON.stringify(key)}]`;
    if (rule === undefined) {
      if (strict) {
        outcome.problems.push({
          path: where,
          message: `unsupported backend parameter (backend_parameters_strict is true); supported: ${supportedList}`,
        });
      } else {
        outcome.warnings.push(
          `backend_parameters: dropped unsupported key ${JSON.stringify(key)}; supported: ${supportedList}`,
        );
      }
      continue;
    }
    if (!rule.isValid(value)) {
      outcome.problems.push({ path: where, message: `must be ${rule.expected}` });
      continue;
    }
    outcome.kept = { ...outcome.kept, [normalized]: value.toLowerCase() };
  }
  return outcome;
}
