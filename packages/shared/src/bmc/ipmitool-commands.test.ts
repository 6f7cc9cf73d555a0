import { describe, expect, it } from 'vitest';
import {
  buildIpmitoolArgs,
  COMMANDS,
  ipmitoolEnv,
  operationName,
  parseBootDevice,
  parsePowerState,
} from './ipmitool-commands.ts';

const creds = {
  address: '127.0.0.1',
  port: 9001,
  username: 'admin',
  password: 'Pa55-word',
  cipherSuite: 3,
  privilegeLevel: undefined,
};
const session = { messageTimeoutS: 1, messageRetries: 1 };

describe('buildIpmitoolArgs', () => {
  it('builds a lanplus call with -C and -E and no password', () => {
    const args = buildIpmitoolArgs(creds, COMMANDS.powerStatus, session);
    expect(args).toEqual([
      '-I', 'lanplus', '-H', '127.0.0.1', '-p', '9001', '-C', '3', '-U', 'admin',
      '-E', '-N', '1', '-R', '1', '-v', 'chassis', 'power', 'status',
    ]); // prettier-ignore
    expect(args.join(' ')).not.toContain('Pa55-word');
    expect(args).not.toContain('-P');
    expect(args).not.toContain('-f');
  });

  it('uses the default cipher suite only when the credentials name none', () => {
    const none = { ...creds, cipherSuite: undefined };
    expect(buildIpmitoolArgs(none, COMMANDS.mcInfo, session)).not.toContain('-C');
    const withDefault = buildIpmitoolArgs(none, COMMANDS.mcInfo, {
      ...session,
      defaultCipherSuite: 17,
    });
    expect(withDefault.slice(6, 8)).toEqual(['-C', '17']);
    const explicit = buildIpmitoolArgs(creds, COMMANDS.mcInfo, {
      ...session,
      defaultCipherSuite: 17,
    });
    expect(explicit.slice(6, 8)).toEqual(['-C', '3']);
  });

  it('leaves out -U for the anonymous user and adds -L when asked', () => {
    const args = buildIpmitoolArgs(
      { ...creds, username: '', privilegeLevel: 'OPERATOR' },
      COMMANDS.bootdev('pxe'),
      { messageTimeoutS: 2, messageRetries: 3 },
    );
    expect(args).not.toContain('-U');
    expect(args.join(' ')).toContain('-L OPERATOR -E -N 2 -R 3 -v chassis bootdev pxe');
  });
});

describe('ipmitoolEnv', () => {
  it('carries the password and little else', () => {
    expect(ipmitoolEnv('pw', '/usr/bin')).toEqual({
      PATH: '/usr/bin',
      LC_ALL: 'C',
      IPMI_PASSWORD: 'pw',
    });
  });
});

describe('operationName', () => {
  it('drops the chassis prefix', () => {
    expect(operationName(COMMANDS.powerCycle)).toBe('power cycle');
    expect(operationName(COMMANDS.bootparamGet5)).toBe('bootparam get 5');
    expect(operationName(COMMANDS.mcInfo)).toBe('mc info');
  });
});

describe('parsePowerState', () => {
  it('reads on and off', () => {
    expect(parsePowerState('Chassis Power is on\n')).toBe('on');
    expect(parsePowerState('Chassis Power is off')).toBe('off');
    expect(parsePowerState('Chassis Power is ON')).toBe('on');
  });

  it('returns null for anything else', () => {
    expect(parsePowerState('')).toBeNull();
    expect(parsePowerState('Chassis Power Control: Up/On')).toBeNull();
    expect(parsePowerState('Chassis Power is unknown')).toBeNull();
  });
});

const bootparam = (selector: string) => `Boot parameter version: 1
Boot parameter 5 is valid/unlocked
Boot parameter data: 0004000000
 Boot Flags :
   - Boot Flag Invalid
   - Options apply to only next boot
   - BIOS PC Compatible (legacy) boot
   - Boot Device Selector : ${selector}
   - BIOS verbosity : System Default
`;

describe('parseBootDevice', () => {
  it.each([
    ['Force PXE', 'pxe'],
    ['No override', 'none'],
    ['Force Boot from default Hard-Drive', 'disk'],
    ['Force Boot from default Hard-Drive, request Safe-Mode', 'safe'],
    ['Force Boot from Diagnostic Partition', 'diag'],
    ['Force Boot from CD/DVD', 'cdrom'],
    ['Force Boot into BIOS Setup', 'bios'],
    ['Force Boot from Floppy/primary removable media', 'floppy'],
  ])('reads "%s" as %s', (selector, device) => {
    expect(parseBootDevice(bootparam(selector))).toBe(device);
  });

  it('returns null for a missing or unknown selector', () => {
    expect(parseBootDevice('Boot parameter version: 1')).toBeNull();
    expect(parseBootDevice(bootparam('Force Boot from Remote Storage'))).toBeNull();
  });
});
