import { describe, expect, it } from 'vitest';
import {
  BmcError,
  classifyIpmitoolFailure,
  isBmcError,
  scrubSecret,
  summariseStderr,
  type IpmitoolOutcome,
} from './bmc-error.ts';

// Real stderr of `ipmitool -v` 1.8.19 against ipmi_sim 2.0.33.
const NOISE = 'Loading IANA PEN Registry...\n';
const NO_SESSION = 'Error: Unable to establish IPMI v2 / RMCP+ session\n';
const STDERR = {
  wrongPassword: `${NOISE}> RAKP 2 HMAC is invalid\n${NO_SESSION}`,
  unknownUser: `${NOISE}RAKP 2 message indicates an error : unauthorized name\n${NO_SESSION}`,
  deadBmc: `${NOISE}Get Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request\n${NO_SESSION}`,
  badCipher: `${NOISE}Running Get VSO Capabilities my_addr 0x20, transit 0, target 0x20\nInvalid completion code received: Invalid command\nDiscovered IPMB address 0x0\nError in open session response message : invalid authentication algorithm\n\n${NO_SESSION}`,
  privilege: `${NOISE}Get HPM.x Capabilities request failed, compcode = d4\nSet Chassis Power Control to Up/On failed: Insufficient privilege level\n`,
  role: `${NOISE}RAKP 2 message indicates an error : unauthorized role or privilege level requested\n${NO_SESSION}`,
  busy: `${NOISE}RAKP 2 message indicates an error : insufficient resources to create a session\n${NO_SESSION}`,
  failed: `${NOISE}Set Chassis Power Control to Cycle failed: Command not supported in present state\n`,
  invalid: 'Invalid command: bogus\nCommands:\n\traw ...\n',
  // Seen under heavy load: the session broke in the middle of a read.
  brokenSession: `${NOISE}Unable to get Chassis Power Status\nClose Session command failed\n`,
  // Seen under heavy load: the BMC acted, its reply was lost.
  lostReply: `${NOISE}IPMI Request Match NOT FOUND\nUnable to set Chassis Power Control to Up/On\n`,
};

const outcome = (stderr: string, more: Partial<IpmitoolOutcome> = {}): IpmitoolOutcome => ({
  exitCode: 1,
  stdout: '',
  stderr,
  timedOut: false,
  elapsedMs: 60,
  ...more,
});
const classify = (stderr: string, more: Partial<IpmitoolOutcome> = {}) =>
  classifyIpmitoolFailure(outcome(stderr, more), 1000);

describe('classifyIpmitoolFailure', () => {
  it.each([
    ['wrongPassword', 'auth', false, 'credentials', false],
    ['unknownUser', 'auth', false, 'credentials', false],
    ['role', 'auth', false, 'privilege', false],
    ['privilege', 'auth', false, 'privilege', true],
    ['badCipher', 'config', false, 'cipher-suite', false],
    ['deadBmc', 'unreachable', true, 'no-answer', false],
    ['busy', 'unreachable', true, 'busy', false],
    ['failed', 'command', false, 'failed', true],
    ['invalid', 'command', false, 'failed', true],
    ['brokenSession', 'unreachable', true, 'no-answer', true],
    ['lostReply', 'unreachable', true, 'no-answer', true],
  ] as const)('%s -> %s', (name, kind, retryable, reason, maybeSent) => {
    expect(classify(STDERR[name])).toEqual({ kind, retryable, reason, maybeSent });
  });

  it('treats a bare session failure by its speed: fast is a refusal, slow is no answer', () => {
    expect(classify(NO_SESSION, { elapsedMs: 80 })).toMatchObject({
      kind: 'auth',
      retryable: false,
    });
    expect(classify(NO_SESSION, { elapsedMs: 2100 })).toMatchObject({
      kind: 'unreachable',
      retryable: true,
    });
  });

  it('classifies a killed child as a retryable timeout that may have been sent', () => {
    expect(classify('', { timedOut: true, exitCode: null })).toEqual({
      kind: 'timeout',
      retryable: true,
      reason: 'call-timeout',
      maybeSent: true,
    });
  });

  it('classifies a child that never ran', () => {
    expect(classify('', { exitCode: null, spawnErrorCode: 'ENOENT' })).toEqual({
      kind: 'command',
      retryable: false,
      reason: 'spawn',
      maybeSent: false,
    });
  });
});

describe('scrubSecret', () => {
  it('replaces every occurrence', () => {
    expect(scrubSecret('pw=hunter2 again hunter2', 'hunter2')).toBe('pw=*** again ***');
  });

  it('leaves text alone for an empty secret', () => {
    expect(scrubSecret('abc', '')).toBe('abc');
  });
});

describe('summariseStderr', () => {
  it('drops noise and repeats and joins the rest', () => {
    expect(summariseStderr(STDERR.badCipher, 'x')).toBe(
      'Error in open session response message : invalid authentication algorithm; Error: Unable to establish IPMI v2 / RMCP+ session',
    );
    expect(summariseStderr(STDERR.wrongPassword, 'x')).toBe(
      'RAKP 2 HMAC is invalid; Error: Unable to establish IPMI v2 / RMCP+ session',
    );
  });

  it('scrubs the password and caps the length', () => {
    expect(summariseStderr('bad password hunter2\n', 'hunter2')).toBe('bad password ***');
    const long = summariseStderr('x'.repeat(1000), '', 50);
    expect(long).toHaveLength(50);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('BmcError', () => {
  it('carries its classification', () => {
    const err = new BmcError('auth', 'BMC 1.2.3.4:623 refused the credentials of user a', {
      retryable: false,
      reason: 'credentials',
      bmc: '1.2.3.4:623',
      username: 'a',
    });
    expect(err).toBeInstanceOf(Error);
    expect(isBmcError(err)).toBe(true);
    expect(isBmcError(new Error('x'))).toBe(false);
    expect(err.name).toBe('BmcError');
    expect(err).toMatchObject({ kind: 'auth', retryable: false, bmc: '1.2.3.4:623' });
  });
});
