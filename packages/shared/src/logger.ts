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
];

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, redact: { paths: REDACT, censor: '***' } });
}

export type { Logger };
