import {
  coerceError,
  type IronicClient,
  type Logger,
  type Metrics,
  type StateStore,
} from '@inspector/shared';
import type { WorkerContext } from '../context.ts';
import { DnsmasqDriver } from './dnsmasq-driver.ts';
import type { FilterDriver } from './filter-driver.ts';
import { HostsDir } from './hosts-dir.ts';
import { IptablesDriver } from './iptables-driver.ts';

/** How often the store's count of runs begun or ended is read: the delay before a run's MACs are written. */
const POLL_MS = 250;

export interface PxeFilterOptions {
  driver: FilterDriver;
  store: Pick<StateStore, 'ramdiskMacs' | 'runsVersion'>;
  ironic: Pick<IronicClient, 'listPortAddresses'>;
  logger: Logger;
  metrics: Pick<Metrics, 'pxeFilterSyncs' | 'pxeFilterMacs'>;
  /** Between full syncs (Ironic's ports listed again); 0: every sync is a full one. */
  periodMs: number;
  /** Discovery is on: a machine Ironic does not know may always boot the ramdisk. */
  discovery: boolean;
}

type SyncKind = 'full' | 'runs';

/**
 * Upstream's PXE filter, whatever the driver. The store counts runs that begin or end; as the
 * count moves the filter applies what the store holds, and Ironic's ports are listed again only
 * every period, listing them all being the costly part. A count in Redis, unlike a pub/sub
 * message, is neither lost across a reconnection nor refused by an ACL without channels. Syncs
 * never overlap: those asked for meanwhile become one more.
 */
export class PxeFilter {
  readonly #opts: PxeFilterOptions;
  readonly #log: Logger;
  /** Ironic's port MACs at the last listing that answered; null before any did. */
  #ironicMacs: Set<string> | null = null;
  #version: string | null = null;
  #running: Promise<void> | null = null;
  #pending: SyncKind | null = null;
  #polling = false;
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(opts: PxeFilterOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'pxe-filter', driver: opts.driver.name });
  }

  /**
   * Prepares the driver, applies the first sync, then tells the driver it has started. Throws
   * when the driver cannot do its part; Ironic not answering only leaves the filter closed to
   * machines it does not know until a full sync lists Ironic's ports.
   */
  async start(): Promise<void> {
    const { driver, periodMs } = this.#opts;
    await driver.prepare();
    // Read before the first sync reads the store: a run that begins meanwhile moves it again.
    this.#version = await this.#opts.store.runsVersion();
    await this.#syncOnce('full', true);
    await driver.started();
    this.#timers.push(setInterval(() => void this.#poll(), POLL_MS));
    if (periodMs > 0) this.#timers.push(setInterval(() => void this.sync('full'), periodMs));
    this.#log.info('PXE filter started');
  }

  /** Asks for a sync; resolves once none is left to do. */
  sync(kind: SyncKind): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#pending !== 'full') this.#pending = kind;
    this.#running ??= this.#drain();
    return this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#pending && !this.#stopped) {
      const kind = this.#pending;
      this.#pending = null;
      await this.#syncOnce(kind, false);
    }
    // Cleared in the same turn as the last check of #pending: a sync asked for after it starts anew.
    this.#running = null;
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#stopped) return;
    this.#polling = true;
    try {
      const version = await this.#opts.store.runsVersion();
      if (version !== this.#version) {
        this.#version = version;
        void this.sync(this.#opts.periodMs > 0 ? 'runs' : 'full');
      }
    } catch (err) {
      this.#log.debug({ err: coerceError(err).message }, 'PXE filter: runs not read');
    } finally {
      this.#polling = false;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#running;
    await this.#opts.driver.close();
  }

  /** One sync; `fatal`: the driver failing throws instead of being logged. */
  async #syncOnce(kind: SyncKind, fatal: boolean): Promise<void> {
    const { store, ironic, driver, metrics, discovery } = this.#opts;
    const started = performance.now();
    let ironicFailed = false;
    const full = kind === 'full' || !this.#ironicMacs;
    if (full) {
      try {
        this.#ironicMacs = await ironic.listPortAddresses({ retry: false });
      } catch (err) {
        ironicFailed = true;
        this.#log.warn(
          { err: coerceError(err).message },
          "PXE filter: Ironic's ports not listed, its MACs are left as they were",
        );
      }
    }
    try {
      const { runs, macs } = await store.ramdiskMacs();
      const counts = await driver.apply(
        { introspected: macs, ironic: this.#ironicMacs, unknownAllowed: discovery || runs > 0 },
        full,
      );
      for (const [policy, n] of Object.entries(counts)) metrics.pxeFilterMacs.set({ policy }, n);
      metrics.pxeFilterSyncs.inc({ result: ironicFailed ? 'failed' : 'ok' });
      this.#log.debug(
        { kind, runs, ms: Math.round(performance.now() - started) },
        'PXE filter synced',
      );
    } catch (err) {
      metrics.pxeFilterSyncs.inc({ result: 'failed' });
      if (fatal) throw err;
      this.#log.error({ err: coerceError(err).message }, 'PXE filter sync failed');
    }
  }
}

/** The filter PXE_FILTER_DRIVER asks for, or null for `noop`. */
export function pxeFilterFromConfig(ctx: WorkerContext): PxeFilter | null {
  const { config, logger } = ctx;
  let driver: FilterDriver;
  switch (config.PXE_FILTER_DRIVER) {
    case 'noop':
      return null;
    case 'dnsmasq':
      driver = new DnsmasqDriver({
        // Required with this driver: the config refuses to load without it.
        hostsDir: new HostsDir(config.DNSMASQ_HOSTSDIR!),
        purge: config.DNSMASQ_PURGE_HOSTSDIR,
        startCommand: config.DNSMASQ_START_COMMAND,
        stopCommand: config.DNSMASQ_STOP_COMMAND,
        logger,
      });
      break;
    case 'iptables':
      driver = new IptablesDriver({
        command: config.IPTABLES_COMMAND ?? [
          config.IPTABLES_IP_VERSION === '6' ? 'ip6tables' : 'iptables',
        ],
        iface: config.IPTABLES_INTERFACE,
        chain: config.IPTABLES_CHAIN,
        ipVersion: config.IPTABLES_IP_VERSION,
        logger,
      });
      break;
  }
  return new PxeFilter({
    driver,
    store: ctx.store,
    ironic: ctx.ironic,
    logger,
    metrics: ctx.metrics,
    periodMs: config.PXE_FILTER_SYNC_PERIOD_S * 1000,
    discovery: config.NODE_NOT_FOUND_HOOK !== undefined,
  });
}
