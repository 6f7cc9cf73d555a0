import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { InspectorError } from './errors.ts';
import type { ServiceRole } from './config.ts';

/**
 * What a connection carries. The state store's commands are pipelined
 * automatically: requests and jobs in flight together send theirs in one
 * write, where one write per command was a large share of the API's CPU.
 * BullMQ gets a connection of its own: it defines dozens of scripts on the
 * connection it is given, and ioredis copies them into every pipeline.
 */
export type RedisUse = 'store' | 'queues';

export interface RedisHost {
  host: string;
  port: number;
}

/** Where Redis is, as REDIS_URL says: one server, a Sentinel-watched master, or a Cluster. */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'sentinel';
      sentinels: RedisHost[];
      /** The master's name, as the sentinels know it. */
      name: string;
      db: number;
      username?: string;
      password?: string;
      sentinelPassword?: string;
    }
  | { kind: 'cluster'; nodes: RedisHost[]; username?: string; password?: string };

const MULTI_HOST =
  /^(redis-sentinel|redis-cluster):\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/;
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/;

function parseHosts(list: string, defaultPort: number): RedisHost[] | string {
  const hosts: RedisHost[] = [];
  for (const item of list.split(',')) {
    const m = HOST_PORT.exec(item);
    const port = m?.[3] ? Number(m[3]) : defaultPort;
    if (!m || port < 1 || port > 65535) return `"${item}" is not host:port`;
    hosts.push({ host: (m[1] ?? m[2])!, port });
  }
  return hosts;
}

const decode = (s: string): string | null => {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
};

