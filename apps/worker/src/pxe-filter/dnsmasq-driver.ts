import type { Logger } from '@inspector/shared';
import { UNKNOWN_HOSTS_FILE, planHostsDir, type Policy } from './dnsmasq-plan.ts';
import { type FilterCounts, type FilterDriver, type FilterState } from './filter-driver.ts';
import { runCommand } from './run-command.ts';
import type { HostsDir } from './hosts-dir.ts';

/** Longest a start or stop command may take: a service manager answers in seconds. */
export const COMMAND_TIMEOUT_MS = 20_000;

export interface DnsmasqDriverOptions {
  hostsDir: HostsDir;
  /** Empty the directory before the first sync. */
  purge: boolean;
  /** Shell commands run after the first sync, and when the worker stops. */
  startCommand?: string;
  stopCommand?: string;
  logger: Logger;
}

/**
 * Upstream's dnsmasq driver: dnsmasq's --dhcp-hostsdir, one file per MAC (dnsmasq-plan.ts). The
 * driver is the directory's only writer, so what it holds is kept in memory, and read back on
 * full syncs alone: a directory of every MAC Ironic has is thousands of files.
 */
export class DnsmasqDriver implements FilterDriver {
  readonly name = 'dnsmasq';
  readonly #opts: DnsmasqDriverOptions;
  /** The directory's files as last read or written; null when it must be read again. */
  #files: Map<string, Policy | null> | null = null;

  constructor(opts: DnsmasqDriverOptions) {
    this.#opts = opts;
  }

  async prepare(): Promise<void> {
    const { hostsDir, purge, logger } = this.#opts;
    if (!purge) return;
    const removed = await hostsDir.purge();
    logger.info({ dir: hostsDir.dir, removed }, 'hosts directory purged');
  }

  async apply(state: FilterState, full: boolean): Promise<FilterCounts> {
    const { hostsDir } = this.#opts;
    try {
      if (full || !this.#files) this.#files = await hostsDir.read();
      const files = this.#files;
      for (const [name, policy] of planHostsDir({ ...state, current: files })) {
        await hostsDir.write(name, policy);
        files.set(name, policy);
      }
      const counts = { allow: 0, deny: 0 };
      for (const [name, policy] of files) {
        if (name !== UNKNOWN_HOSTS_FILE && policy) counts[policy]++;
      }
      return counts;
    } catch (err) {
      // A write that failed half way leaves the directory unknown: read it again next time.
      this.#files = null;
      throw err;
    }
  }

  /** dnsmasq is started only now: started first, it would answer every MAC meanwhile. */
  async started(): Promise<void> {
    if (this.#opts.startCommand) await this.#command('start', this.#opts.startCommand);
  }

  async close(): Promise<void> {
    if (!this.#opts.stopCommand) return;
    await this.#command('stop', this.#opts.stopCommand).catch((err: Error) =>
      this.#opts.logger.error({ err: err.message }, 'dnsmasq stop command failed'),
    );
  }

  async #command(what: 'start' | 'stop', command: string): Promise<void> {
    await runCommand(['/bin/sh', '-c', command], COMMAND_TIMEOUT_MS, `dnsmasq ${what} command`);
    this.#opts.logger.info({ command }, `dnsmasq ${what} command run`);
  }
}
