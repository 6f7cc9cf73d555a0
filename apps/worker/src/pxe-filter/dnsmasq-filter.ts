import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  coerceError,
  type IronicClient,
  type Logger,
  type Metrics,
  type StateStore,
} from '@inspector/shared';
import { UNKNOWN_HOSTS_FILE, planHostsDir, type Policy } from './dnsmasq-plan.ts';
import { HostsDir } from './hosts-dir.ts';
import type { WorkerContext } from '../context.ts';

const run = promisify(execFile);
/** Longest a start or stop command may take: a service manager answers in seconds. */
const COMMAND_TIMEOUT_MS = 20_000;
/** How often the store's count of runs begun or ended is read: the delay before a run's MACs are written. */
const POLL_MS = 250;

export interface DnsmasqFilterOptions {
  store: Pick<StateStore, 'ramdiskMacs' | 'runsVersion'>;
  ironic: Pick<IronicClient, 'listPortAddresses'>;
  hostsDir: HostsDir;
  logger: Logger;
  metrics: Pick<Metrics, 'pxeFilterSyncs' | 'pxeFilterMacs'>;
  /** Between full syncs (Ironic's ports listed again); 0: every sync is a full one. */
  periodMs: number;
  /** Discovery is on: a machine Ironic does not know may always boot the ramdisk. */
  discovery: boolean;
  purge: boolean;
  startCommand?: string;
  stopCommand?: string;
}

type SyncKind = 'full' | 'runs';

/**
 * Upstream's dnsmasq PXE filter. The store counts runs that begin or end; as the count moves
 * the filter writes the files that change from what the store holds, and Ironic's ports are
 * listed again only every period, listing them all being the costly part. A count in Redis,
 * unlike a pub/sub message, is neither lost across a reconnection nor refused by an ACL without
 * channels. The filter is the directory's only writer, so what it holds is kept in memory and
 * read again on full syncs alone. Syncs never overlap: those asked for meanwhile become one more.
 */
export class DnsmasqFilter {
  readonly #opts: DnsmasqFilterOptions;
  readonly #log: Logger;
  /** Ironic's port MACs at the last listing that answered; null before any did. */
  #ironicMacs: Set<string> | null = null;
  /** The directory's files as last read or written; null when it must be read again. */
  #files: Map<string, Policy | null> | null = null;
  #version: string | null = null;
  #running: Promise<void> | null = null;
  #pending: SyncKind | null = null;
  #polling = false;
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(opts: DnsmasqFilterOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'pxe-filter' });
  }

  /**
   * Purges the directory, writes the first sync, then starts dnsmasq (its start command): a
   * dnsmasq started first would answer every MAC meanwhile. Throws when the directory cannot be
   * written or the start command fails; Ironic not answering only leaves the filter closed to
   * machines it does not know until a full sync lists Ironic's ports.
   */
  async start(): Promise<void> {
    const { hostsDir, periodMs } = this.#opts;
    if (this.#opts.purge) {
      const removed = await hostsDir.purge();
      this.#log.info({ dir: hostsDir.dir, removed }, 'hosts directory purged');
    }
    // Read before the first sync reads the store: a run that begins meanwhile moves it again.
    this.#version = await this.#opts.store.runsVersion();
    await this.#syncOnce('full', true);
    if (this.#opts.startCommand) await this.#command('start', this.#opts.startCommand);
    this.#timers.push(setInterval(() => void this.#poll(), POLL_MS));
    if (periodMs > 0) this.#timers.push(setInterval(() => void this.sync('full'), periodMs));
    this.#log.info({ dir: hostsDir.dir }, 'dnsmasq PXE filter started');
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
    if (this.#opts.stopCommand) {
      await this.#command('stop', this.#opts.stopCommand).catch((err: Error) =>
        this.#log.error({ err: err.message }, 'dnsmasq stop command failed'),
      );
    }
  }

  /** One sync; `fatal`: a failure to read or write the directory throws instead of being logged. */
  async #syncOnce(kind: SyncKind, fatal: boolean): Promise<void> {
    const { store, ironic, hostsDir, metrics, discovery } = this.#opts;
    const started = performance.now();
    let ironicFailed = false;
    if (kind === 'full' || !this.#ironicMacs) {
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
      if (kind === 'full' || !this.#files) this.#files = await hostsDir.read();
      const files = this.#files;
      const changes = planHostsDir({
        introspected: macs,
        ironic: this.#ironicMacs,
        unknownAllowed: discovery || runs > 0,
        current: files,
      });
      for (const [name, policy] of changes) {
        await hostsDir.write(name, policy);
        files.set(name, policy);
      }
      this.#count(files);
      metrics.pxeFilterSyncs.inc({ result: ironicFailed ? 'failed' : 'ok' });
      this.#log.debug(
        { kind, runs, written: changes.size, ms: Math.round(performance.now() - started) },
        'PXE filter synced',
      );
    } catch (err) {
      // A write that failed half way leaves the directory unknown: read it again next time.
      this.#files = null;
      metrics.pxeFilterSyncs.inc({ result: 'failed' });
      if (fatal) throw err;
      this.#log.error({ err: coerceError(err).message }, 'PXE filter sync failed');
    }
  }

  #count(files: Map<string, Policy | null>): void {
    const counts = { allow: 0, deny: 0 };
    for (const [name, policy] of files) {
      if (name !== UNKNOWN_HOSTS_FILE && policy) counts[policy]++;
    }
    for (const [policy, n] of Object.entries(counts)) {
      this.#opts.metrics.pxeFilterMacs.set({ policy }, n);
    }
  }

  async #command(what: 'start' | 'stop', command: string): Promise<void> {
    try {
      await run('/bin/sh', ['-c', command], { timeout: COMMAND_TIMEOUT_MS });
      this.#log.info({ command }, `dnsmasq ${what} command run`);
    } catch (err) {
      const e = err as Error & { stderr?: string; code?: unknown; killed?: boolean };
      const how = e.killed
        ? `timed out after ${COMMAND_TIMEOUT_MS / 1000} s`
        : `exit ${String(e.code)}`;
      const detail = e.stderr?.trim() || e.message;
      throw new Error(`dnsmasq ${what} command failed (${how}): ${detail}`, { cause: err });
    }
  }
}

/** The filter PXE_FILTER_DRIVER=dnsmasq asks for, on a Redis connection of its own. */
export function dnsmasqFilterFromConfig(ctx: WorkerContext): DnsmasqFilter {
  const { config, logger } = ctx;
  return new DnsmasqFilter({
    store: ctx.store,
    ironic: ctx.ironic,
    // Required with this driver: the config refuses to load without it.
    hostsDir: new HostsDir(config.DNSMASQ_HOSTSDIR!),
    logger,
    metrics: ctx.metrics,
    periodMs: config.PXE_FILTER_SYNC_PERIOD_S * 1000,
    discovery: config.NODE_NOT_FOUND_HOOK !== undefined,
    purge: config.DNSMASQ_PURGE_HOSTSDIR,
    startCommand: config.DNSMASQ_START_COMMAND,
    stopCommand: config.DNSMASQ_STOP_COMMAND,
  });
}
