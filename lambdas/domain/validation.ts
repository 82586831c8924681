/**
 * Validates request documents against the vendored TES schema, then against the rules the
 * schema cannot express (absolute paths, url-or-content, wildcards with path_prefix, ...).
 * Every problem is collected with its JSON path; nothing stops at the first one.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Problem } from './errors.js';
import * as generated from './generated/tes-validators.js';

/** The request schemas there are validators for (scripts/generate-tes-types.ts, REQUEST_SCHEMAS). */
export type RequestSchema = 'tesTask';

/**
 * The validator for one request schema, compiled by ajv ahead of time: no function carries ajv or
 * compiles a schema at its first request.
 */
export function schemaValidator(name: RequestSchema): ValidateFunction {
  return (generated as unknown as Record<RequestSchema, ValidateFunction>)[name];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Appends a key to a JSON path: `executors` + 0 → `executors[0]`, `env` + `a.b` → `env["a.b"]`. */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (!IDENTIFIER.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Turns an ajv JSON pointer (`/executors/0/image`) into a JSON path (`executors[0].image`). */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<string>((path, token) => joinPath(path, /^\d+$/.test(token) ? Number(token) : token), '');
}

function describeType(type: unknown): string {
  const names: Record<string, string> = {
    object: 'an object',
    array: 'an array',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'a boolean',
  };
  return typeof type === 'string' ? (names[type] ?? type) : String(type);
}

function problemFromAjv(error: ErrorObject): Problem {
  const path = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: joinPath(path, String(params['missingProperty'])), message: 'required' };
    case 'type':
      return { path, message: `must be ${describeType(params['type'])}` };
    case 'enum':
      return { path, message: `must be one of ${(params['allowedValues'] as unknown[]).join(', ')}` };
    case 'format':
      return { path, message: formatMessage(String(params['format'])) };
    default:
      return { path, message: error.message ?? 'is invalid' };
  }
}

function formatMessage(format: string): string {
  switch (format) {
    case 'int32':
      return 'must be a 32-bit integer';
    case 'int64':
      return 'must be a decimal integer string';
    case 'double':
      return 'must be a finite number';
    default:
      return `must be a valid ${format}`;
  }
}

/** Validates `value` against a spec schema and returns every problem (none = valid). */
export function schemaProblems(name: RequestSchema, value: unknown): Problem[] {
  return validatorProblems(schemaValidator(name), value);
}

/** Every problem `validate` finds in `value`, as paths and messages (none = valid). */
export function validatorProblems(validate: ValidateFunction, value: unknown): Problem[] {
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  // A value of the wrong type also fails its format; the type problem says all there is to say.
  const mistyped = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of errors) {
    if (error.keyword === 'format' && mistyped.has(error.instancePath)) continue;
    const problem = problemFromAjv(error);
    const key = `${problem.path}\u0000${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

/** How deep a request may nest arrays and objects: a task document needs a handful of levels. */
export const MAX_NESTING = 64;

/** Whether `value` nests arrays and objects more than `limit` levels deep (counted without recursion). */
export function nestedDeeperThan(value: unknown, limit: number = MAX_NESTING): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
