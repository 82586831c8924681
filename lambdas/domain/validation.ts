/**
 * Validates request documents against the vendored TES schema, then against the rules the
 * schema cannot express (absolute paths, url-or-content, wildcards with path_prefix, ...).
 * Every problem is collected with its JSON path; nothing stops at the first one.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Problem } from './errors.js';
import { tesSchemas } from './generated/tes-schemas.js';

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, validateFormats: true });
  // The schemas live under the OpenAPI document's own `components` key.
  ajv.addKeyword('components');
  addFormats(ajv, ['date-time', 'uri']);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX });
  ajv.addFormat('int64', { type: 'string', validate: (s: string) => /^-?\d+$/.test(s) });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  // The spec writes `format: boolean` on booleans; the type already says it all.
  ajv.addFormat('boolean', true);
  ajv.addSchema({ $id: 'tes.json', components: { schemas: tesSchemas } });
  return ajv;
}

let ajvInstance: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

/** The compiled validator for one spec schema, e.g. `schemaValidator('tesTask')`. */
export function schemaValidator(name: keyof typeof tesSchemas): ValidateFunction {
  let validate = validators.get(name);
  if (validate === undefined) {
    ajvInstance ??= createAjv();
    validate = ajvInstance.getSchema(`tes.json#/components/schemas/${name}`);
    if (validate === undefined) throw new Error(`no spec schema named ${name}`);
    validators.set(name, validate);
  }
  return validate;
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
export function schemaProblems(name: keyof typeof tesSchemas, value: unknown): Problem[] {
  const validate = schemaValidator(name);
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
