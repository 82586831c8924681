/**
 * The number formats the TES request schema uses, for the generated validators
 * (generated/tes-validators.ts imports this module as `formats`). The formats only responses use
 * (`date-time`, `uri`) are in response-formats.ts, so no function carries ajv-formats.
 */

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export const int32 = { type: 'number', validate: (n: number): boolean => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX } as const;
export const int64 = { type: 'string', validate: (s: string): boolean => /^-?\d+$/.test(s) } as const;
export const double = { type: 'number', validate: (n: number): boolean => Number.isFinite(n) } as const;
/** The spec writes `format: boolean` on booleans; the type already says it all. */
export const boolean = true;
