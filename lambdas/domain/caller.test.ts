import { describe, expect, it } from 'vitest';
import { claimHolds, parseAdminClaim } from './caller.js';

describe('the admin claim', () => {
  it('is configured as name=value, defaulting to groups=tes-admins, or none', () => {
    expect(parseAdminClaim(undefined)).toEqual({ name: 'groups', value: 'tes-admins' });
    expect(parseAdminClaim('')).toEqual({ name: 'groups', value: 'tes-admins' });
    expect(parseAdminClaim('cognito:groups=tes-admins')).toEqual({ name: 'cognito:groups', value: 'tes-admins' });
    expect(parseAdminClaim(' scope = tes/admin ')).toEqual({ name: 'scope', value: 'tes/admin' });
    expect(parseAdminClaim('none')).toBeUndefined();
    for (const bad of ['admin', '=x', 'groups=', 'groups=a b']) expect(() => parseAdminClaim(bad), bad).toThrow(/TES_ADMIN_CLAIM must be name=value/);
  });

  it('matches a claim that equals or lists the value, however the authorizer shaped it', () => {
    expect(claimHolds(['users', 'tes-admins'], 'tes-admins')).toBe(true);
    expect(claimHolds('[users tes-admins]', 'tes-admins')).toBe(true);
    expect(claimHolds('openid tes/admin', 'tes/admin')).toBe(true);
    expect(claimHolds('tes-admins', 'tes-admins')).toBe(true);
    expect(claimHolds(true, 'true')).toBe(true);
  });

  it('does not match a prefix, a substring, another value or a missing claim', () => {
    expect(claimHolds('[tes-admins-not users]', 'tes-admins')).toBe(false);
    expect(claimHolds('not-tes-admins', 'tes-admins')).toBe(false);
    expect(claimHolds(['tes-admin'], 'tes-admins')).toBe(false);
    expect(claimHolds(undefined, 'tes-admins')).toBe(false);
    expect(claimHolds({ groups: 'tes-admins' }, 'tes-admins')).toBe(false);
    expect(claimHolds(false, 'true')).toBe(false);
  });
});
