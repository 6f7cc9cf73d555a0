import { pino, type Logger } from 'pino';

/** Paths scrubbed from every log line, wherever a secret could ride along. */
const REDACT = [
  'password',
  'ipmi_password',
  'new_ipmi_password',
  '*.password',
  '*.ipmi_password',
  '*.new_ipmi_password',
  '*.*.ipmi_password',
  'headers["x-auth-token"]',
  'headers.authorization',
  '*.headers["x-auth-token"]',
  '*.headers.authorization',
  'headers["x-subject-token"]',
  '*.headers["x-subject-token"]',
  'token',
  '*.token',
  'KEYSTONE_PASSWORD',
  '*.KEYSTONE_PASSWORD',
];

type SerializedError = ReturnType<typeof pino.stdSerializers.err>;

/**
 * pino's error serializer without `command`: ioredis puts a failed command's arguments there, and
 * a script's arguments can hold a new IPMI password (an OOM or READONLY refusal of the script
 * that starts a run would log it). Errors the serializer nests under other keys go the same way.
 */
function errWithoutCommand(err: Error): SerializedError {
  const out = pino.stdSerializers.err(err);
  const strip = (serialized: SerializedError) => {
    delete serialized.command;
    for (const value of Object.values(serialized)) {
      if (value !== null && typeof value === 'object' && 'stack' in value && 'type' in value) {
        strip(value as SerializedError);
      }
    }
  };
  if (out !== null && typeof out === 'object') strip(out);
  return out;
}

/** `destination` defaults to stdout; tests pass a stream to read what would be logged. */
export function createLogger(
  level: string,
  name: string,
  destination?: NodeJS.WritableStream,
): Logger {
  const options = {
    level,
    name,
    redact: { paths: REDACT, censor: '***' },
    serializers: { err: errWithoutCommand },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
