import { describe, expect, it } from 'vitest';
import { InvalidPageTokenError, PageTokens } from './page-token.js';

const tokens = new PageTokens(Buffer.alloc(32, 7));

describe('page tokens', () => {
  it('round-trips a position for the same scope', () => {
    const token = tokens.issue('scope-a', { after: '01abc' });
    expect(tokens.read('scope-a', token)).toEqual({ after: '01abc' });
  });

  it('are opaque: the position is not readable as plain text', () => {
    expect(tokens.issue('scope-a', { after: 'visible-id' })).not.toContain('visible-id');
  });

  it('refuses a token used for another scope (another caller or other filters)', () => {
    const token = tokens.issue('alice', { after: '01abc' });
    expect(() => tokens.read('bob', token)).toThrow(/another query or caller/);
  });

  it('refuses an edited token', () => {
    const token = tokens.issue('scope', { after: '01abc' });
    const [body, signature] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ v: 1, q: 'x', a: '01zzz' })).toString('base64url');
    expect(() => tokens.read('scope', `${forged}.${signature}`)).toThrow(InvalidPageTokenError);
    const flipped = `${body.slice(0, -1)}${body.endsWith('A') ? 'B' : 'A'}.${signature}`;
    expect(() => tokens.read('scope', flipped)).toThrow(/signature/);
  });

  it('refuses a token signed with another key', () => {
    const other = new PageTokens(Buffer.alloc(32, 9));
    expect(() => tokens.read('scope', other.issue('scope', { after: '1' }))).toThrow(/signature/);
  });

  it.each(['', 'garbage', 'a.b.c', '.', 'abc.', '%%%.%%%'])('refuses the malformed token %j as a 400', (bad) => {
    const error = (() => {
      try {
        tokens.read('scope', bad);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidPageTokenError);
    expect((error as InvalidPageTokenError).status).toBe(400);
  });

  it('needs a key of at least 32 bytes', () => {
    expect(() => new PageTokens(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
