/**
 * Shapes a value to exactly the fields a spec schema declares: unknown fields are dropped, nulls
 * omitted, and so is an empty array in a field the schema does not require. Requests are stored in
 * this shape and every response leaves in it, because strict clients (py-tes, the Funnel client)
 * reject fields they do not know, and some read the first element of any array that is there (the
 * GA4GH compliance runner reads `logs[0]` of a task that has `"logs": []` and aborts).
 */
import { tesSchemas } from './generated/tes-schemas.js';

type SchemaName = keyof typeof tesSchemas;

interface Schema {
  $ref?: string;
  allOf?: readonly Schema[];
  type?: string;
  properties?: Readonly<Record<string, Schema>>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: readonly string[];
}

const REF_PREFIX = '#/components/schemas/';
const schemas = tesSchemas as unknown as Record<string, Schema>;

function resolve(schema: Schema): Schema {
  if (schema.$ref === undefined) return schema;
  const target = schemas[schema.$ref.slice(REF_PREFIX.length)];
  if (target === undefined) throw new Error(`unresolvable $ref ${schema.$ref}`);
  return resolve(target);
}

/** The declared properties of a schema, following $ref and merging allOf (later parts win). */
function propertiesOf(schema: Schema): Record<string, Schema> | undefined {
  const resolved = resolve(schema);
  if (resolved.allOf === undefined) return resolved.properties ? { ...resolved.properties } : undefined;
  let merged: Record<string, Schema> | undefined;
  for (const part of resolved.allOf) {
    const props = propertiesOf(part);
    if (props !== undefined) merged = { ...merged, ...props };
  }
  return merged;
}

const requiredBySchema = new WeakMap<Schema, ReadonlySet<string>>();

/** The required properties of a schema, following $ref and allOf (worked out once per schema). */
function requiredOf(schema: Schema): ReadonlySet<string> {
  const resolved = resolve(schema);
  let required = requiredBySchema.get(resolved);
  if (required === undefined) {
    const names = new Set(resolved.required);
    for (const part of resolved.allOf ?? []) for (const name of requiredOf(part)) names.add(name);
    required = names;
    requiredBySchema.set(resolved, required);
  }
  return required;
}

function shape(schema: Schema, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  const resolved = resolve(schema);
  if (Array.isArray(value)) {
    const items = resolved.items;
    return items === undefined ? value : value.map((item) => shape(items, item)).filter((item) => item !== undefined);
  }
  if (typeof value !== 'object') return value;
  const properties = propertiesOf(resolved);
  const additional = resolved.additionalProperties;
  const required = requiredOf(resolved);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    // Own properties only: a client's `toString` is not the schema's Object.prototype.toString.
    const declared = properties !== undefined && Object.hasOwn(properties, key) ? properties[key] : undefined;
    const childSchema = declared ?? (typeof additional === 'object' ? additional : undefined);
    if (childSchema === undefined) continue;
    const shaped = shape(childSchema, child);
    if (shaped === undefined || (Array.isArray(shaped) && shaped.length === 0 && !required.has(key))) continue;
    out[key] = shaped;
  }
  return out;
}

/** Returns a copy of `value` holding only what the named spec schema declares, without nulls. */
export function toSpecShape<T>(name: SchemaName, value: T): T {
  return shape(schemas[name] as Schema, value) as T;
}
