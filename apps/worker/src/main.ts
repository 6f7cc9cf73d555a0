import {
  closeConnections,
  createLogger,
  loadConfigOrExit,
  openConnections,
} from '@inspector/shared';
import { createWorkerContext } from './context.ts';
import { startWorkerOps } from './ops/worker-ops.ts';
import { pxeFilterFromConfig } from './pxe-filter/pxe-filter.ts';
import { scheduleCleanup, startWorkers } from './workers.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const logger = createLogger(config.LOG_LEVEL, 'worker');
  const connections = openConnections(config, 'worker', logger);
  const ctx = createWorkerContext(config, logger, connections);
  // Listen before taking jobs: a worker its orchestrator cannot probe should not start.
  const ops = await startWorkerOps(ctx, connections).catch((err: Error) => {
    logger.fatal(err.message);
    process.exit(1);
  });
  // Written before jobs are taken: a node booted meanwhile would find dnsmasq's answer unset.
  const pxeFilter = pxeFilterFromConfig(ctx);
  await pxeFilter?.start().catch((err: Error) => {
    logger.fatal({ err: err.message }, 'PXE filter could not start');
    process.exit(1);
  });
  const workers = startWorkers(ctx, connections.queues);
  ops.watch(workers);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting at once');
      process.exit(1);
    }
    stopping = true;
    ops.stopping();
    logger.info({ signal }, 'shutting down: no new jobs, finishing the ones in hand');
    // worker.close() can hang while Redis is down: bound it.
    const deadline = setTimeout(() => {
      logger.warn('shutdown deadline passed, exiting');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_S * 1000);
    deadline.unref();
    await Promise.allSettled(workers.map((w) => w.close()));
    await pxeFilter?.stop();
    await ops.close();
    await ctx.queues.close().catch(() => undefined);
    await closeConnections(connections);
    logger.info('stopped');
    process.exit(0);
  };
  // Before anything else is awaited: jobs are being taken already, and a start-up step waiting on
  // a Redis that went away must not leave SIGTERM to kill the worker with its jobs in hand.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await scheduleCleanup(ctx);
  logger.info({ power: ctx.power.name, pxeFilter: config.PXE_FILTER_DRIVER }, 'worker started');
}

void main();
