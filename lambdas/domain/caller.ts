/**
 * Who calls: the owner their tasks belong to (the verified JWT's subject) and whether they hold the
 * admin claim, which lets them see and cancel every user's tasks. The claim is configured as
 * `name=value` (TES_ADMIN_CLAIM; default `groups=tes-admins`, `none` for no admins) and matches a
 * claim exactly as the token carries it: a string equal to the value, an array holding it, or a
 * `scope` listing it.
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

/** Claims whose value is a space-separated list by definition (OAuth 2.0 `scope`, RFC 8693). */
const SPACE_SEPARATED_CLAIMS = new Set(['scope']);

/**
 * Whether claim `name` holds `value`, compared exactly as the token carries it: a string equals it
 * whole (only `scope` is a space-separated list), an array holds it as one of its elements, and
 * nothing else holds anything. A group named `lab,tes-admins`, `lab tes-admins` or `[tes-admins]`
 * is not `tes-admins`.
 */
export function claimHolds(claim: unknown, value: string, name = ''): boolean {
  if (Array.isArray(claim)) return claim.some((item) => typeof item === 'string' && item === value);
  if (typeof claim !== 'string') return false;
  if (SPACE_SEPARATED_CLAIMS.has(name)) return claim.split(' ').includes(value);
  return claim === value;
}

/**
 * The claims of a bearer token as the token carries them (its payload), for a token that was
 * verified before it got here: API Gateway's JWT authorizer flattens arrays into `[a b]` strings,
 * where a group `a b` and groups `a` and `b` look the same. Undefined when it is not a JWT.
 */
export function tokenClaims(authorization: string | undefined): Record<string, unknown> | undefined {
  const token = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/i.exec(authorization?.trim() ?? '')?.[2];
  if (token === undefined) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The claims of a token for an admin under `claim` (what `npm run token -- <subject> --admin` adds). */
export function adminClaims(claim: AdminClaim): Record<string, string[]> {
  return { [claim.name]: [claim.value] };
}
