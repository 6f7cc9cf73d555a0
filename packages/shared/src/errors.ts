/**
 * Errors that carry their HTTP status, so the API maps them to
 * `{"error": {"message"}}` without guessing and workers know which ones a retry cannot fix.
 */
export class InspectorError extends Error {
  readonly status: number;
  readonly code: string;
  /** Whether the message is safe to show to an HTTP client. */
  readonly expose: boolean;

  constructor(message: string, opts: { status?: number; code?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = opts.status ?? 400;
    this.code = opts.code ?? 'bad_request';
    this.expose = this.status < 500 || this.status === 503;
  }
}

export class BadRequest extends InspectorError {
  constructor(message: string, cause?: unknown) {
    super(message, { status: 400, code: 'bad_request', cause });
  }
}

export class NotFound extends InspectorError {
  constructor(message: string) {
    super(message, { status: 404, code: 'not_found' });
  }
}

export class Forbidden extends InspectorError {
  constructor(message: string) {
    super(message, { status: 403, code: 'forbidden' });
  }
}

export class Unauthorized extends InspectorError {
  constructor(message = 'Authentication required') {
    super(message, { status: 401, code: 'unauthorized' });
  }
}

export class Conflict extends InspectorError {
  constructor(message: string) {
    super(message, { status: 409, code: 'conflict' });
  }
}

export class PayloadTooLarge extends InspectorError {
  constructor(message: string) {
    super(message, { status: 413, code: 'payload_too_large' });
  }
}

export class UnsupportedMediaType extends InspectorError {
  constructor(message: string) {
    super(message, { status: 415, code: 'unsupported_media_type' });
  }
}

export class ServiceUnavailable extends InspectorError {
  constructor(message: string, cause?: unknown) {
    super(message, { status: 503, code: 'unavailable', cause });
  }
}

/** Turns anything thrown into an Error, so callers never inspect `unknown`. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`Non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error('Non-error thrown');
  }
}

/** An error and the causes under it, outermost first (a few levels: chains are short). */
export function* causeChain(err: unknown): Generator<unknown> {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) yield e;
}
