import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  coerceError,
  createRedisClient,
  type IronicClient,
  type Logger,
  type Metrics,
  type RedisClient,
  type StateStore,
} from '@inspector/shared';
import { UNKNOWN_HOSTS_FILE, planHostsDir, type Policy } from './dnsmasq-plan.ts';
import { HostsDir } from './hosts-dir.ts';
import type { WorkerContext } from '../context.ts';

const run = promisify(execFile);
/** Longest a start or stop command may take: a service manager answers in seconds. */
const COMMAND_TIMEOUT_MS = 60_000;

export interface DnsmasqFilterOptions {
  store: Pick<StateStore, 'ramdiskMacs'>;
  ironic: Pick<IronicClient, 'listPortAddresses'>;
  hostsDir: HostsDir;
  /** A connection of its own, put in subscriber mode, and the channel runs are told on. */
  subscriber: RedisClient;
  channel: string;
  logger: Logger;
  metrics: Pick<Metrics, 'pxeFilterSyncs' | 'pxeFilterMacs'>;
  /** Between full syncs (Ironic's ports listed again); 0: none but the first. */
  periodMs: number;
  /** Discovery is on: a machine Ironic does not know may always boot the ramdisk. */
  discovery: boolean;
  purge: boolean;
  startCommand?: string;
  stopCommand?: string;
}

type SyncKind = 'full' | 'runs';

/**
 * Upstream's dnsmasq PXE filter. A run that begins or ends is told on a Redis channel, and the
 * filter writes its MACs' files at once from what the store holds; Ironic's ports are listed
 * again only every period, as listing them all is the costly part. Syncs never overlap: those
 * asked for meanwhile become one more.
 */
export class DnsmasqFilter {
  readonly #opts: DnsmasqFilterOptions;
  readonly #log: Logger;
  /** Ironic's port MACs at the last listing that answered; null before any did. */
  #ironicMacs: Set<string> | null = null;
  #running: Promise<void> | null = null;
  #pending: SyncKind | null = null;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: DnsmasqFilterOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'pxe-filter' });
  }

  /**
   * Purges the directory, writes the first sync, then starts dnsmasq (its start command): a
   * dnsmasq started first would answer every MAC meanwhile. Throws when the directory cannot be
   * written or the start command fails; Ironic not answering only leaves its MACs to the next
   * full sync.
   */
  async start(): Promise<void> {
    const { hostsDir, subscriber, channel } = this.#opts;
    if (this.#opts.purge) {
      const removed = await hostsDir.purge();
      this.#log.info({ dir: hostsDir.dir, removed }, 'hosts directory purged');
    }
    await this.#syncOnce('full', true);
    if (this.#opts.startCommand) await this.#command('start', this.#opts.startCommand);
    subscriber.on('message', (ch: string) => {
      if (ch === channel) void this.sync('runs');
    });
    // A reconnection may have missed messages: a full sync catches up.
    subscriber.on('ready', () => void this.sync('full'));
    await subscriber.subscribe(channel);
    if (this.#opts.periodMs > 0) {
      this.#timer = setInterval(() => void this.sync('full'), this.#opts.periodMs);
    }
    this.#log.info({ dir: hostsDir.dir }, 'dnsmasq PXE filter started');
  }

  /** Asks for a sync; resolves once none is left to do. */
  sync(kind: SyncKind): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      if (this.#pending !== 'full') this.#pending = kind;
      return this.#running;
    }
    this.#running = (async () => {
      for (let next: SyncKind | null = kind; next && !this.#stopped; next = this.#pending) {
        this.#pending = null;
        await this.#syncOnce(next, false);
      }
    })().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    await this.#opts.subscriber.quit().catch(() => undefined);
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
      const current = await hostsDir.read();
      const changes = planHostsDir({
        introspected: macs,
        ironic: this.#ironicMacs,
        unknownAllowed: discovery || runs > 0,
        current,
      });
      for (const [name, policy] of changes) await hostsDir.write(name, policy);
      this.#count(new Map([...current, ...changes]));
      metrics.pxeFilterSyncs.inc({ result: ironicFailed ? 'failed' : 'ok' });
      this.#log.debug(
        { kind, runs, written: changes.size, ms: Math.round(performance.now() - started) },
        'PXE filter synced',
      );
    } catch (err) {
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
      const e = err as Error & { stderr?: string; code?: unknown };
      const detail = e.stderr?.trim() || e.message;
      throw new Error(`dnsmasq ${what} command failed (${String(e.code)}): ${detail}`, {
        cause: err,
      });
    }
  }
}

/** The filter PXE_FILTER_DRIVER=dnsmasq asks for, on a Redis connection of its own. */
export function dnsmasqFilterFromConfig(ctx: WorkerContext): DnsmasqFilter {
  const { config, logger } = ctx;
  const subscriber = createRedisClient(config.REDIS_URL, 'worker', 'inspector-worker-pxe-filter');
  subscriber.on('error', (err: Error) =>
    logger.warn({ err: err.message }, 'redis connection error (PXE filter)'),
  );
  return new DnsmasqFilter({
    store: ctx.store,
    ironic: ctx.ironic,
    // Required with this driver: the config refuses to load without it.
    hostsDir: new HostsDir(config.DNSMASQ_HOSTSDIR!),
    subscriber,
    channel: ctx.store.keys.runsChanged,
    logger,
    metrics: ctx.metrics,
    periodMs: config.PXE_FILTER_SYNC_PERIOD_S * 1000,
    discovery: config.NODE_NOT_FOUND_HOOK !== undefined,
    purge: config.DNSMASQ_PURGE_HOSTSDIR,
    startCommand: config.DNSMASQ_START_COMMAND,
    stopCommand: config.DNSMASQ_STOP_COMMAND,
  });
}
