import { IptablesChainName, type Logger } from '@inspector/shared';
import { planChain, restoreInput } from './iptables-plan.ts';
import { type FilterCounts, type FilterDriver, type FilterState } from './filter-driver.ts';
import { runCommand } from './run-command.ts';

/** Longest one iptables call may take, waiting for the xtables lock included (`-w`). */
const IPTABLES_TIMEOUT_MS = 20_000;
/** A check that only warns: a sudo asking for a password must not hold the start long. */
const INTERFACE_CHECK_TIMEOUT_MS = 5_000;

export interface IptablesDriverOptions {
  /**
   * The iptables command's words (`['iptables']`, `['sudo', 'ip6tables']`); its last word with
   * `-restore` appended is the restore command (`sudo ip6tables-restore`).
   */
  command: readonly [string, ...string[]];
  /** Where DHCP requests arrive: the interface dnsmasq (or any DHCP server) listens on. */
  iface: string;
  chain: string;
  ipVersion: '4' | '6';
  logger: Logger;
}

/**
 * Upstream's iptables driver: a chain of the filter table that DHCP requests on one interface
 * jump to from INPUT (UDP 67, or 547 for DHCPv6), with a rule per MAC (iptables-plan.ts). Unlike
 * upstream, which runs iptables once per rule (seconds per change with a thousand ports: each
 * call reads and writes the whole table), the chain is written by one `iptables-restore
 * --noflush`, atomically. A chain the same as the last is not written again but on full syncs,
 * which also put back a jump someone removed (a firewall reload, say). The chain stays when the
 * worker stops: removing it would let every deployed node boot the inspection ramdisk; the next
 * start replaces it.
 */
export class IptablesDriver implements FilterDriver {
  readonly name = 'iptables';
  readonly #opts: IptablesDriverOptions;
  /** The command's words before the tool (`sudo`, `ip netns exec lab`): they run `ip` too. */
  readonly #prefix: readonly string[];
  readonly #restore: string[];
  /** The restore input last applied; null when the chain must be written again. */
  #applied: string | null = null;

  constructor(opts: IptablesDriverOptions) {
    // Checked again here, not only in the config: a built-in's name would have the driver write INPUT.
    const name = IptablesChainName.safeParse(opts.chain);
    if (!name.success) {
      throw new Error(
        `iptables chain ${JSON.stringify(opts.chain)}: ${name.error.issues[0]?.message}`,
      );
    }
    this.#opts = opts;
    this.#prefix = opts.command.slice(0, -1);
    this.#restore = [...this.#prefix, `${opts.command.at(-1)}-restore`];
  }

  #run(...args: string[]): Promise<string> {
    return runCommand([...this.#opts.command, '-w', ...args], IPTABLES_TIMEOUT_MS);
  }

  #jump(): string[] {
    const port = this.#opts.ipVersion === '6' ? '547' : '67';
    const { iface, chain } = this.#opts;
    return ['INPUT', '-i', iface, '-p', 'udp', '--dport', port, '-j', chain];
  }

  async prepare(): Promise<void> {
    // Both commands are tried, changing nothing: either missing fails the start, naming it.
    await this.#run('-S', 'INPUT');
    const test = [...this.#restore, '-w', '--test', '--noflush'];
    await runCommand(test, IPTABLES_TIMEOUT_MS, test.join(' '), '*filter\nCOMMIT\n');
    const { iface, logger } = this.#opts;
    if (iface.endsWith('+')) return;
    // Asked where iptables runs, with the command's prefix. Not fatal (a bridge may be made
    // later), but until it exists the jump matches no request.
    const show = [...this.#prefix, 'ip', '-o', 'link', 'show', 'dev', iface];
    await runCommand(show, INTERFACE_CHECK_TIMEOUT_MS).catch((err: Error) =>
      logger.warn(
        { iface, err: err.message },
        // `ip` may be missing, or not allowed by sudo: then nothing is known of the interface.
        /does not exist/.test(err.message)
          ? 'PXE filter: interface not found; DHCP requests skip the chain until it appears'
          : 'PXE filter: could not check the interface with ip link; DHCP requests skip the chain while it is missing',
      ),
    );
  }

  async apply(state: FilterState, full: boolean): Promise<FilterCounts> {
    const input = restoreInput(this.#opts.chain, planChain(state));
    if (full || input !== this.#applied) {
      this.#applied = null;
      const argv = [...this.#restore, '-w', '--noflush'];
      await runCommand(argv, IPTABLES_TIMEOUT_MS, argv.join(' '), input);
      // Only now: a jump to a chain not yet written would send requests nowhere, or fail.
      if (
        !(await this.#run('-C', ...this.#jump()).then(
          () => true,
          () => false,
        ))
      ) {
        await this.#run('-I', ...this.#jump());
      }
      this.#applied = input;
    }
    // Counted as the dnsmasq driver counts its files, whichever rules stand for them.
    let deny = 0;
    for (const mac of state.ironic ?? []) if (!state.introspected.has(mac)) deny++;
    return { allow: state.introspected.size, deny };
  }

  async started(): Promise<void> {}

  async close(): Promise<void> {}
}
