/**
 * What one change of the iptables PXE filter costs as Ironic grows: the driver writing its chain
 * for N Ironic MACs (one `iptables-restore`), first and when one run begins, against upstream's
 * way, one `iptables` call per rule, for the smallest N. Real iptables, in a network namespace
 * of the bench's own: needs root, iptables and iproute2.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createLogger } from '@inspector/shared';
import { IptablesDriver } from '../../apps/worker/src/pxe-filter/iptables-driver.ts';
import { planChain } from '../../apps/worker/src/pxe-filter/iptables-plan.ts';
import { round } from '../lib/stats.ts';
import { skipped, type Figure, type Scenario, type ScenarioResult } from './types.ts';

const SIZES = [1_000, 5_000, 10_000];
const CHAIN = 'ironic-inspector';

function macs(n: number): Set<string> {
  const hex = (b: number) => (b & 255).toString(16).padStart(2, '0');
  return new Set(
    Array.from({ length: n }, (_, i) => `52:54:00:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}`),
  );
}

async function ms(fn: () => Promise<unknown> | void): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export const pxeFilterIptables: Scenario = {
  name: 'pxe-filter-iptables',
  summary: 'time to write the iptables PXE filter chain for 1,000 to 10,000 Ironic MACs',
  optIn: true,
  async run(ctx): Promise<ScenarioResult> {
    const ns = `bench-ipt-${randomBytes(3).toString('hex')}`;
    try {
      execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' });
    } catch (err) {
      return skipped(`no network namespace (root and iproute2 needed): ${(err as Error).message}`);
    }
    const iptables = (...args: string[]) =>
      execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-w', ...args], { stdio: 'pipe' });
    try {
      const figures: Figure[] = [];
      const details: Record<string, unknown> = {};
      for (const n of SIZES) {
        ctx.log(`${n} MACs`);
        const ironic = macs(n);
        const driver = new IptablesDriver({
          command: ['ip', 'netns', 'exec', ns, 'iptables'],
          iface: 'eth-prov',
          chain: CHAIN,
          ipVersion: '4',
          logger: createLogger('silent', 'bench'),
        });
        await driver.prepare();
        const state = { introspected: new Set<string>(), ironic, unknownAllowed: true };
        const first = await ms(() => driver.apply(state, true));
        const [one] = ironic;
        const change = await ms(() =>
          driver.apply({ ...state, introspected: new Set([one!]) }, false),
        );
        figures.push(
          { label: `${n} MACs: first write`, value: round(first, 0), unit: 'ms' },
          { label: `${n} MACs: one run begins`, value: round(change, 0), unit: 'ms' },
        );
        details[n] = { firstMs: first, changeMs: change };
      }
      const n = SIZES[0]!;
      ctx.log(`${n} MACs, one iptables call per rule`);
      const perRule = await ms(() => {
        iptables('-N', `${CHAIN}-upstream`);
        for (const rule of planChain({
          introspected: new Set(),
          ironic: macs(n),
          unknownAllowed: true,
        })) {
          iptables('-A', `${CHAIN}-upstream`, ...rule);
        }
      });
      figures.push({
        label: `${n} MACs: one iptables call per rule (upstream)`,
        value: round(perRule, 0),
        unit: 'ms',
      });
      details.upstreamPerRuleMs = perRule;
      return {
        status: 'ok',
        figures,
        notes: [
          `real iptables (${execFileSync('iptables', ['-V'], { encoding: 'utf8' }).trim()}) in a namespace of its own; ` +
            'a run beginning rewrites the whole chain, as every change does',
        ],
        details,
      };
    } finally {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
    }
  },
};
