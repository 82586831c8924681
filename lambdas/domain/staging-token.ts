/**
 * Per-run staging capabilities: an HMAC-signed (task id, executor index, expiry). Stage-in and
 * stage-out get one in their environment, and nothing else that grants access to anything.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface StagingGrant {
  taskId: string;
  executorIndex: number;
  /** Epoch seconds. */
  expires: number;
}

export class InvalidStagingTokenError extends Error {}

export class StagingTokens {
  constructor(private readonly secret: Uint8Array) {
    if (secret.byteLength < 32) throw new Error('the staging secret must be at least 32 bytes');
  }

  private sign(body: string): Buffer {
    return createHmac('sha256', this.secret).update(`staging:${body}`).digest();
  }

  issue(grant: StagingGrant): string {
    const body = Buffer.from(JSON.stringify([grant.taskId, grant.executorIndex, grant.expires])).toString('base64url');
    return `${body}.${this.sign(body).toString('base64url')}`;
  }

  /** An HMAC over `parts` for `purpose`: what the broker puts beside what it stores, to know it later. */
  seal(purpose: string, parts: readonly (string | number)[]): string {
    return createHmac('sha256', this.secret).update(`${purpose}:${JSON.stringify(parts)}`).digest('base64url');
  }

  /** Whether `seal` is this service's seal over `parts` for `purpose`. */
  sealed(seal: unknown, purpose: string, parts: readonly (string | number)[]): boolean {
    if (typeof seal !== 'string') return false;
    const given = Buffer.from(seal, 'base64url');
    const expected = Buffer.from(this.seal(purpose, parts), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** The grant a token carries, or throws if it is forged, malformed or expired. */
  read(token: string, nowSeconds: number): StagingGrant {
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) throw new InvalidStagingTokenError('malformed staging token');
    const given = Buffer.from(signature, 'base64url');
    const expected = this.sign(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InvalidStagingTokenError('forged staging token');
    const [taskId, executorIndex, expires] = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as [string, number, number];
    if (expires < nowSeconds) throw new InvalidStagingTokenError('expired staging token');
    return { taskId, executorIndex, expires };
  }
}
