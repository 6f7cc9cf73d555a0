import { describe, expect, it } from 'vitest';
import type { IronicNode } from '@inspector/shared';
import { checkCredentialRequest } from './credentials.ts';

const node: IronicNode = {
  uuid: '1a1a1a1a-2b2b-3c3c-4d4d-5e5e5e5e5e5e',
  maintenance: true,
  driver_info: { ipmi_username: 'admin' },
};

describe('checkCredentialRequest (upstream case 14)', () => {
  it('is no request without a password, even with a user name', () => {
    expect(checkCredentialRequest(node, { new_ipmi_username: 'u' }, true)).toBeNull();
    expect(checkCredentialRequest(node, { new_ipmi_password: '' }, true)).toBeNull();
  });
  it('takes the user name from driver_info when none is given', () => {
    expect(checkCredentialRequest(node, { new_ipmi_password: 'pw1' }, true)).toEqual({
      username: 'admin',
      password: 'pw1',
    });
  });
  it.each([
    ['disabled', { new_ipmi_password: 'pw' }, node, false, 'disabled in configuration'],
    [
      'not in maintenance',
      { new_ipmi_password: 'pw' },
      { ...node, maintenance: false },
      true,
      'maintenance mode',
    ],
    [
      'no user anywhere',
      { new_ipmi_password: 'pw' },
      { ...node, driver_info: {} },
      true,
      'neither new user name',
    ],
    ['forbidden characters', { new_ipmi_password: 'p ssw@rd' }, node, true, 'Forbidden characters'],
    [
      'too long',
      { new_ipmi_password: 'a'.repeat(21) },
      node,
      true,
      'length should be > 0 and <= 20',
    ],
    [
      'user name with a space',
      { new_ipmi_password: 'pw', new_ipmi_username: 'a b' },
      node,
      true,
      'New IPMI user name must be 1 to 16 characters',
    ],
    [
      "driver_info's user name too long for a BMC, no new one given",
      { new_ipmi_password: 'pw' },
      { ...node, driver_info: { ipmi_username: 'a-very-long-user-name' } },
      true,
      'The user name in driver_info[ipmi_username] of node 1a1a1a1a-2b2b-3c3c-4d4d-5e5e5e5e5e5e',
    ],
  ])('refuses %s with a 400 naming the rule', (_, query, n, enabled, message) => {
    expect(() => checkCredentialRequest(n as IronicNode, query, enabled as boolean)).toThrow(
      message as string,
    );
  });
});
