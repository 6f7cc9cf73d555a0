import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BmcErrorKind } from './bmc/bmc-error.ts';
import { withTimeout } from './health.ts';
import { JOBS_TO_QUEUE } from './jobs.ts';
import type { Queues } from './queues.ts';
import type { StoreChange } from './store/state-store.ts';

/**
 * The Prometheus metrics of one process (API or worker), on a registry of its
 * own so two apps in one process (tests) never share a series. Labels come
 * from small fixed sets: never a node id, a BMC address or anything secret.
 */

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];
/** Jobs per state, per queue name. */
export type QueueCounts = Record<string, Partial<Record<QueueState, number>>>;

export const IRONIC_OPERATIONS = [
  'get_node',
  'validate_node',
  'list_ports',
  'create_port',
  'delete_port',
  'update_node',
  'set_boot_device',
  'get_boot_device',
  'set_power_state',
  'add_trait',
  'remove_trait',
  'find_port',
  'list_nodes',
  'create_node',
  'other',
] as const;
export type IronicOperation = (typeof IRONIC_OPERATIONS)[number];

// The client names its calls in free text with node ids in them ("Get node <uuid>").
const IRONIC_PATTERNS: [RegExp, IronicOperation][] = [
  [/^Get node /, 'get_node'],
  [/^Validate node /, 'validate_node'],
  [/^List ports\b/, 'list_ports'],
  [/^Create port /, 'create_port'],
  [/^Delete port /, 'delete_port'],
  [/^Update node /, 'update_node'],
  [/^Set boot device /, 'set_boot_device'],
  [/^Get boot device /, 'get_boot_device'],
  [/^Set power state /, 'set_power_state'],
  [/^Add trait /, 'add_trait'],
  [/^Remove trait /, 'remove_trait'],
  [/^Find port /, 'find_port'],
  [/^List nodes/, 'list_nodes'],
  [/^Create node$/, 'create_node'],
];

export function ironicOperation(description: string): IronicOperation {
  return IRONIC_PATTERNS.find(([re]) => re.test(description))?.[1] ?? 'other';
}

/** `2xx`..`5xx`, or `none` when Ironic did not answer (status 0). */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}

export const BMC_OPERATIONS = [
  'power_status',
  'power_on',
  'power_off',
  'power_soft',
  'power_cycle',
  'get_boot_device',
  'set_boot_device',
  'mc_info',
  'other',
] as const;
export type BmcOperation = (typeof BMC_OPERATIONS)[number];

const BMC_NAMES: Record<string, BmcOperation> = {
  'power status': 'power_status',
  'power on': 'power_on',
  'power off': 'power_off',
  'power soft': 'power_soft',
  'power cycle': 'power_cycle',
  'bootparam get 5': 'get_boot_device',
  'mc info': 'mc_info',
};

/** Maps the ipmitool driver's operation names (`power on`, `bootdev pxe`) onto the label set. */
export function bmcOperation(name: string): BmcOperation {
  if (name.startsWith('bootdev ')) return 'set_boot_device';
  return BMC_NAMES[name] ?? 'other';
}

export type QueueCountsSource = () => Promise<QueueCounts>;

/** Reads the counts of every queue, one round trip per queue. */
export function queueCountsOf(queues: Queues): QueueCountsSource {
  return async () => {
    const entries = await Promise.all(
      Object.entries(queues.byName).map(
        async ([name, queue]) => [name, await queue.getJobCounts(...QUEUE_STATES)] as const,
      ),
    );
    return Object.fromEntries(entries);
  };
}

export interface QueueTrackingOptions {
  /** Counts younger than this are served from memory, so frequent scrapes cost Redis nothing. Default 2000. */
  cacheMs?: number;
  /** A scrape waits no longer than this for Redis; past it the gauge is left empty. Default 1000. */
  timeoutMs?: number;
}

const SECONDS_FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SECONDS_BMC = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SECONDS_JOB = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const SECONDS_RUN = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

export class Metrics {
  readonly registry = new Registry();

