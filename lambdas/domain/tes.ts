/**
 * The TES model: the generated spec types under the names the rest of the code uses.
 * Nothing here is hand-copied from the spec; `generated/` is produced by `npm run generate`.
 */
import type { components } from './generated/tes-openapi.js';
import { tesParameters, tesSchemas } from './generated/tes-schemas.js';

type Schemas = components['schemas'];
export type TesTask = Schemas['tesTask'];
export type TesExecutor = Schemas['tesExecutor'];
export type TesInput = Schemas['tesInput'];
export type TesOutput = Schemas['tesOutput'];
export type TesResources = Schemas['tesResources'];
export type TesTaskLog = Schemas['tesTaskLog'];
export type TesExecutorLog = Schemas['tesExecutorLog'];
export type TesOutputFileLog = Schemas['tesOutputFileLog'];
export type TesState = Schemas['tesState'];
export type TesServiceInfo = Schemas['tesServiceInfo'];
export type TesListTasksResponse = Schemas['tesListTasksResponse'];
export type TesCreateTaskResponse = Schemas['tesCreateTaskResponse'];
export type TesCancelTaskResponse = Schemas['tesCancelTaskResponse'];
export type TesView = 'MINIMAL' | 'BASIC' | 'FULL';

/** Every TES state, in the spec's order (read from the spec, not retyped). */
export const TES_STATES: readonly TesState[] = tesSchemas.tesState.enum;

export function isTesState(value: string): value is TesState {
  return (TES_STATES as readonly string[]).includes(value);
}

/** The task views, from the spec's `view` parameter. */
export const TES_VIEWS: readonly TesView[] = tesParameters.view.schema.enum;

export function isTesView(value: string): value is TesView {
  return (TES_VIEWS as readonly string[]).includes(value);
}

/** The TES spec version this service implements (from the vendored spec's info.version). */
export const TES_SPEC_VERSION = '1.1.0';
