import { z } from 'zod';
import { RedisUrlSchema, redactRedisUrl } from './redis.ts';
import { isJsonObject } from './rules/json-path.ts';

/**
 * Which process: the API, whose Redis and Ironic calls fail fast because a caller waits on each
 * (a 503 with Retry-After at once), or a worker, whose calls wait and retry (BullMQ's blocking
 * commands need a connection that reconnects).
 */
export type ServiceRole = 'api' | 'worker';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
      error: 'expected true or false',
    })
    .default(fallback ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const url = (fallback: string) => z.url({ error: 'expected a URL' }).default(fallback);

const csv = <T extends string>(allowed: readonly [T, ...T[]], fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(allowed)));

export const HOOK_NAMES = [
  'ramdisk_error',
  'root_device_hint',
  'scheduler',
  'validate_interfaces',
] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** Fields a discovered node is created with; `driver` has a setting of its own. */
const enrollFields = z
  .string()
  .default('{}')
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .record(z.string(), z.unknown(), { error: 'expected a JSON object' })
      .refine((f) => !('driver' in f), 'set the driver with ENROLL_NODE_DRIVER')
      .refine(
        (f) => f.driver_info === undefined || isJsonObject(f.driver_info),
        'driver_info must be a JSON object',
      ),
  );

/**
 * A chain the iptables PXE filter may own: a name that fits iptables' 28 characters and holds a
 * lowercase letter, `-` or `.`. Names of capitals, digits and `_` alone are iptables' own: with
 * `--noflush` a chain named INPUT is the built-in one, not emptied, and `-A INPUT -j ACCEPT`
 * appended to it opens the host's firewall; a jump to a chain named LOG or MARK is read as that
 * target, and DHCP requests pass the filter by.
 */
export const IptablesChainName = z
  .string()
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,27}$/,
    'expected 1 to 28 letters, digits, _ . or -, not starting with . or -',
  )
  .refine(
    (name) => /[a-z.-]/.test(name),
    "expected a lowercase letter, - or . in it: names of capitals alone are iptables' own chains and targets (INPUT, ACCEPT, LOG, ...)",
  );

/**
 * The whole configuration, read from the environment once at start-up.
 * Each key is the environment variable's name; the README's table lists them.
 */
