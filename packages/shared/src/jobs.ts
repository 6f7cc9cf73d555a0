import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from './config.ts';

export const JobName = {
  Introspect: 'introspect',
  Process: 'process',
  Reapply: 'reapply',
  Abort: 'abort',
  Timeout: 'timeout',
  RamdiskLogs: 'ramdisk-logs',
  Cleanup: 'cleanup',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

export const QueueName = {
  Introspection: 'introspection',
  Processing: 'processing',
  Timeouts: 'timeouts',
  Maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** Every job has exactly one queue; a job without one does not compile. */
export const JOBS_TO_QUEUE = {
  introspect: QueueName.Introspection,
  abort: QueueName.Introspection,
  process: QueueName.Processing,
  reapply: QueueName.Processing,
  'ramdisk-logs': QueueName.Processing,
  timeout: QueueName.Timeouts,
  cleanup: QueueName.Maintenance,
} as const satisfies Record<JobName, QueueName>;

/** A job about one run of one node: ids only, never secrets or data. */
export const NodeJobSchema = z.object({
  // Any 8-4-4-4-12 hex id, as Ironic takes: z.uuid() refuses the non-RFC-4122 ones that nodes
  // named after their SMBIOS UUID often carry.
  node: z.guid(),
  gen: z.number().int().positive(),
  reqId: z.string().max(200),
  /**
   * A boot job's only: the node's run this one replaced, whose boot job may still be trying its
   * reboot (restarted while waiting, or ended by a timeout during a reboot Ironic held).
   */
  replaced: z.number().int().positive().optional(),
});
export type NodeJob = z.infer<typeof NodeJobSchema>;

export const CleanupJobSchema = z.object({});

export const JOB_SCHEMAS = {
  introspect: NodeJobSchema,
  abort: NodeJobSchema,
  process: NodeJobSchema,
  reapply: NodeJobSchema,
  timeout: NodeJobSchema,
  'ramdisk-logs': NodeJobSchema,
  cleanup: CleanupJobSchema,
} as const satisfies Record<JobName, z.ZodType>;

export type JobData<N extends JobName> = z.infer<(typeof JOB_SCHEMAS)[N]>;

/** Stable ids (no ':') so a duplicate enqueue of the same run's job is dropped by BullMQ. */
export function jobId(name: JobName, data: NodeJob): string {
  return `${name}-${data.node}-${data.gen}`;
}

export function defaultJobOptions(
  config: Pick<
    Config,
    'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS' | 'COMPLETED_JOB_KEEP_S' | 'FAILED_JOB_KEEP_S'
  >,
): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS, jitter: 0.5 },
    removeOnComplete: { age: config.COMPLETED_JOB_KEEP_S, count: 10_000 },
    removeOnFail: { age: config.FAILED_JOB_KEEP_S, count: 10_000 },
  };
}
