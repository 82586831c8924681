/**
 * The vendored TES OpenAPI as one self-contained document, for the type generator and for tools
 * that read it from a file (Schemathesis). The TES document refers to the GA4GH service-info
 * schema by an external URL; those references are rewritten to local `#/components/schemas/...`
 * ones and the vendored service-info schemas are merged into the TES components.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..');
const SERVICE_INFO_URL = 'https://raw.githubusercontent.com/ga4gh-discovery/ga4gh-service-info/v1.0.0/service-info.yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface OpenApiDocument {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> } & Record<string, Json>;
  [key: string]: Json | undefined;
}

function localizeRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(localizeRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, Json> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === '$ref' && typeof child === 'string' && child.startsWith(`${SERVICE_INFO_URL}#`)) {
      out[key] = child.slice(SERVICE_INFO_URL.length);
    } else {
      out[key] = localizeRefs(child);
    }
  }
  return out;
}

/** Every `$ref` in a document that does not point inside it. */
export function externalRefs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) externalRefs(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string' && !child.startsWith('#')) found.push(child);
      else externalRefs(child, found);
    }
  }
  return found;
}

/** spec/tes-openapi.yaml with spec/ga4gh-service-info-v1.0.0.yaml merged in: no external `$ref` left. */
export async function mergedTesOpenApi(): Promise<OpenApiDocument> {
  const tes = parse(await readFile(join(root, 'spec/tes-openapi.yaml'), 'utf8')) as Json;
  const serviceInfo = parse(await readFile(join(root, 'spec/ga4gh-service-info-v1.0.0.yaml'), 'utf8')) as {
    components: { schemas: Record<string, Json> };
  };
  const merged = localizeRefs(tes) as unknown as OpenApiDocument;
  for (const [name, schema] of Object.entries(serviceInfo.components.schemas)) {
    if (name in merged.components.schemas) throw new Error(`schema name clash: ${name}`);
    merged.components.schemas[name] = schema;
  }
  const left = externalRefs(merged);
  if (left.length > 0) throw new Error(`external $refs left after the merge: ${[...new Set(left)].join(', ')}`);
  return merged;
}
