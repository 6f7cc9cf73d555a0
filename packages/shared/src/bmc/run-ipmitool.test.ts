import { describe, expect, it } from 'vitest';
import { spawnIpmitool } from './run-ipmitool.ts';

const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', IPMI_PASSWORD: 'pw-in-env' };

describe('spawnIpmitool', () => {
  it('collects stdout, stderr and the exit code, with exactly the given environment', async () => {
    const r = await spawnIpmitool('/usr/bin/env', [], { env, timeoutMs: 5000 });
    expect(r.exitCode).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      'IPMI_PASSWORD=pw-in-env',
      `PATH=${env.PATH}`,
    ]);
    const e = await spawnIpmitool('/bin/ls', ['/nonexistent-dir'], { env, timeoutMs: 5000 });
    expect(e.exitCode).not.toBe(0);
    expect(e.stderr).toContain('nonexistent-dir');
  });

  it('kills the child after the timeout', async () => {
    const r = await spawnIpmitool('/bin/sleep', ['5'], { env, timeoutMs: 150 });
    // Killed, not waited for: a signal ended it, and no exit code came.
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.elapsedMs).toBeGreaterThanOrEqual(140);
  });

  it('reports a program that cannot be run', async () => {
    const r = await spawnIpmitool('/nonexistent/ipmitool', [], { env, timeoutMs: 1000 });
    expect(r.spawnErrorCode).toBe('ENOENT');
    expect(r.exitCode).toBeNull();
  });
});
