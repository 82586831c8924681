/**
 * Who calls: the owner their tasks belong to (the verified JWT's subject) and whether they hold the
 * admin claim, which lets them see and cancel every user's tasks. The claim is configured as
 * `name=value` (TES_ADMIN_CLAIM; default `groups=tes-admins`, `none` for no admins) and matches a
 * claim that equals the value or lists it: a JSON array, API Gateway's flattened `[a b]`, or a
 * space-separated string such as `scope`.
 */
export interface Caller {
  owner: string;
  admin: boolean;
}

export interface AdminClaim {
  name: string;
  value: string;
}

export const DEFAULT_ADMIN_CLAIM = 'groups=tes-admins';

/** Reads TES_ADMIN_CLAIM: `name=value`, or `none`; unset or empty means the default. */
export function parseAdminClaim(spec: string | undefined): AdminClaim | undefined {
  const text = spec === undefined || spec.trim() === '' ? DEFAULT_ADMIN_CLAIM : spec.trim();
  if (text === 'none') return undefined;
  const cut = text.indexOf('=');
  const name = text.slice(0, cut).trim();
  const value = text.slice(cut + 1).trim();
  if (cut <= 0 || name === '' || value === '' || /\s/.test(value)) {
    throw new Error(`TES_ADMIN_CLAIM must be name=value (for example ${DEFAULT_ADMIN_CLAIM}) or none, not ${JSON.stringify(spec)}`);
  }
  return { name, value };
}

/** Whether a claim equals `value` or lists it. */
export function claimHolds(claim: unknown, value: string): boolean {
  if (Array.isArray(claim)) return claim.some((item) => String(item) === value);
  if (typeof claim === 'boolean' || typeof claim === 'number') return String(claim) === value;
  if (typeof claim !== 'string') return false;
  const trimmed = claim.trim();
  const list = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  return list.split(/[\s,]+/).includes(value);
}

/** The claims of a token for an admin under `claim` (what `npm run token -- <subject> --admin` adds). */
export function adminClaims(claim: AdminClaim): Record<string, string[]> {
  return { [claim.name]: [claim.value] };
}
