/** Assertions that a response is exactly what the TES spec allows: valid, and nothing more. */
import { expect } from 'vitest';
import { toSpecShape } from '../../lambdas/domain/spec-shape.js';
import type { ValidateFunction } from 'ajv';
import { validatorProblems } from '../../lambdas/domain/validation.js';
import * as responseValidators from '../../lambdas/domain/generated/tes-response-validators.js';

type ResponseSchema = 'tesTask' | 'tesListTasksResponse' | 'tesServiceInfo' | 'tesCreateTaskResponse';

/**
 * The response validates as `schema` and holds nothing else. A MINIMAL task (id and state only,
 * as the spec's view parameter defines it) lacks the schema's required `executors`; that alone is
 * allowed for it.
 */
export function expectSpecResponse(schema: ResponseSchema, body: unknown, view = 'FULL'): void {
  const problems = validatorProblems((responseValidators as unknown as Record<ResponseSchema, ValidateFunction>)[schema], body).filter(
    (p) => !(view === 'MINIMAL' && p.message === 'required' && /(^|\.)executors$/.test(p.path)),
  );
  expect(problems, `response does not validate as ${schema}`).toEqual([]);
  expect(body, `response holds fields (or nulls) outside ${schema}`).toEqual(toSpecShape(schema, body));
}

/** The documented error shape: { status, code, message, details?, request_id }. */
export function expectErrorShape(body: unknown, status: number): void {
  expect(body).toMatchObject({ status, code: expect.any(String), message: expect.any(String), request_id: expect.any(String) });
  const keys = Object.keys(body as object);
  for (const key of keys) expect(['status', 'code', 'message', 'details', 'request_id']).toContain(key);
}
