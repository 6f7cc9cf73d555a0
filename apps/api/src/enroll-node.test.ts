import { describe, expect, it } from 'vitest';
import { discoveredBmcAddress, enrollmentFields, nodeWithBmc } from './enroll-node.ts';

describe('discoveredBmcAddress', () => {
  const both = { ipmi_address: '192.0.2.7', ipmi_v6address: '2001:db8::7' };
  it('takes the first version enabled that the ramdisk reported', () => {
    expect(discoveredBmcAddress(both, ['4', '6'])).toBe('192.0.2.7');
    expect(discoveredBmcAddress(both, ['6', '4'])).toBe('2001:db8::7');
    expect(discoveredBmcAddress({ ...both, ipmi_address: null }, ['4', '6'])).toBe('2001:db8::7');
    expect(discoveredBmcAddress({ ...both, ipmi_v6address: null }, ['6'])).toBeNull();
  });
});

describe('enrollmentFields', () => {
  it('creates the node with the configured driver and fields, and the BMC address found', () => {
    expect(
      enrollmentFields('192.0.2.7', {
        ENROLL_NODE_DRIVER: 'ipmi',
        ENROLL_NODE_FIELDS: {
          resource_class: 'large',
          driver_info: { ipmi_username: 'admin', ipmi_address: 'stale' },
        },
      }),
    ).toEqual({
      resource_class: 'large',
      driver: 'ipmi',
      driver_info: { ipmi_username: 'admin', ipmi_address: '192.0.2.7' },
    });
  });

  it('leaves ipmi_address out when no BMC address was reported', () => {
    expect(
      enrollmentFields(null, { ENROLL_NODE_DRIVER: 'fake-hardware', ENROLL_NODE_FIELDS: {} }),
    ).toEqual({ driver: 'fake-hardware', driver_info: {} });
  });
});

describe('nodeWithBmc', () => {
  it('finds the node whose driver_info names the address, in any BMC field or URL', () => {
    const nodes = [
      { uuid: 'a', driver_info: null },
      { uuid: 'b', driver_info: { ipmi_address: '192.0.2.8' } },
      { uuid: 'c', driver_info: { redfish_address: 'https://[2001:db8::7]:8000/redfish' } },
    ];
    expect(nodeWithBmc(nodes, '192.0.2.8')).toBe('b');
    expect(nodeWithBmc(nodes, '2001:db8::7')).toBe('c');
    expect(nodeWithBmc(nodes, '192.0.2.9')).toBeNull();
  });
});
