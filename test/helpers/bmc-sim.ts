import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, requireExecutables } from './processes.ts';

const run = promisify(execFile);

/** shared/ lies beside the checkout, in development and in CI alike. */
export const BMC_SIM = process.env.BMC_SIM ?? path.resolve(ROOT, '../shared/bmc-sim/bmc-sim');

/** Fails loudly when the simulator or its tools are missing: a skipped IPMI test proves nothing. */
export function requireBmcSim(): void {
  requireExecutables(
    [BMC_SIM, '/usr/bin/ipmitool'],
    'install ipmitool and openipmi (bash .ci/run does); the simulator is shared/bmc-sim/bmc-sim beside this checkout, or where BMC_SIM says',
  );
}

export interface SimOptions {
  from?: number;
  onPowerOn?: string;
  env?: Record<string, string>;
  /** The BMCs' initial admin password (default `password`). */
  password?: string;
}

/** Starts `n` simulated BMCs in `dir` on the first free block of ports from `from`; returns the base port. */
export async function startSims(dir: string, n: number, opts: SimOptions = {}): Promise<number> {
  requireBmcSim();
  const from = opts.from ?? 9600;
  const block = Math.max(10, Math.ceil(n / 10) * 10);
  for (let base = from; base < from + 2000; base += block) {
    const args = ['start', String(n), '--base-port', String(base), '--dir', dir];
    if (opts.onPowerOn) args.push('--on-power-on', opts.onPowerOn);
    if (opts.password) args.push('--password', opts.password);
    try {
      await run(BMC_SIM, args, { env: { ...process.env, ...opts.env } });
      return base;
    } catch (err) {
      if (!/already in use/.test(String((err as { stderr?: string }).stderr))) throw err;
    }
  }
  throw new Error('no free UDP port block for bmc-sim');
}

export const stopSims = (dir: string) =>
  run(BMC_SIM, ['stop', '--dir', dir, '--now']).then(
    () => undefined,
    () => undefined,
  );
