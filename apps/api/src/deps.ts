import {
  closeConnections,
  createServiceCore,
  openConnections,
  redisReady,
  type Config,
  type Logger,
  type ServiceConnections,
  type ServiceCore,
} from '@inspector/shared';
import { createAuth, type Auth } from './auth/auth.ts';
import { InFlightLimit } from './in-flight-limit.ts';

/** Everything the API needs, built once at start-up and passed in. */
export interface ApiDeps extends ServiceCore {
  config: Config;
  connections: ServiceConnections;
  logger: Logger;
  auth: Auth;
  /** Discoveries (NODE_NOT_FOUND_HOOK=enroll) in flight in this process. */
  discoveries: InFlightLimit;
}

export function createApiDeps(config: Config, logger: Logger): ApiDeps {
  // First: a missing auth setting or unreadable htpasswd file stops start-up before any connection.
  const auth = createAuth(config, logger);
  const connections = openConnections(config, 'api', logger);
  return {
    ...createServiceCore(config, connections, 'api'),
    config,
    connections,
    logger,
    auth,
    discoveries: new InFlightLimit(config.DISCOVERY_CONCURRENCY),
  };
}

/**
 * Waits up to `timeoutMs` for every Redis connection; false if one is not up by then. The API's
 * connections queue nothing while down, so a request served before they are up gets a 503.
 */
export async function apiDepsReady(deps: ApiDeps, timeoutMs: number): Promise<boolean> {
  const ready = await Promise.all(
    Object.values(deps.connections).map((client) => redisReady(client, timeoutMs)),
  );
  return ready.every(Boolean);
}

export async function closeApiDeps(deps: ApiDeps): Promise<void> {
  await deps.queues.close().catch(() => undefined);
  await closeConnections(deps.connections);
}