export const ConfigSchema = z.object({
  /** API listen port. Default 5050. */
  PORT: int(5050, 0, 65535),
  /** API listen address. Default 0.0.0.0. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * Links in answers take their scheme and host from X-Forwarded-Proto and X-Forwarded-Host, as
   * upstream's do behind its proxy middleware: a TLS-terminating load balancer in front. Default true.
   */
  TRUST_PROXY_HEADERS: bool(true),
  /**
   * Redis: redis://, rediss://, redis-sentinel://host:port,.../<master>[?db=N] or
   * redis-cluster://host:port,... (see RedisUrlSchema). Default redis://127.0.0.1:6379.
   */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((value, ctx) => {
      for (const issue of RedisUrlSchema.safeParse(value).error?.issues ?? []) {
        ctx.addIssue({ code: 'custom', message: issue.message });
      }
    }),
  /** Prefix of every Redis key; the braces make it a Redis Cluster hash tag. Default {inspector}. */
  REDIS_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9_.-]+\}$/, 'expected a hash tag such as {inspector}')
    .default('{inspector}'),
  /** Ironic API endpoint. Default http://127.0.0.1:6385. */
  IRONIC_URL: url('http://127.0.0.1:6385'),
  /**
   * How the service authenticates to Ironic: `noauth` (a standalone Ironic) or `keystone` (a
   * token for the KEYSTONE_* service user, as an OpenStack Ironic needs). Default noauth.
   */
  IRONIC_AUTH_STRATEGY: z.enum(['noauth', 'keystone']).default('noauth'),
  /**
   * Microversion sent to Ironic, at least 1.19 (ports' `pxe_enabled`; reads also use `fields`,
   * from 1.8). Default 1.46.
   */
  IRONIC_API_VERSION: z
    .string()
    .regex(/^1\.\d+$/, { error: 'expected 1.N', abort: true })
    .refine((v) => Number(v.slice(2)) >= 19, 'expected 1.19 or later')
    .default('1.46'),
  /** Timeout of one Ironic HTTP call in milliseconds. Default 10000. */
  IRONIC_TIMEOUT_MS: int(10_000, 1),
  /** Attempts per Ironic call on 409 (node locked), 5xx or a network error. Default 6. */
  IRONIC_RETRY_ATTEMPTS: int(6, 1, 100),
  /** Base back-off between Ironic attempts in milliseconds: doubled each time up to 16 times, jittered to 50–100 %. Default 1000. */
  IRONIC_RETRY_DELAY_MS: int(1_000, 0),
  /**
   * Attempts per Ironic call the API makes while a caller waits (status or abort by node name,
   * starting a run, discovery). Past them the caller gets a 503 with Retry-After, and retries
   * itself, instead of holding a request open through a worker's whole back-off. Default 2.
   */
  API_IRONIC_RETRY_ATTEMPTS: int(2, 1, 100),
  /**
   * Seconds between two PXE reboots, across every worker: nodes started by the hundred boot one
   * by one instead of swamping DHCP and TFTP at once (upstream's introspection_delay). 0 disables.
   * Default 5.
   */
  INTROSPECTION_DELAY_S: int(5, 0, 3600),
  /** Seconds a run may take before it ends with "Introspection timeout"; 0 disables. Default 3600. */
  INTROSPECTION_TIMEOUT_S: int(3600, 0, 315_576_000),
  /** Seconds a finished run's status and data are kept. Default 604800 (one week). */
  NODE_STATUS_KEEP_TIME_S: int(604_800, 1, 315_576_000),
  /** Seconds between clean-up passes: expired status-index entries, the timeout safety net, queue trimming, the Ironic sync. Default 60. */
  CLEAN_UP_PERIOD_S: int(60, 1),
  /** Each clean-up pass lists Ironic's nodes and drops the runs of nodes no longer there, unfinished ones ending in error first. Default true. */
  IRONIC_SYNC: bool(true),
  /** Ordered processing hooks. Default ramdisk_error,scheduler,validate_interfaces. */
  PROCESSING_HOOKS: csv(HOOK_NAMES, 'ramdisk_error,scheduler,validate_interfaces'),
  /** Which interfaces get Ironic ports: pxe, active or all. Default pxe. */
  ADD_PORTS: z.enum(['pxe', 'active', 'all']).default('pxe'),
  /** Which existing ports survive: all, present or added. Default all. */
  KEEP_PORTS: z.enum(['all', 'present', 'added']).default('all'),
  /** Overwrite node properties that are already set. Default true. */
  OVERWRITE_EXISTING: bool(true),
  /** Directory for ramdisk logs; unset keeps none. */
  RAMDISK_LOGS_DIR: z.string().min(1).optional(),
  /** Store ramdisk logs on success too, not only on errors. Default false. */
  ALWAYS_STORE_RAMDISK_LOGS: bool(false),
  /** Power nodes off when processing succeeds. Default true. */
  POWER_OFF: bool(true),
  /** Allow boot and power actions at all (manage_boot). Default true. */
  CAN_MANAGE_BOOT: bool(true),
  /** How workers drive power and boot: `ironic` (Ironic's API) or `ipmi` (ipmitool to the BMC). Default ironic. */
  POWER_MANAGEMENT: z.enum(['ironic', 'ipmi']).default('ironic'),
  /** Where workers find `ipmitool`: the process's own PATH. */
  PATH: z.string().min(1).default('/usr/sbin:/usr/bin:/sbin:/bin'),
  /** Allow new IPMI credentials to be set through the ramdisk. Default false. */
  ENABLE_SETTING_IPMI_CREDENTIALS: bool(false),
  /** Tries to prove new IPMI credentials work before the run fails. Default 10. */
  CREDENTIALS_CHECK_ATTEMPTS: int(10, 1, 1000),
  /** Milliseconds between those tries. Default 3000. */
  CREDENTIALS_CHECK_INTERVAL_MS: int(3_000, 0),
  /**
   * What a ramdisk callback that matches no node does: unset, it is refused (400, "Look up
   * error"); `enroll` creates the node in Ironic and processes it (discovery). Default unset.
   */
  NODE_NOT_FOUND_HOOK: z.enum(['enroll']).optional(),
  /** Ironic driver of discovered nodes. Default fake-hardware, as upstream. */
  ENROLL_NODE_DRIVER: z.string().min(1).default('fake-hardware'),
  /**
   * More fields of discovered nodes, as a JSON object (e.g. {"resource_class":"baremetal",
   * "driver_info":{"ipmi_username":"admin"}}); the discovered BMC address is added to its
   * driver_info. Its values may be secrets: it is never logged. Default {}.
   */
  ENROLL_NODE_FIELDS: enrollFields,
  /**
   * Discoveries one API process runs at once; a callback of an unknown machine past them gets a
   * 503 and retries. Each costs Ironic a port lookup per MAC and a listing of every node, and
   * callbacks are unauthenticated: this bounds what a flood of made-up machines costs. Default 4.
   */
  DISCOVERY_CONCURRENCY: int(4, 1, 1000),
  /** Which BMC address of a discovered node becomes its ipmi_address, first found first: 4, 6 or both. Default 4,6. */
  ENABLED_BMC_ADDRESS_VERSION: csv(['4', '6'], '4,6'),
  /**
   * PXE filter: `dnsmasq` keeps dnsmasq's --dhcp-hostsdir, `iptables` a chain DHCP requests pass
   * through, so that only nodes under introspection (and, while any is, or with discovery on,
   * unknown machines) get an answer from the inspection DHCP server; `noop` leaves DHCP to the
   * operator. Set on the worker that runs beside the DHCP server. Default noop.
   */
  PXE_FILTER_DRIVER: z.enum(['noop', 'dnsmasq', 'iptables']).default('noop'),
  /** Seconds between the PXE filter's listings of Ironic's ports; 0 lists them on every sync, as runs begin and end. Default 15. */
  PXE_FILTER_SYNC_PERIOD_S: int(15, 0, 86_400),
  /** dnsmasq's --dhcp-hostsdir, the filter's own: one file per MAC. Required when PXE_FILTER_DRIVER=dnsmasq. */
  DNSMASQ_HOSTSDIR: z.string().min(1).optional(),
  /** Empty the hosts directory when the filter starts, as upstream: what another process left there is not trusted. Default true. */
  DNSMASQ_PURGE_HOSTSDIR: bool(true),
  /** Shell command run once the filter's first sync is written (e.g. `systemctl start dnsmasq`); a failure stops the worker. Default unset. */
  DNSMASQ_START_COMMAND: z.string().min(1).optional(),
  /** Shell command run when the worker stops (e.g. `systemctl stop dnsmasq`); a failure is logged. Default unset. */
  DNSMASQ_STOP_COMMAND: z.string().min(1).optional(),
  /**
   * The iptables command, split on spaces (e.g. `sudo iptables`); its last word with `-restore`
   * appended is the restore command. Default iptables, or ip6tables with IPTABLES_IP_VERSION=6.
   */
  IPTABLES_COMMAND: z
    .string()
    .transform((s, ctx) => {
      const [tool, ...args] = s.split(/\s+/).filter(Boolean);
      if (tool === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected a command, e.g. `sudo iptables`' });
        return z.NEVER;
      }
      const argv: [string, ...string[]] = [tool, ...args];
      return argv;
    })
    .optional(),
  /** Interface the DHCP server listens on, whose DHCP requests the iptables filter sees. Default br-ctlplane, as upstream. */
  IPTABLES_INTERFACE: z
    .string()
    .regex(
      /^(?!\.\.?$)[^\s/:]{1,15}$/,
      'expected an interface name (`eth+` for all eth*): up to 15 characters, no spaces, / or :',
    )
    .default('br-ctlplane'),
  /** Name of the iptables filter's chain. Default ironic-inspector, as upstream. */
  IPTABLES_CHAIN: IptablesChainName.default('ironic-inspector'),
  /** DHCP of IPv4 (UDP 67) or IPv6 (UDP 547) for the iptables filter. Default 4. */
  IPTABLES_IP_VERSION: z.enum(['4', '6']).default('4'),
  /** Log level for pino. Default info. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest request body the API reads, in bytes. Default 10485760 (10 MiB, room for base64 logs). */
  MAX_BODY_BYTES: int(10 * 1024 * 1024, 1024),
  /** Largest page of GET /v1/introspection. Default 1000. */
  API_MAX_LIMIT: int(1000, 1),
  /** Jobs one worker process runs at once, per queue. Default 50. */
  WORKER_CONCURRENCY: int(50, 1, 10_000),
  /** Attempts of a worker job before the node ends in error. Default 3. */
  JOB_ATTEMPTS: int(3, 1, 50),
  /** First back-off between job attempts in milliseconds. Default 2000. */
  JOB_BACKOFF_MS: int(2_000, 0),
  /** How long a worker's lock on a job lasts without renewal; a dead worker's jobs are retaken after it. Default 30000. */
  WORKER_LOCK_DURATION_MS: int(30_000, 1_000),
  /** How often each worker looks for jobs whose lock expired (stalled). Default 15000. */
  WORKER_STALLED_INTERVAL_MS: int(15_000, 500),
  /** Seconds finished jobs stay visible in the queues (dashboard) before clean-up drops them. Default 3600. */
  COMPLETED_JOB_KEEP_S: int(3600, 0),
  /** Seconds failed job attempts stay in the queues for inspection. Default 604800. */
  FAILED_JOB_KEEP_S: int(604_800, 0),
  /** Seconds the API (requests in flight) or a worker (jobs in hand) drains on SIGTERM or SIGINT before it exits 1. Default 30. */
  SHUTDOWN_GRACE_S: int(30, 0),
  /** Port of each worker's own HTTP server (/metrics, /healthz, /readyz); 0 picks a free one. Default 9090. */
  WORKER_HTTP_PORT: int(9090, 0, 65535),
  /** Listen address of that server. Default 0.0.0.0. */
  WORKER_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * How API callers authenticate: `keystone` (X-Auth-Token), `http_basic` (htpasswd) or
   * `noauth`. Default noauth, so a first `npm start` works; upstream defaults to keystone.
   */
  AUTH_STRATEGY: z.enum(['keystone', 'http_basic', 'noauth']).default('noauth'),
  /** Keystone endpoint, e.g. http://127.0.0.1:5000 (a trailing /v3 is accepted). Required when AUTH_STRATEGY or IRONIC_AUTH_STRATEGY is keystone. */
  KEYSTONE_URL: z.url({ error: 'expected a URL' }).optional(),
  /** The service's own Keystone user, which validates callers' tokens and calls Ironic. Required as KEYSTONE_URL. */
  KEYSTONE_USERNAME: z.string().min(1).optional(),
  /** That user's password. Required as KEYSTONE_URL. */
  KEYSTONE_PASSWORD: z.string().min(1).optional(),
  /** Project the service's token is scoped to. Required as KEYSTONE_URL. */
  KEYSTONE_PROJECT: z.string().min(1).optional(),
  /** Domain name of the service user. Default Default. */
  KEYSTONE_USER_DOMAIN: z.string().min(1).default('Default'),
  /** Domain name of the service's project. Default Default. */
  KEYSTONE_PROJECT_DOMAIN: z.string().min(1).default('Default'),
  /** Roles (any one suffices, case-insensitive) a caller's token needs for the API. Default admin. */
  KEYSTONE_ALLOWED_ROLES: z
    .string()
    .default('admin')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).min(1, 'expected at least one role')),
  /** Timeout of one Keystone call in milliseconds. Default 5000. */
  KEYSTONE_TIMEOUT_MS: int(5_000, 1),
  /** Most validated tokens kept in memory (least recently used go first). Default 10000. */
  KEYSTONE_TOKEN_CACHE_SIZE: int(10_000, 1),
  /** Longest a valid token is trusted without asking Keystone again (seconds); 0 disables the cache. Default 300. */
  KEYSTONE_TOKEN_CACHE_TTL_S: int(300, 0),
  /** How long a token Keystone refused stays refused without asking again (seconds). Default 10. */
  KEYSTONE_NEGATIVE_CACHE_TTL_S: int(10, 0),
  /** Apache htpasswd file of bcrypt hashes, re-read when it changes. Required for http_basic. */
  HTPASSWD_FILE: z.string().min(1).optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** Settings each AUTH_STRATEGY cannot start without. */
