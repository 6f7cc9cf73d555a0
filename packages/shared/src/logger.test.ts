import { PassThrough } from 'node:stream';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

/** What `log` writes for one error line, parsed. */
function logged(write: (log: ReturnType<typeof createLogger>) => void): Record<string, unknown> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  write(createLogger('info', 'test', out));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

/** An error as ioredis rejects a command with: the command's arguments attached. */
function redisError(message: string): Error {
  const err = new ReplyError(message) as Error & { command?: unknown };
  err.command = { name: 'evalsha', args: ['sha', 1, 'key', 'S3cretPw'] };
  return err;
}

describe('createLogger', () => {
  it("keeps a Redis command's arguments out of a logged error, nested ones too", () => {
    const line = logged((log) => {
      const outer = redisError('OOM command not allowed');
      Object.assign(outer, { other: redisError('READONLY replica') });
      log.error({ err: outer }, 'request failed');
    });
    const text = JSON.stringify(line);
    expect(text).toContain('OOM command not allowed');
    expect(text).toContain('READONLY replica');
    expect(text).not.toContain('S3cretPw');
    expect(text).not.toContain('evalsha');
  });

  it('redacts secrets under the names they travel by', () => {
    const line = logged((log) =>
      log.info({ new_ipmi_password: 'p1', req: { headers: { authorization: 'Basic x' } } }, 'x'),
    );
    expect(line.new_ipmi_password).toBe('***');
    expect(line.req).toEqual({ headers: { authorization: '***' } });
  });
});
