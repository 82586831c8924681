import { describe, expect, it } from 'vitest';
import { claimHolds, parseAdminClaim, tokenClaims } from './caller.js';

describe('the admin claim', () => {
  it('is configured as name=value, defaulting to groups=tes-admins, or none', () => {
    expect(parseAdminClaim(undefined)).toEqual({ name: 'groups', value: 'tes-admins' });
    expect(parseAdminClaim('')).toEqual({ name: 'groups', value: 'tes-admins' });
    expect(parseAdminClaim('cognito:groups=tes-admins')).toEqual({ name: 'cognito:groups', value: 'tes-admins' });
    expect(parseAdminClaim(' scope = tes/admin ')).toEqual({ name: 'scope', value: 'tes/admin' });
    expect(parseAdminClaim('none')).toBeUndefined();
    for (const bad of ['admin', '=x', 'groups=', 'groups=a b']) expect(() => parseAdminClaim(bad), bad).toThrow(/TES_ADMIN_CLAIM must be name=value/);
  });

  it('matches a claim exactly as the token carries it: the whole string, an element of an array, a word of scope', () => {
    expect(claimHolds(['users', 'tes-admins'], 'tes-admins', 'groups')).toBe(true);
    expect(claimHolds('tes-admins', 'tes-admins', 'groups')).toBe(true);
    expect(claimHolds('openid tes/admin', 'tes/admin', 'scope')).toBe(true);
  });

  it('does not match a look-alike: a prefix, a substring, a list in one string, a nested array, another type', () => {
    for (const claim of [
      '[tes-admins-not users]',
      'not-tes-admins',
      ['tes-admin'],
      'lab tes-admins',
      'lab,tes-admins',
      '[tes-admins]',
      '[users tes-admins]',
      ['lab tes-admins'],
      ['lab,tes-admins'],
      [['tes-admins']],
      { groups: 'tes-admins' },
      undefined,
      true,
    ]) {
      expect(claimHolds(claim, 'tes-admins', 'groups'), JSON.stringify(claim)).toBe(false);
    }
    expect(claimHolds('openid  tes/admin-2', 'tes/admin', 'scope')).toBe(false);
    expect(claimHolds('openid,tes/admin', 'tes/admin', 'scope')).toBe(false);
  });
});

describe('the claims of a verified token', () => {
  const token = (payload: unknown) => `Bearer e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
  it('are read from its payload, as issued', () => {
    expect(tokenClaims(token({ sub: 'a', groups: ['x y'] }))).toEqual({ sub: 'a', groups: ['x y'] });
  });
  it('are nothing when the header holds no JWT', () => {
    for (const header of [undefined, '', 'Basic abc', 'Bearer abc', `Bearer e30.${Buffer.from('[1]').toString('base64url')}.x`, 'Bearer e30.!!.x']) {
      expect(tokenClaims(header), String(header)).toBeUndefined();
    }
  });
});