  readonly introspectionsStarted = new Counter({
    name: 'inspector_introspections_started_total',
    help: 'Runs started (kind=introspect), started for a node discovery created (kind=discover) or reapplied (kind=reapply) by this process',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly introspectionsFinished = new Counter({
    name: 'inspector_introspections_finished_total',
    help: 'Runs this process moved to finished',
    registers: [this.registry],
  });

  readonly introspectionsFailed = new Counter({
    name: 'inspector_introspections_failed_total',
    help: 'Runs this process moved to error, by reason: error, timeout or aborted',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly runDuration = new Histogram({
    name: 'inspector_introspection_duration_seconds',
    help: 'Whole runs, from started_at to finished_at, by outcome: finished or error',
    labelNames: ['outcome'] as const,
    buckets: SECONDS_RUN,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'inspector_job_duration_seconds',
    help: 'Time a worker spent on one job attempt (job="process": processing ramdisk data), by outcome: completed or failed',
    labelNames: ['job', 'outcome'] as const,
    buckets: SECONDS_JOB,
    registers: [this.registry],
  });

  readonly ironicDuration = new Histogram({
    name: 'inspector_ironic_request_duration_seconds',
    help: 'Ironic HTTP exchanges (each retry counts), by operation and status class (none: no answer)',
    labelNames: ['operation', 'status_class'] as const,
    buckets: SECONDS_FAST,
    registers: [this.registry],
  });

  readonly ironicErrors = new Counter({
    name: 'inspector_ironic_request_errors_total',
    help: 'Ironic exchanges answered with 4xx/5xx or not answered at all',
    labelNames: ['operation', 'status_class'] as const,
    registers: [this.registry],
  });

  readonly bmcDuration = new Histogram({
    name: 'inspector_bmc_call_duration_seconds',
    help: 'ipmitool calls to BMCs (each retry counts), by operation and result: ok or error',
    labelNames: ['operation', 'result'] as const,
    buckets: SECONDS_BMC,
    registers: [this.registry],
  });

  readonly bmcErrors = new Counter({
    name: 'inspector_bmc_call_errors_total',
    help: 'Failed ipmitool calls, by operation and kind: config, auth, unreachable, timeout, command',
    labelNames: ['operation', 'kind'] as const,
    registers: [this.registry],
  });

  readonly ironicSyncs = new Counter({
    name: 'inspector_ironic_sync_total',
    help: 'Ironic sync passes, by result: ok, or failed when Ironic could not be listed or stopped answering mid-pass',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly pxeFilterSyncs = new Counter({
    name: 'inspector_pxe_filter_sync_total',
    help: 'PXE filter syncs, by result: ok, or failed when Ironic could not be listed or the driver failed (hosts directory not written, iptables refused)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly pxeFilterMacs = new Gauge({
    name: 'inspector_pxe_filter_macs',
    help: 'MAC addresses the PXE filter let through (allow: under introspection) or kept out (deny) at its last sync',
    labelNames: ['policy'] as const,
    registers: [this.registry],
  });

  readonly ironicSyncDropped = new Counter({
    name: 'inspector_ironic_sync_dropped_total',
    help: 'Runs dropped, status and data, because their node was deleted from Ironic',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** For `ironicClientFromConfig(config, caller, metrics.ironicCall)`. */
  readonly ironicCall = (description: string, status: number, seconds: number): void => {
    const labels = { operation: ironicOperation(description), status_class: statusClass(status) };
    this.ironicDuration.observe(labels, seconds);
    if (status === 0 || status >= 400) this.ironicErrors.inc(labels);
  };

  /** For the ipmitool driver's `onCall` option. */
  readonly bmcCall = (name: string, ok: boolean, seconds: number, kind?: BmcErrorKind): void => {
    const operation = bmcOperation(name);
    this.bmcDuration.observe({ operation, result: ok ? 'ok' : 'error' }, seconds);
    if (!ok) this.bmcErrors.inc({ operation, kind: kind ?? 'command' });
  };

  /** For the state store's `onChange`: counts runs where their state changes. */
  readonly storeChange = (change: StoreChange): void => {
    if (change.event === 'start') {
      this.introspectionsStarted.inc({
        kind: change.to === 'enrolling' ? 'discover' : 'introspect',
      });
    }
    if (change.event === 'reapply') this.introspectionsStarted.inc({ kind: 'reapply' });
    const seconds = Math.max(change.at - change.startedAt, 0) / 1000;
    if (change.to === 'finished') {
      this.introspectionsFinished.inc();
      this.runDuration.observe({ outcome: 'finished' }, seconds);
    } else if (change.to === 'error') {
      const reason =
        change.event === 'timeout' ? 'timeout' : change.event === 'abort_end' ? 'aborted' : 'error';
      this.introspectionsFailed.inc({ reason });
      this.runDuration.observe({ outcome: 'error' }, seconds);
    }
  };

  /** Records one finished job attempt; a name that is none of ours (added by hand) counts as `other`. */
  jobAttempt(name: string, outcome: 'completed' | 'failed', seconds: number): void {
    const job = Object.hasOwn(JOBS_TO_QUEUE, name) ? name : 'other';
    this.jobDuration.observe({ job, outcome }, seconds);
  }

  /**
   * Adds `inspector_queue_jobs{queue,state}`, read from `source` when scraped.
   * A scrape within `cacheMs` of the last read, or while a read is under way,
   * reuses it, so many scrapers (or one Redis outage) never pile up commands.
   */
  trackQueues(source: QueueCountsSource, opts: QueueTrackingOptions = {}): void {
    const cacheMs = opts.cacheMs ?? 2000;
    const timeoutMs = opts.timeoutMs ?? 1000;
    let cached: { at: number; counts: QueueCounts } | null = null;
    let reading: Promise<QueueCounts> | null = null;
    const read = (): Promise<QueueCounts> => {
      if (cached && Date.now() - cached.at < cacheMs) return Promise.resolve(cached.counts);
      reading ??= source()
        .then((counts) => {
          cached = { at: Date.now(), counts };
          return counts;
        })
        .finally(() => {
          reading = null;
        });
      return withTimeout(reading, timeoutMs, 'queue counts');
    };
    const gauge = new Gauge({
      name: 'inspector_queue_jobs',
      help: 'Jobs per queue and state (the same figures from every process: aggregate with max)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        gauge.reset();
        let counts: QueueCounts;
        try {
          counts = await read();
        } catch {
          // Better no series than stale ones while Redis cannot be read.
          return;
        }
        for (const [queue, states] of Object.entries(counts)) {
          for (const state of QUEUE_STATES) gauge.set({ queue, state }, states[state] ?? 0);
        }
      },
    });
  }
}
