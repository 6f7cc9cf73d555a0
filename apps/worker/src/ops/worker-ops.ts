import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job, Worker } from 'bullmq';
import {
  coerceError,
  pingConnections,
  withTimeout,
  type Metrics,
  type ServiceConnections,
} from '@inspector/shared';
import type { WorkerContext } from '../context.ts';

/** How long a readiness probe waits for Redis before it answers 503. */
export const READY_TIMEOUT_MS = 1000;

/** The worker process's own small HTTP server: /healthz, /readyz and /metrics, nothing else. */
export interface WorkerOps {
  /** Where it listens, e.g. `http://0.0.0.0:9090`. */
  readonly url: string;
  /** Takes the BullMQ workers into readiness and the job-duration histogram. */
  watch(workers: Worker[]): void;
  /** From now on readiness answers 503: the process is draining. */
  stopping(): void;
  close(): Promise<void>;
}

const seconds = (job: Job) =>
  job.processedOn ? ((job.finishedOn ?? Date.now()) - job.processedOn) / 1000 : null;

function observeJobs(worker: Worker, metrics: Metrics): void {
  worker.on('completed', (job) => {
    const s = seconds(job);
    if (s !== null) metrics.jobAttempt(job.name, 'completed', s);
  });
  worker.on('failed', (job) => {
    const s = job ? seconds(job) : null;
    if (job && s !== null) metrics.jobAttempt(job.name, 'failed', s);
  });
}

/**
 * Why the process should take no traffic now, or null when it is ready: it is
 * not draining, every worker runs, each worker's own blocking connection (the
 * one BullMQ waits for jobs on) is connected, and the other connections (the
 * shared one and the state store's) answer PING. The blocking connection is
 * not PINGed: it sits in a blocking command.
 */
async function notReady(
  workers: Worker[],
  connections: ServiceConnections,
  isStopping: boolean,
): Promise<string | null> {
  if (isStopping) return 'The worker is shutting down';
  if (workers.length === 0) return 'The workers have not started yet';
  for (const worker of workers) {
    if (worker.closing || !worker.isRunning()) {
      return `The worker of queue ${worker.name} is not running`;
    }
    const blocking = worker.backend.blockingConnection;
    let status = 'missing';
    if (blocking) {
      try {
        status = (await withTimeout(blocking.client, READY_TIMEOUT_MS, 'connect')).status;
      } catch {
        status = 'not connected';
      }
    }
    if (status !== 'ready') {
      return `The blocking Redis connection of queue ${worker.name} is ${status}`;
    }
  }
  try {
    await pingConnections(connections, READY_TIMEOUT_MS);
  } catch (err) {
    return coerceError(err).message;
  }
  return null;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, 'application/json', JSON.stringify(value));
const failure = (res: ServerResponse, status: number, message: string) =>
  json(res, status, { error: { message } });

/** Starts the server on WORKER_HTTP_HOST:WORKER_HTTP_PORT; rejects when it cannot listen. */
export async function startWorkerOps(
  ctx: WorkerContext,
  connections: ServiceConnections,
): Promise<WorkerOps> {
  const { config, logger, metrics } = ctx;
  let workers: Worker[] = [];
  let isStopping = false;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (!['/healthz', '/readyz', '/metrics'].includes(path)) {
      return failure(res, 404, 'The requested URL was not found on the server');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return failure(res, 405, 'The method is not allowed for the requested URL');
    }
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const why = await notReady(workers, connections, isStopping);
      return why ? failure(res, 503, why) : json(res, 200, { status: 'ok' });
    }
    send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: coerceError(err) }, 'worker http request failed');
      if (!res.headersSent) failure(res, 500, 'Internal server error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new Error(
          `The worker's HTTP server cannot listen on ${config.WORKER_HTTP_HOST}:${config.WORKER_HTTP_PORT} (WORKER_HTTP_HOST, WORKER_HTTP_PORT; 0 picks a free port): ${err.message}`,
        ),
      ),
    );
    server.listen(config.WORKER_HTTP_PORT, config.WORKER_HTTP_HOST, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.WORKER_HTTP_HOST}:${port}`;
  logger.info({ host: config.WORKER_HTTP_HOST, port }, `worker http listening on ${url}`);

  return {
    url,
    watch(list) {
      workers = list;
      for (const worker of list) observeJobs(worker, metrics);
    },
    stopping() {
      isStopping = true;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
