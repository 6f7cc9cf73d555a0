import type { Job } from 'bullmq';
import type { JobName } from '@inspector/shared';
import type { WorkerContext } from '../context.ts';
import { abort } from './abort.ts';
import { cleanup } from './cleanup.ts';
import { introspect } from './introspect.ts';
import { processor, reapplier } from './process.ts';
import { ramdiskLogs } from './ramdisk-logs.ts';
import { timeout } from './timeout.ts';

/** `token` is the job's lock, which a processor needs to move its job to the delayed set. */
export type Processor = (ctx: WorkerContext, job: Job, token?: string) => Promise<void>;

/** One processor per job name; a job name without one does not compile. */
export function processors(ctx: WorkerContext): Record<JobName, Processor> {
  const policy = {
    attempts: ctx.config.CREDENTIALS_CHECK_ATTEMPTS,
    intervalMs: ctx.config.CREDENTIALS_CHECK_INTERVAL_MS,
  };
  return {
    introspect,
    abort,
    process: processor(policy),
    reapply: reapplier(policy),
    timeout,
    'ramdisk-logs': ramdiskLogs,
    cleanup: (c) => cleanup(c),
  } satisfies Record<JobName, Processor>;
}