const AUTH_REQUIRES = {
  keystone: ['KEYSTONE_URL', 'KEYSTONE_USERNAME', 'KEYSTONE_PASSWORD', 'KEYSTONE_PROJECT'],
  http_basic: ['HTPASSWD_FILE'],
  noauth: [],
} as const satisfies Record<Config['AUTH_STRATEGY'], readonly (keyof Config)[]>;

const ConfigWithAuth = ConfigSchema.superRefine((c, ctx) => {
  const required = new Map<keyof Config, string>();
  for (const key of AUTH_REQUIRES[c.AUTH_STRATEGY])
    required.set(key, `AUTH_STRATEGY=${c.AUTH_STRATEGY}`);
  if (c.IRONIC_AUTH_STRATEGY === 'keystone') {
    for (const key of AUTH_REQUIRES.keystone) {
      if (!required.has(key)) required.set(key, 'IRONIC_AUTH_STRATEGY=keystone');
    }
  }
  if (c.PXE_FILTER_DRIVER === 'dnsmasq')
    required.set('DNSMASQ_HOSTSDIR', 'PXE_FILTER_DRIVER=dnsmasq');
  // The other family's tool would filter DHCP nowhere it arrives, leaving every node answered.
  const tool = c.IPTABLES_COMMAND?.at(-1)?.split('/').at(-1) ?? '';
  const family = tool.startsWith('ip6tables') ? '6' : tool.startsWith('iptables') ? '4' : null;
  if (c.PXE_FILTER_DRIVER === 'iptables' && family && family !== c.IPTABLES_IP_VERSION) {
    ctx.addIssue({
      code: 'custom',
      path: ['IPTABLES_COMMAND'],
      message: `${tool} filters IPv${family}, but IPTABLES_IP_VERSION=${c.IPTABLES_IP_VERSION}`,
    });
  }
  for (const [key, why] of required) {
    if (c[key] === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: `required when ${why}` });
    }
  }
});

