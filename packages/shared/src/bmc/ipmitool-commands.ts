/** Pure helpers: ipmitool argument lists and output parsing. */
import type { BmcCredentials } from './bmc-credentials.ts';

export type PowerState = 'on' | 'off';

/** Devices `ipmitool chassis bootdev` accepts. */
export const BOOT_DEVICES = [
  'none',
  'pxe',
  'disk',
  'safe',
  'diag',
  'cdrom',
  'bios',
  'floppy',
] as const;
export type BootDevice = (typeof BOOT_DEVICES)[number];

export interface IpmitoolSessionOptions {
  /** ipmitool `-N`: seconds to wait for each LAN message. */
  messageTimeoutS: number;
  /** ipmitool `-R`: tries per LAN message. */
  messageRetries: number;
  /** `-C` when the credentials name no cipher suite; undefined lets ipmitool probe (slow). */
  defaultCipherSuite?: number | undefined;
}

/**
 * The full argument list of one ipmitool call. The password is never in it: `-E` makes ipmitool
 * read it from the child's IPMI_PASSWORD environment variable. `-v` makes ipmitool say why a
 * session could not be established (see classifyIpmitoolFailure); it adds nothing to stdout.
 */
export function buildIpmitoolArgs(
  creds: BmcCredentials,
  command: readonly string[],
  session: IpmitoolSessionOptions,
): string[] {
  const args = ['-I', 'lanplus', '-H', creds.address, '-p', String(creds.port)];
  const suite = creds.cipherSuite ?? session.defaultCipherSuite;
  if (suite !== undefined) args.push('-C', String(suite));
  // -U "" would be taken as a null user name by ipmitool too; leaving it out is clearer.
  if (creds.username !== '') args.push('-U', creds.username);
  if (creds.privilegeLevel !== undefined) args.push('-L', creds.privilegeLevel);
  args.push('-E');
  args.push('-N', String(session.messageTimeoutS), '-R', String(session.messageRetries));
  args.push('-v');
  args.push(...command);
  return args;
}

/** The environment of an ipmitool child: only what it needs, plus the password. */
export function ipmitoolEnv(password: string, searchPath: string): Record<string, string> {
  return {
    PATH: searchPath,
    LC_ALL: 'C',
    IPMI_PASSWORD: password,
  };
}

/** ipmitool sub-commands. */
export const COMMANDS = {
  powerStatus: ['chassis', 'power', 'status'],
  powerOn: ['chassis', 'power', 'on'],
  powerOff: ['chassis', 'power', 'off'],
  powerSoft: ['chassis', 'power', 'soft'],
  powerCycle: ['chassis', 'power', 'cycle'],
  bootparamGet5: ['chassis', 'bootparam', 'get', '5'],
  mcInfo: ['mc', 'info'],
  bootdev: (device: BootDevice) => ['chassis', 'bootdev', device],
} as const;

/** A short operation name for messages and metrics: `chassis power on` -> `power on`. */
export const operationName = (command: readonly string[]): string =>
  (command[0] === 'chassis' ? command.slice(1) : command).join(' ');

/** Parses `Chassis Power is on` (from `chassis power status`); null if it is not there. */
export function parsePowerState(stdout: string): PowerState | null {
  const m = /Chassis Power is (on|off)\b/i.exec(stdout);
  return m ? (m[1]!.toLowerCase() as PowerState) : null;
}

const SELECTORS: [RegExp, BootDevice][] = [
  [/No override/i, 'none'],
  [/Force PXE/i, 'pxe'],
  [/Hard-?Drive, request Safe-?Mode/i, 'safe'],
  [/Hard-?Drive/i, 'disk'],
  [/Diagnostic Partition/i, 'diag'],
  [/CD\/DVD/i, 'cdrom'],
  [/BIOS Setup/i, 'bios'],
  [/Floppy|removable media/i, 'floppy'],
];

/**
 * Parses the `Boot Device Selector : Force PXE` line of `chassis bootparam get 5`; null if the
 * line is missing or names a device this module does not know.
 */
export function parseBootDevice(stdout: string): BootDevice | null {
  const m = /Boot Device Selector\s*:\s*(.+)/i.exec(stdout);
  if (!m) return null;
  for (const [re, device] of SELECTORS) if (re.test(m[1]!)) return device;
  return null;
}
