import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from './redis.ts';
import type { Config } from './config.ts';
import {
  JOBS_TO_QUEUE,
  JOB_SCHEMAS,
  QueueName,
  defaultJobOptions,
  jobId,
  type JobData,
  type JobName,
  type NodeJob,
} from './jobs.ts';

/** The producer side of every queue, shared by the API and the workers. */
export class Queues {
  readonly byName: Record<QueueName, Queue>;
  readonly #config: Config;

  constructor(connection: RedisClient, config: Config) {
    this.#config = config;
    const opts = {
      connection,
      prefix: config.REDIS_PREFIX,
      defaultJobOptions: defaultJobOptions(config),
      // Dashboards read recent events only; 10,000 per queue (BullMQ's default) is memory for nothing.
      streams: { events: { maxLen: 1000 } },
    };
    this.byName = Object.fromEntries(
      Object.values(QueueName).map((name) => {
        const queue = new Queue(name, opts);
        // Connection errors are logged once by the connection's owner; without a listener
        // BullMQ prints each one as a raw stack trace in the middle of the JSON logs.
        queue.on('error', () => undefined);
        return [name, queue];
      }),
    ) as Record<QueueName, Queue>;
  }

  /** Adds a job for one run of one node, under its stable id. */
  async add<N extends Exclude<JobName, 'cleanup'>>(
    name: N,
    data: JobData<N>,
    opts: JobsOptions = {},
  ): Promise<void> {
    const payload = JOB_SCHEMAS[name].parse(data) as NodeJob;
    await this.byName[JOBS_TO_QUEUE[name]].add(name, payload, {
      jobId: jobId(name, payload),
      ...opts,
    });
  }

  /** Schedules the timeout of a run, unless timeouts are disabled. */
  async scheduleTimeout(data: NodeJob): Promise<void> {
    if (this.#config.INTROSPECTION_TIMEOUT_S === 0) return;
    await this.add('timeout', data, {
      delay: this.#config.INTROSPECTION_TIMEOUT_S * 1000,
      attempts: 5,
    });
  }

  /** Drops the delayed timeout job of a run that has ended, so it does not wait in Redis for nothing. */
  async cancelTimeout(data: NodeJob): Promise<void> {
    await this.byName[JOBS_TO_QUEUE.timeout].remove(jobId('timeout', data));
  }

  /** Drops finished jobs older than the configured retention from every queue. */
  async trim(): Promise<number> {
    let removed = 0;
    for (const queue of Object.values(this.byName)) {
      removed += (await queue.clean(this.#config.COMPLETED_JOB_KEEP_S * 1000, 10_000, 'completed'))
        .length;
      removed += (await queue.clean(this.#config.FAILED_JOB_KEEP_S * 1000, 10_000, 'failed'))
        .length;
    }
    return removed;
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.byName).map((q) => q.close()));
  }
}