function parseCredentials(
  userinfo: string | undefined,
): { username?: string; password?: string } | string {
  if (!userinfo) return {};
  const colon = userinfo.indexOf(':');
  const username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? '' : decode(userinfo.slice(colon + 1));
  if (username === null || password === null) return 'bad %-escape in the user name or password';
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

/** The URL with its passwords masked, fit for an error message. */
export function redactRedisUrl(url: string): string {
  return url
    .replace(/^([a-z-]+:\/\/[^:@/?#]*:).*@/i, '$1***@')
    .replace(/([?&]sentinel_password=)[^&#]*/, '$1***');
}

/**
 * REDIS_URL, parsed. Besides ioredis' own `redis://` and `rediss://` URLs:
 * - `redis-sentinel://[user:password@]host1:26379,host2:26379/<master name>[?db=0&sentinel_password=...]`
 *   (the credentials are the master's; the sentinels' password, if any, is a parameter);
 * - `redis-cluster://[user:password@]host1:7000,host2:7001` (any reachable nodes; the rest are discovered).
 * Messages never repeat the URL, which may hold a password.
 */
export const RedisUrlSchema = z.string().transform((value, ctx): RedisTarget => {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  const multi = MULTI_HOST.exec(value);
  if (!multi) {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      return fail(
        'expected redis://, rediss://, redis-sentinel://host:port,.../<master> or redis-cluster://host:port,...',
      );
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      return fail(
        `unsupported scheme ${parsed.protocol} (redis, rediss, redis-sentinel, redis-cluster)`,
      );
    }
    if (!parsed.hostname) return fail('the URL names no host');
    // ioredis decodes these itself, and a bad escape would stop it with a bare URIError.
    const credentials = parseCredentials(
      parsed.username || parsed.password ? `${parsed.username}:${parsed.password}` : undefined,
    );
    if (typeof credentials === 'string') return fail(credentials);
    return { kind: 'standalone', url: value };
  }
  const [, scheme, userinfo, hostList = '', path = '', query = ''] = multi;
  if (!hostList) return fail(`a ${scheme} URL names at least one host:port`);
  const hosts = parseHosts(hostList, scheme === 'redis-sentinel' ? 26379 : 6379);
  if (typeof hosts === 'string') return fail(hosts);
  const credentials = parseCredentials(userinfo);
  if (typeof credentials === 'string') return fail(credentials);
  const params = new URLSearchParams(query);
  const allowed = scheme === 'redis-sentinel' ? ['db', 'sentinel_password'] : [];
  const unknown = [...params.keys()].filter((k) => !allowed.includes(k));
  if (unknown.length) {
    return fail(
      `unknown parameter ${unknown.join(', ')} (${scheme} takes ${allowed.join(', ') || 'none'})`,
    );
  }
  if (scheme === 'redis-cluster') {
    if (path) return fail('a redis-cluster URL has no path: Redis Cluster has no databases but 0');
    return { kind: 'cluster', nodes: hosts, ...credentials };
  }
  const name = decode(path);
  if (!name || name.includes('/')) return fail('a redis-sentinel URL ends with /<master name>');
  const db = params.get('db') ?? '0';
  if (!/^\d{1,5}$/.test(db)) return fail(`db must be a database number, got "${db}"`);
  const sentinelPassword = params.get('sentinel_password');
  return {
    kind: 'sentinel',
    sentinels: hosts,
    name,
    db: Number(db),
    ...credentials,
    ...(sentinelPassword ? { sentinelPassword } : {}),
  };
});

/** Parses REDIS_URL; throws an Error naming what is wrong (never the URL itself). */
export function parseRedisUrl(url: string): RedisTarget {
  const parsed = RedisUrlSchema.safeParse(url);
  if (!parsed.success)
    throw new Error(`REDIS_URL: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}

/** A connection to one server or a Sentinel-watched master (a Redis), or to a Cluster. */
export type RedisClient = Redis | Cluster;

const retryStrategy = (times: number) => Math.min(times * 200, 2000);

function roleOptions(role: ServiceRole): RedisOptions {
  return role === 'api'
    ? {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        commandTimeout: 5000,
      }
    : { maxRetriesPerRequest: null, enableReadyCheck: true };
}

/** A connection for `role` and `use` to wherever REDIS_URL points, Cluster included. */
export function createRedisClient(
  url: string,
  role: ServiceRole,
  name?: string,
  use: RedisUse = 'queues',
): RedisClient {
  const target = parseRedisUrl(url);
  if (target.kind !== 'cluster') return createRedis(url, role, name, use);
  const { enableOfflineQueue, enableReadyCheck, ...perNode } = roleOptions(role);
  const options: ClusterOptions = {
    clusterRetryStrategy: retryStrategy,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: enableReadyCheck ?? true,
    enableAutoPipelining: use === 'store',
    redisOptions: {
      connectionName: name,
      username: target.username,
      password: target.password,
      ...perNode,
    },
  };
  return new Cluster(target.nodes, options);
}

/**
 * A connection for `role` to one server or to a Sentinel-watched master. A
 * Cluster URL throws: a Cluster client is not a Redis, so what takes one
 * goes through createRedisClient.
 */
export function createRedis(
  url: string,
  role: ServiceRole,
  name?: string,
  use: RedisUse = 'queues',
): Redis {
  const target = parseRedisUrl(url);
  const options: RedisOptions = {
    connectionName: name,
    lazyConnect: false,
    retryStrategy,
    enableAutoPipelining: use === 'store',
    ...roleOptions(role),
  };
  switch (target.kind) {
    case 'standalone':
      return new Redis(target.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: target.sentinels,
        name: target.name,
        db: target.db,
        username: target.username,
        password: target.password,
        sentinelPassword: target.sentinelPassword,
      });
    case 'cluster':
      throw new Error(
        'REDIS_URL names a Redis Cluster, which this connection cannot use: it needs createRedisClient',
      );
  }
}

/**
 * What ioredis rejects a command with when the connection closed after it went out and before its
 * reply, where it does not send it again (pipelined behind an answered command): Redis may have
 * run it.
 */
export const ABORTED_AT_CLOSE = 'Command aborted due to connection close';

// ioredis reports these as plain Errors, told apart by their messages only; Cluster clients have
// their own, and a Cluster the API cannot reach is as unavailable as a server it cannot.
const REDIS_DOWN = new RegExp(
  [
    "Stream isn't writeable",
    'Connection is closed',
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'max retries per request',
    'Command timed out',
    'LOADING',
    "Cluster isn't ready",
    'Cluster is disconnect',
    'None of startup nodes is available',
    'Failed to refresh slots cache',
    'Too many Cluster redirections',
    'CLUSTERDOWN',
    'Node is disconnected',
    'All sentinels are unreachable',
    ABORTED_AT_CLOSE,
  ].join('|'),
  'i',
);

/**
 * Redis's own refusals of a command it would take another time: full (`OOM`, under noeviction),
 * a replica since a failover (`READONLY`), unable to persist (`MISCONF`), a script running
 * (`BUSY`), and so on. Scripts' errors keep the code first.
 */
const REDIS_REFUSING = /^(OOM|READONLY|MISCONF|NOREPLICAS|BUSY|MASTERDOWN|TRYAGAIN) /;

/**
 * Whether an error means Redis cannot be reached right now (as opposed to a bug). Ours
 * (InspectorError: Ironic, Keystone, state machine) already say what failed, even when their
 * message quotes a socket error such as ECONNREFUSED.
 */
export function isRedisUnavailable(err: unknown): boolean {
  return (
    err instanceof Error &&
    !(err instanceof InspectorError) &&
    (REDIS_DOWN.test(err.message) || REDIS_REFUSING.test(err.message))
  );
}

/**
 * Resolves once the connection is ready, or after `timeoutMs` either way: a
 * process may start while Redis is down and answer 503 until it is back, but
 * should not refuse its first requests merely because it is still connecting.
 */
export function redisReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