/** Settings whose values never reach an error message, whole: they may hold passwords. */
const SECRET_SETTINGS = new Set(['KEYSTONE_PASSWORD', 'ENROLL_NODE_FIELDS']);

/** Parses the environment; a bad value throws a ConfigError naming each variable. */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Config {
  const known = Object.fromEntries(
    Object.keys(ConfigSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = ConfigWithAuth.safeParse(known);
  // The Redis URL may carry passwords, which never reach a log line.
  const shown = (key: string) => {
    if (!known[key]) return known[key];
    if (key === 'REDIS_URL') return redactRedisUrl(known[key]);
    return SECRET_SETTINGS.has(key) ? '<hidden>' : known[key];
  };
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const [name, ...within] = i.path.map(String);
      // A list's bad entry is named by its position, after the variable as the operator wrote it.
      const where = within.length ? ` (entry ${Number(within[0]) + 1})` : '';
      return `  ${name}=${JSON.stringify(shown(name!))}${where}: ${i.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** For entry points: the configuration, or its problems on stderr and exit code 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv): Config {
  return exitOnConfigError(() => loadConfig(env));
}

/**
 * `make()`, or, on a ConfigError (a setting refused at start, such as an unreadable file it
 * names), its message on stderr and exit code 2, as for any bad setting: no stack trace.
 */
export function exitOnConfigError<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
