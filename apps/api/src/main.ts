import type { Server, ServerResponse } from 'node:http';
import { createLogger, exitOnConfigError, loadConfigOrExit } from '@inspector/shared';
import { createApp } from './app.ts';
import { answerMalformedRequests } from './client-errors.ts';
import { apiDepsReady, closeApiDeps, createApiDeps } from './deps.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const logger = createLogger(config.LOG_LEVEL, 'api');
  const deps = exitOnConfigError(() => createApiDeps(config, logger));
  if (!(await apiDepsReady(deps, 5000))) {
    logger.warn('Redis is not answering yet: requests get 503 until it does');
  }
  const app = createApp(deps);
  const cannotListen = (err: Error) => {
    logger.fatal(
      `The API cannot listen on ${config.HOST}:${config.PORT} (HOST, PORT; 0 picks a free port): ${err.message}`,
    );
    process.exit(1);
  };
  const server: Server = app.listen(config.PORT, config.HOST, () => {
    server.off('error', cannotListen);
    // Once listening, an error (a failed accept, say) is the connection's, not the API's end.
    server.on('error', (err) => logger.error({ err: err.message }, 'API server error'));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    logger.info({ host: config.HOST, port }, `API listening on http://${config.HOST}:${port}`);
  });
  server.once('error', cannotListen);
  server.keepAliveTimeout = 65_000;
  answerMalformedRequests(server);

  let stopping = false;
  // A keep-alive connection would outlive the drain: answers given while stopping close theirs.
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    if (stopping) res.setHeader('Connection', 'close');
  });
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting at once');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, draining requests');
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    const deadline = setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_S * 1000).unref();
    server.close(async () => {
      await closeApiDeps(deps);
      clearTimeout(deadline);
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
