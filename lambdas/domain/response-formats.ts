/**
 * Every format the TES schemas use, responses' too (`date-time` is `dateTime` here): what the
 * response validators the tests check answers with import as `formats`
 * (generated/tes-response-validators.ts).
 */
import { fullFormats } from 'ajv-formats/dist/formats.js';

export * from './schema-formats.js';
export const dateTime = fullFormats['date-time'];
export const uri = fullFormats.uri;
