import { planChain } from './iptables-plan.ts';
import {
  runCommand,
  type FilterCounts,
  type FilterDriver,
  type FilterState,
} from './filter-driver.ts';

/** Longest one iptables call may take, waiting for the xtables lock included (`-w`). */
const IPTABLES_TIMEOUT_MS = 20_000;

export interface IptablesDriverOptions {
  /** The iptables command, split on spaces (`iptables`, `sudo ip6tables`). */
  command: string;
  /** Where DHCP requests arrive: the interface dnsmasq (or any DHCP server) listens on. */
  iface: string;
  chain: string;
  ipVersion: '4' | '6';
}

/**
 * Upstream's iptables driver: a chain of the INPUT table that DHCP requests on one interface jump
 * to (UDP 67, or 547 for DHCPv6), with a rule per MAC (iptables-plan.ts). Each change builds the
 * whole chain anew under a temporary name, jumps to it, then drops the old one and takes its
 * name: requests never meet a half-built chain. A chain the same as the last is not rebuilt.
 * The chain stays when the worker stops: removing it would let every deployed node boot the
 * inspection ramdisk; the next start replaces it.
 */
export class IptablesDriver implements FilterDriver {
  readonly name = 'iptables';
  readonly #opts: IptablesDriverOptions;
  readonly #argv: string[];
  /** The rules last applied, as JSON; null when the chain must be built again. */
  #applied: string | null = null;

  constructor(opts: IptablesDriverOptions) {
    this.#opts = opts;
    this.#argv = opts.command.split(/\s+/).filter(Boolean);
  }

  get #temp(): string {
    return `${this.#opts.chain}_temp`;
  }

  #jump(chain: string): string[] {
    const port = this.#opts.ipVersion === '6' ? '547' : '67';
    return ['INPUT', '-i', this.#opts.iface, '-p', 'udp', '--dport', port, '-j', chain];
  }

  #iptables(...args: string[]): Promise<string> {
    return runCommand([...this.#argv, '-w', ...args], IPTABLES_TIMEOUT_MS);
  }

  /** Removes the jump to `chain` and the chain itself, whichever of them exists. */
  async #remove(chain: string): Promise<void> {
    const gone = () => undefined;
    await this.#iptables('-D', ...this.#jump(chain)).catch(gone);
    await this.#iptables('-F', chain).catch(gone);
    await this.#iptables('-X', chain).catch(gone);
  }

  async prepare(): Promise<void> {
    await this.#remove(this.#temp);
    // Lists the table: fails at start, naming the command, when iptables cannot be run.
    await this.#iptables('-S', 'INPUT');
  }

  async apply(state: FilterState): Promise<FilterCounts> {
    const rules = planChain(state);
    const key = JSON.stringify(rules);
    if (key !== this.#applied) {
      this.#applied = null;
      const { chain } = this.#opts;
      await this.#remove(this.#temp);
      await this.#iptables('-N', this.#temp);
      for (const rule of rules) await this.#iptables('-A', this.#temp, ...rule);
      await this.#iptables('-I', ...this.#jump(this.#temp));
      await this.#remove(chain);
      await this.#iptables('-E', this.#temp, chain);
      this.#applied = key;
    }
    // Counted as the dnsmasq driver counts its files, whichever rules stand for them.
    let deny = 0;
    for (const mac of state.ironic ?? []) if (!state.introspected.has(mac)) deny++;
    return { allow: state.introspected.size, deny };
  }

  async started(): Promise<void> {}

  async close(): Promise<void> {}
}
