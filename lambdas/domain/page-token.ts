/**
 * ListTasks page tokens: opaque to clients and tamper-evident. A token carries where the previous
 * page stopped, bound by an HMAC to the caller and to the query's filters, so an edited token, one
 * from another user or one from a different query is refused with a 400.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequestError } from './errors.js';

export interface PagePosition {
  /** Id of the last task returned; the next page starts after it. */
  after: string;
}

interface TokenPayload {
  v: 1;
  /** Digest of the caller and the query's filters. */
  q: string;
  a: string;
}

export class InvalidPageTokenError extends BadRequestError {
  constructor(reason: string) {
    super('INVALID_PAGE_TOKEN', `page_token is invalid: ${reason}; start again without page_token`);
  }
}

function digest(scope: string): string {
  return createHash('sha256').update(scope).digest('base64url').slice(0, 22);
}

export class PageTokens {
  constructor(private readonly secret: Uint8Array) {
    if (secret.byteLength < 32) throw new Error('the page-token secret must be at least 32 bytes');
  }

  private sign(body: string): Buffer {
    return createHmac('sha256', this.secret).update(body).digest();
  }

  /** A token for the page after `position`, valid only for the same `scope` (caller + filters). */
  issue(scope: string, position: PagePosition): string {
    const payload: TokenPayload = { v: 1, q: digest(scope), a: position.after };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.sign(body).toString('base64url')}`;
  }

  /** Reads a token issued for `scope`, or throws InvalidPageTokenError. */
  read(scope: string, token: string): PagePosition {
    const [body, signature, extra] = token.split('.');
    if (body === undefined || signature === undefined || extra !== undefined || body === '' || signature === '') {
      throw new InvalidPageTokenError('malformed');
    }
    const expected = this.sign(body);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new InvalidPageTokenError('signature mismatch');
    }
    let payload: Partial<TokenPayload>;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<TokenPayload>;
    } catch {
      throw new InvalidPageTokenError('malformed');
    }
    if (payload.v !== 1 || typeof payload.a !== 'string' || typeof payload.q !== 'string') {
      throw new InvalidPageTokenError('malformed');
    }
    if (payload.q !== digest(scope)) throw new InvalidPageTokenError('it belongs to another query or caller');
    return { after: payload.a };
  }
}
