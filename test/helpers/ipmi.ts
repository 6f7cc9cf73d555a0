import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { BmcError } from '../../packages/shared/src/bmc/bmc-error.ts';

const run = promisify(execFile);

/** Plain ipmitool against a simulated BMC, the way an operator would check it. */
export async function ipmitool(
  port: number,
  user: string,
  password: string,
  ...command: string[]
): Promise<{ ok: boolean; out: string }> {
  const args = [
    '-I',
    'lanplus',
    '-C',
    '3',
    '-H',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    user,
    '-E',
  ];
  try {
    const { stdout } = await run('ipmitool', [...args, '-N', '1', '-R', '2', ...command], {
      env: { PATH: process.env.PATH, IPMI_PASSWORD: password },
    });
    return { ok: true, out: stdout.trim() };
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: string }).stderr ?? err) };
  }
}

/** The BmcError a driver call fails with; fails the test when it succeeds or throws anything else. */
export async function bmcFailure(p: Promise<unknown>): Promise<BmcError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BmcError);
    return err as BmcError;
  }
  throw new Error('expected a BmcError');
}
