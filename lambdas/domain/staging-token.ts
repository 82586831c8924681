/**
 * Per-run staging capabilities, HMAC-signed. Prepare puts a *ticket* for each run in stage-in's
 * environment (so it is in the RunTask overrides and the workflow's history); stage-in trades it,
 * once, for a *session* token that no control plane ever sees (it hands it to stage-out in the
 * runtime containers' own volume). A ticket that was traded is worth nothing, and a session is worth
 * something only while its run lasts: the broker refuses both once the run has been recorded or the
 * task has ended, and both expire with the run's time limit.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A staging ticket outlives what is left of its task's time by this much (a run's start and its stage-out). */
export const TICKET_SLACK_SECONDS = 3600;

export type StagingTokenKind = 'ticket' | 'session';

export interface StagingGrant {
  taskId: string;
  executorIndex: number;
  /** Epoch seconds. */
  expires: number;
  /** One run's random id: a ticket is traded once per run. */
  run: string;
  kind: StagingTokenKind;
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
    const body = Buffer.from(JSON.stringify([grant.taskId, grant.executorIndex, grant.expires, grant.run, grant.kind])).toString('base64url');
    return `${body}.${this.sign(body).toString('base64url')}`;
  }

  /** A ticket for a new run of executor `executorIndex`. */
  ticket(taskId: string, executorIndex: number, expires: number): string {
    return this.issue({ taskId, executorIndex, expires, run: randomBytes(16).toString('base64url'), kind: 'ticket' });
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

  /** The grant a token of `kind` carries, or throws if it is forged, malformed, expired or of another kind. */
  read(token: string, nowSeconds: number, kind: StagingTokenKind): StagingGrant {
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) throw new InvalidStagingTokenError('malformed staging token');
    const given = Buffer.from(signature, 'base64url');
    const expected = this.sign(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InvalidStagingTokenError('forged staging token');
    const fields = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
    const [taskId, executorIndex, expires, run, tokenKind] = fields as [string, number, number, string, StagingTokenKind];
    if (fields.length !== 5 || typeof run !== 'string') throw new InvalidStagingTokenError('staging token of an older version');
    if (tokenKind !== kind) throw new InvalidStagingTokenError(kind === 'session' ? 'a staging ticket is traded for a session first' : 'not a staging ticket');
    if (expires < nowSeconds) throw new InvalidStagingTokenError('expired staging token');
    return { taskId, executorIndex, expires, run, kind: tokenKind };
  }
}
