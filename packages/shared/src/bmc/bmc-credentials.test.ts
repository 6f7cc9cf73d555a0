import { describe, expect, it } from 'vitest';
import {
  BmcDriverInfoError,
  bmcKey,
  describeUser,
  parseBmcCredentials,
} from './bmc-credentials.ts';
import { BmcError } from './bmc-error.ts';

const full = {
  ipmi_address: '127.0.0.1',
  ipmi_port: 9001,
  ipmi_username: 'admin',
  ipmi_password: 'password',
  ipmi_cipher_suite: 3,
};

function parseError(driverInfo: unknown): BmcDriverInfoError {
  try {
    parseBmcCredentials(driverInfo);
  } catch (err) {
    expect(err).toBeInstanceOf(BmcDriverInfoError);
    return err as BmcDriverInfoError;
  }
  throw new Error('expected a BmcDriverInfoError');
}

describe('parseBmcCredentials', () => {
  it('maps driver_info to credentials', () => {
    expect(parseBmcCredentials(full)).toEqual({
      address: '127.0.0.1',
      port: 9001,
      username: 'admin',
      password: 'password',
      cipherSuite: 3,
      privilegeLevel: undefined,
    });
  });

  it('applies the defaults and ignores other driver_info keys', () => {
    expect(
      parseBmcCredentials({
        ipmi_address: 'bmc-1.example.com',
        deploy_kernel: 'x',
        ipmi_port: null,
      }),
    ).toEqual({
      address: 'bmc-1.example.com',
      port: 623,
      username: '',
      password: '',
      cipherSuite: undefined,
      privilegeLevel: undefined,
    });
  });

  it('accepts numbers given as strings, as Ironic often stores them', () => {
    const c = parseBmcCredentials({ ...full, ipmi_port: ' 9002 ', ipmi_cipher_suite: '3' });
    expect(c.port).toBe(9002);
    expect(c.cipherSuite).toBe(3);
  });

  it('takes the privilege level and strips IPv6 brackets', () => {
    const c = parseBmcCredentials({
      ...full,
      ipmi_address: '[fd00::5]',
      ipmi_priv_level: 'OPERATOR',
    });
    expect(c.address).toBe('fd00::5');
    expect(c.privilegeLevel).toBe('OPERATOR');
    expect(bmcKey(c)).toBe('[fd00::5]:9001');
  });

  it('names a missing address', () => {
    const err = parseError({ ipmi_username: 'admin' });
    expect(err.message).toBe('Invalid BMC driver_info: ipmi_address is required');
    expect(err.fields).toEqual(['ipmi_address']);
    expect(err).toBeInstanceOf(BmcError);
    expect(err.kind).toBe('config');
    expect(err.retryable).toBe(false);
  });

  it('names every invalid field at once', () => {
    const err = parseError({
      ...full,
      ipmi_address: '-oProxyCommand',
      ipmi_port: '70000',
      ipmi_cipher_suite: 'x',
    });
    expect(err.fields).toEqual(['ipmi_address', 'ipmi_port', 'ipmi_cipher_suite']);
    expect(err.message).toContain('ipmi_address must be a host name or an IP address');
    expect(err.message).toContain('ipmi_port must be an integer between 1 and 65535');
    expect(err.message).toContain('ipmi_cipher_suite must be an integer between 0 and 255');
  });

  it.each([
    [{ ipmi_port: 0 }, 'ipmi_port must be an integer'],
    [{ ipmi_port: 1.5 }, 'ipmi_port must be an integer'],
    [{ ipmi_port: '' }, 'ipmi_port must be an integer'],
    [{ ipmi_address: '' }, 'ipmi_address must be a host name'],
    [{ ipmi_address: 'a b' }, 'ipmi_address must be a host name'],
    [{ ipmi_address: 42 }, 'ipmi_address must be a string'],
    [{ ipmi_username: 'a-very-long-user-name' }, 'ipmi_username must be at most 16 characters'],
    [{ ipmi_username: 7 }, 'ipmi_username must be a string'],
    [{ ipmi_priv_level: 'ROOT' }, 'ipmi_priv_level must be one of ADMINISTRATOR'],
    [{ ipmi_protocol_version: '1.5' }, 'ipmi_protocol_version must be 2.0'],
    [{ ipmi_bridging: 'single' }, 'ipmi_bridging is not supported'],
    [{ ipmi_hex_kg_key: 'abcd' }, 'ipmi_hex_kg_key is not supported'],
  ])('rejects %j', (patch, message) => {
    expect(parseError({ ...full, ...patch }).message).toContain(message);
  });

  it('never echoes the password', () => {
    const long = 'S3cret-but-far-too-long-for-ipmi';
    const err = parseError({ ...full, ipmi_password: long });
    expect(err.message).toBe(
      'Invalid BMC driver_info: ipmi_password must be at most 20 bytes (IPMI limit)',
    );
    expect(JSON.stringify(err)).not.toContain(long);
    expect(String(err.stack)).not.toContain(long);
  });

  it('recognises a password masked by Ironic', () => {
    expect(parseError({ ...full, ipmi_password: '******' }).message).toContain('show_password');
  });

  it('rejects a driver_info that is not an object', () => {
    expect(parseError(null).message).toBe('Invalid BMC driver_info: expected an object');
    expect(parseError(['x']).fields).toEqual([]);
  });
});

describe('describeUser', () => {
  it('names the user or the anonymous user', () => {
    expect(describeUser('admin')).toBe('user admin');
    expect(describeUser('')).toBe('the anonymous user');
  });
});
