import type { FilterState } from './filter-driver.ts';

/**
 * The rules of the iptables filter's chain, each the arguments after `-A <chain>`, in order, as
 * a pure function of the filter's state. DHCP requests pass through the chain, so:
 * - with nothing being introspected and discovery off, nothing gets an answer (upstream's
 *   "DHCP off");
 * - otherwise every MAC Ironic has a port for is dropped unless its node is being introspected,
 *   and everything else (introspected nodes, unknown machines) is answered;
 * - before Ironic's ports were listed once, it fails closed: only introspected MACs pass.
 */
export function planChain(state: FilterState): string[][] {
  const { introspected, ironic, unknownAllowed } = state;
  const reject = ['-j', 'REJECT'];
  if (!unknownAllowed) return [reject];
  const rule = (mac: string, target: string) => ['-m', 'mac', '--mac-source', mac, '-j', target];
  if (!ironic) return [...[...introspected].sort().map((mac) => rule(mac, 'ACCEPT')), reject];
  const denied = [...ironic].filter((mac) => !introspected.has(mac)).sort();
  return [...denied.map((mac) => rule(mac, 'DROP')), ['-j', 'ACCEPT']];
}

/**
 * What `iptables-restore --noflush` is given to make `chain` hold `rules` and nothing else: the
 * chain's declaration creates it, or empties it if it exists, and the rules follow in the same
 * commit, so DHCP requests meet either the old rules or the new ones, never a chain half filled.
 * The rest of the table is left as it is.
 */
export function restoreInput(chain: string, rules: readonly string[][]): string {
  const lines = ['*filter', `:${chain} - [0:0]`];
  for (const rule of rules) lines.push(['-A', chain, ...rule].join(' '));
  lines.push('COMMIT', '');
  return lines.join('\n');
}
