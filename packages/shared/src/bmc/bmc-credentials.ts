import { z } from 'zod';
import { BmcError } from './bmc-error.ts';

/** What Ironic shows instead of a password to a user without the show_password policy. */
export const IRONIC_MASKED_PASSWORD = '******';

export const IPMI_PRIVILEGE_LEVELS = ['ADMINISTRATOR', 'OPERATOR', 'USER', 'CALLBACK'] as const;
export type IpmiPrivilegeLevel = (typeof IPMI_PRIVILEGE_LEVELS)[number];

/** Ironic keeps driver_info values as JSON, often as strings: accept "623" and 623 alike. */
const intField = (min: number, max: number) => {
  const message = `must be an integer between ${min} and ${max}`;
  return z
    .union([z.number(), z.string().trim().regex(/^\d+$/, message)], { error: message })
    .transform(Number)
    .pipe(z.number({ error: message }).int({ error: message }).min(min, message).max(max, message));
};

const present = (iss: { input?: unknown }, what: string) =>
  iss.input === undefined || iss.input === null ? 'is required' : `must be ${what}`;

// Hostname, IPv4 or IPv6 literal (brackets allowed and removed); never an option-like "-x".
const ADDRESS = /^(?!-)[A-Za-z0-9._:%-]{1,253}$/;

/**
 * The IPMI part of an Ironic node's `driver_info`, turned into the credentials the driver uses.
 * Unknown keys are ignored. As in Ironic, only `ipmi_address` is required: a missing user name is
 * the anonymous (null) user and a missing password is empty.
 */
export const BmcDriverInfoSchema = z
  .looseObject({
    ipmi_address: z
      .string({ error: (iss) => present(iss, 'a string') })
      .trim()
      .transform((a) => a.replace(/^\[(.*)\]$/, '$1'))
      .pipe(z.string().regex(ADDRESS, 'must be a host name or an IP address')),
    ipmi_port: intField(1, 65535).nullish(),
    ipmi_username: z
      .string({ error: 'must be a string' })
      .max(16, 'must be at most 16 characters (IPMI limit)')
      .refine((u) => !u.includes('\0'), 'must not contain NUL characters')
      .nullish(),
    ipmi_password: z
      .string({ error: 'must be a string' })
      .refine((p) => Buffer.byteLength(p) <= 20, 'must be at most 20 bytes (IPMI limit)')
      .refine((p) => !p.includes('\0'), 'must not contain NUL characters')
      .refine(
        (p) => p !== IRONIC_MASKED_PASSWORD,
        `is masked by Ironic ("${IRONIC_MASKED_PASSWORD}"); the service's Ironic user needs the show_password policy`,
      )
      .nullish(),
    ipmi_cipher_suite: intField(0, 255).nullish(),
    ipmi_priv_level: z
      .enum(IPMI_PRIVILEGE_LEVELS, { error: `must be one of ${IPMI_PRIVILEGE_LEVELS.join(', ')}` })
      .nullish(),
    ipmi_protocol_version: z
      .literal('2.0', { error: 'must be 2.0 (only IPMI 2.0 / lanplus is supported)' })
      .nullish(),
    ipmi_bridging: z.literal('no', { error: 'is not supported (only "no")' }).nullish(),
    ipmi_hex_kg_key: z
      .literal('', { error: 'is not supported (a BMC key cannot be passed off the command line)' })
      .nullish(),
  })
  .transform((d) => ({
    address: d.ipmi_address,
    port: d.ipmi_port ?? 623,
    username: d.ipmi_username ?? '',
    password: d.ipmi_password ?? '',
    cipherSuite: d.ipmi_cipher_suite ?? undefined,
    privilegeLevel: d.ipmi_priv_level ?? undefined,
  }));

/** The IPMI fields of driver_info as Ironic stores them. */
export type BmcDriverInfo = z.input<typeof BmcDriverInfoSchema>;

/** Everything needed to talk to one BMC. */
export type BmcCredentials = z.infer<typeof BmcDriverInfoSchema>;

export class BmcDriverInfoError extends BmcError {
  /** The offending driver_info keys, e.g. ["ipmi_address", "ipmi_port"]. */
  readonly fields: string[];

  constructor(message: string, fields: string[]) {
    super('config', message, { retryable: false, reason: 'invalid-driver-info' });
    this.fields = fields;
  }
}

/**
 * Parses a node's driver_info. Throws a BmcDriverInfoError naming every missing or invalid field
 * (never echoing the password), e.g. `Invalid BMC driver_info: ipmi_address is required`.
 */
export function parseBmcCredentials(driverInfo: unknown): BmcCredentials {
  if (driverInfo === null || typeof driverInfo !== 'object' || Array.isArray(driverInfo)) {
    throw new BmcDriverInfoError('Invalid BMC driver_info: expected an object', []);
  }
  const parsed = BmcDriverInfoSchema.safeParse(driverInfo);
  if (parsed.success) return parsed.data;
  const problems = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? 'driver_info');
    if (!problems.has(field)) problems.set(field, issue.message);
  }
  const text = [...problems].map(([f, m]) => `${f} ${m}`).join('; ');
  throw new BmcDriverInfoError(`Invalid BMC driver_info: ${text}`, [...problems.keys()]);
}

/** Key of one BMC for serialisation: `address:port`. */
export const bmcKey = (c: Pick<BmcCredentials, 'address' | 'port'>): string =>
  c.address.includes(':') ? `[${c.address}]:${c.port}` : `${c.address}:${c.port}`;

/** The user as named in messages. */
export const describeUser = (username: string): string =>
  username === '' ? 'the anonymous user' : `user ${username}`;
