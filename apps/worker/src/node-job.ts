import { DelayedError, type Job } from 'bullmq';
import {
  NodeJobSchema,
  TRANSITIONS,
  coerceError,
  type JobName,
  type Logger,
  type NodeJob,
  type NodeRecord,
  type State,
} from '@inspector/shared';
import type { WorkerContext } from './context.ts';
import { endRun } from './end-run.ts';
import { isTransient } from './transient.ts';

/**
 * A job that could not be moved back to BullMQ's delayed set: it stays active, and whoever holds
 * its lock (another worker, once this one's lock expired) or the stalled-job check carries it on.
 * The run is not this worker's to end over it.
 */
export class JobNotDelayed extends Error {
  constructor(cause: unknown) {
    super(`could not delay the job: ${coerceError(cause).message}`, { cause });
    this.name = 'JobNotDelayed';
  }
}

/**
 * The run states each job carries a run on from. A job does its work only for a run in one of
 * them, and its failure ends the run only from one of them: a run another job has taken over
 * meanwhile (the ramdisk called back while a boot retry failed, an operator aborted) is that
 * job's to end. Ramdisk logs never end a run.
 */
export const JOB_RUN_STATES = {
  introspect: ['starting', 'waiting'],
  process: ['processing'],
  reapply: ['reapplying'],
  abort: ['aborting'],
  timeout: TRANSITIONS.timeout.from,
  'ramdisk-logs': [],
  cleanup: [],
} as const satisfies Record<JobName, readonly State[]>;

/** Thrown by {@link assertRunStillIn}: the job stops, as its run is no longer its own. */
export class RunMovedOn extends Error {
  constructor(readonly state: string) {
    super(`run moved on (now ${state || 'gone'})`);
    this.name = 'RunMovedOn';
  }
}

/** Whether `record` is the job's run, in one of `states`. */
function isRunIn(
  record: Pick<NodeRecord, 'gen' | 'state'>,
  job: NodeJob,
  states: readonly State[],
): boolean {
  return record.gen === job.gen && states.includes(record.state);
}

/**
 * Checks again, before acting on the node, that the job's run is still in one of `states`. A
 * slow Ironic can hold a job for minutes, meanwhile the run may have timed out and the node
 * been started again: a leftover job must not power off the node of the new run.
 */
export async function assertRunStillIn(
  ctx: WorkerContext,
  job: NodeJob,
  states: readonly State[],
): Promise<void> {
  const run = await ctx.store.runState(job.node);
  if (!run || !isRunIn(run, job, states))
    throw new RunMovedOn(run?.gen === job.gen ? run.state : '');
}

export interface NodeJobScope {
  job: NodeJob;
  /** BullMQ's id of the job: the same across its retries. */
  jobId: string;
  record: NodeRecord;
  log: Logger;
}

/**
 * Runs one job about one run of one node. A job for an older run, or for a
 * node no longer in `expected` state, is a no-op. A failure is retried by
 * BullMQ while it is transient and attempts remain; otherwise it ends the run
 * in error with a message that names the node and the operation. A job that
 * delays itself (DelayedError), or fails to (JobNotDelayed), is left to BullMQ.
 */
export async function runNodeJob(
  ctx: WorkerContext,
  bullJob: Job,
  expected: readonly State[],
  body: (scope: NodeJobScope) => Promise<void>,
): Promise<void> {
  const job = NodeJobSchema.parse(bullJob.data);
  const log = ctx.logger.child({
    node: job.node,
    gen: job.gen,
    reqId: job.reqId,
    jobId: bullJob.id,
    job: bullJob.name,
  });
  const record = await ctx.store.get(job.node);
  if (!record || !isRunIn(record, job, expected)) {
    log.info(
      { state: record?.state, currentGen: record?.gen },
      'job is for a past run or state: skipped',
    );
    return;
  }
  try {
    await body({ job, jobId: String(bullJob.id), record, log });
  } catch (thrown) {
    // The job moved itself to the delayed set, to run again later: not a failure.
    if (thrown instanceof DelayedError) throw thrown;
    if (thrown instanceof RunMovedOn) {
      log.info({ state: thrown.state }, `${thrown.message}: node left as it is`);
      return;
    }
    if (thrown instanceof JobNotDelayed) {
      log.warn({ err: thrown.message }, 'job left to BullMQ, run left as it is');
      throw thrown;
    }
    const err = coerceError(thrown);
    const attempts = bullJob.opts.attempts ?? 1;
    if (isTransient(err) && bullJob.attemptsMade + 1 < attempts) {
      log.warn(
        { err: err.message, attempt: bullJob.attemptsMade + 1 },
        'transient failure, will retry',
      );
      throw err;
    }
    log.error({ err: err.message }, 'run failed');
    const moved = await endRun(ctx, job, 'error', {
      error: err.message,
      record,
      onlyFrom: expected,
    });
    if (!moved.ok) log.info({ state: moved.state }, 'run had already moved on');
  }
}
