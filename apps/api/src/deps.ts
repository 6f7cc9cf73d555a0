import {
  closeConnections,
  createServiceCore,
  openConnections,
  type Config,
  type Logger,
  type ServiceConnections,
  type ServiceCore,
} from '@inspector/shared';
import { createAuth, type Auth } from './auth/auth.ts';

/** Everything the API needs, built once at start-up and passed in. */
export interface ApiDeps extends ServiceCore {
  config: Config;
  connections: ServiceConnections;
  logger: Logger;
  auth: Auth;
}

export function createApiDeps(config: Config, logger: Logger): ApiDeps {
  // First: a missing auth setting or unreadable htpasswd file stops start-up before any connection.
  const auth = createAuth(config, logger);
  const connections = openConnections(config, 'api', logger);
  return { ...createServiceCore(config, connections), config, connections, logger, auth };
}

export async function closeApiDeps(deps: ApiDeps): Promise<void> {
  await deps.queues.close().catch(() => undefined);
  await closeConnections(deps.connections);
}
