/**
 * Typed errors with one JSON shape for every error response (documented in the README):
 *
 *   { "status": 400, "code": "INVALID_TASK", "message": "...", "details": [{ "path": "...", "message": "..." }] }
 *
 * Errors under 500 are shown to the caller as they are; anything else becomes a generic 500.
 */

/** One problem with a request, located by its JSON path (`executors[0].image`). */
export interface Problem {
  path: string;
  message: string;
  /** The admission rule the request breaks, when it is one (`max_disk_gb`, `reserved_paths`). */
  rule?: string;
}

export interface ErrorBody {
  status: number;
  code: string;
  message: string;
  details?: Problem[];
  request_id?: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Problem[],
  ) {
    super(message);
    this.name = 'HttpError';
  }

  toJSON(): ErrorBody {
    return this.details === undefined
      ? { status: this.status, code: this.code, message: this.message }
      : { status: this.status, code: this.code, message: this.message, details: this.details };
  }
}

/** Formats problems the way the README documents them: `executors[0].image: required`. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)).join('; ');
}

export class BadRequestError extends HttpError {
  constructor(code: string, message: string, details?: Problem[]) {
    super(400, code, message, details);
  }
}

/** 400 listing every problem found in a request, each with its JSON path. */
export class InvalidRequestError extends BadRequestError {
  constructor(what: string, problems: Problem[]) {
    super('INVALID_REQUEST', `${what}: ${formatProblems(problems)}`, problems);
  }
}

export class InvalidTaskError extends BadRequestError {
  constructor(problems: Problem[]) {
    super('INVALID_TASK', `the task is invalid: ${formatProblems(problems)}`, problems);
  }
}

export class UnauthorizedError extends HttpError {
  constructor(message = 'a valid bearer token is required') {
    super(401, 'UNAUTHENTICATED', message);
  }
}

export class NotFoundError extends HttpError {
  constructor(message: string) {
    super(404, 'NOT_FOUND', message);
  }
}

export class TaskNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(`task ${JSON.stringify(id)} not found`);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${limitBytes} bytes`);
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(message: string) {
    super(503, 'UNAVAILABLE', message);
  }
}

/** The body of every 500: it says nothing about internals. */
export function internalErrorBody(): ErrorBody {
  return { status: 500, code: 'INTERNAL', message: 'internal error; the request id identifies it in the service logs' };
}
