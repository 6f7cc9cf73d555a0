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

/** `destination` defaults to stdout; tests pass a stream to read what would be logged. */
export function createLogger(
  level: string,
  name: string,
  destination?: NodeJS.WritableStream,
): Logger {
  const options = { level, name, redact: { paths: REDACT, censor: '***' } };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
