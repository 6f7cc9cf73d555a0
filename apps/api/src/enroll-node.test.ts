import { describe, expect, it } from 'vitest';
import {
  DISCOVERY_MARK,
  discoveredBmcAddress,
  discoveryId,
  enrollmentFields,
  nodeWithBmc,
  redactFields,
} from './enroll-node.ts';

describe('discoveredBmcAddress', () => {
  const both = { ipmi_address: '192.0.2.7', ipmi_v6address: '2001:db8::7' };
  it('takes the first version enabled that the ramdisk reported', () => {
    expect(discoveredBmcAddress(both, ['4', '6'])).toBe('192.0.2.7');
    expect(discoveredBmcAddress(both, ['6', '4'])).toBe('2001:db8::7');
    expect(discoveredBmcAddress({ ...both, ipmi_address: null }, ['4', '6'])).toBe('2001:db8::7');
    expect(discoveredBmcAddress({ ...both, ipmi_v6address: null }, ['6'])).toBeNull();
  });

  it('takes only an IP address off the machine: a name or a URL could point anywhere', () => {
    for (const bogus of [
      'bmc.example.org',
      'https://192.0.2.7/redfish',
      '127.0.0.1',
      '::1',
      '0:0::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(discoveredBmcAddress({ ipmi_address: bogus, ipmi_v6address: null }, ['4'])).toBeNull();
    }
  });
});

describe('enrollmentFields', () => {
  it('creates the node with the configured driver and fields, the BMC address and the mark', () => {
    expect(
      enrollmentFields('192.0.2.7', 'id-1', {
        ENROLL_NODE_DRIVER: 'ipmi',
        ENROLL_NODE_FIELDS: {
          resource_class: 'large',
          driver_info: { ipmi_username: 'admin', ipmi_address: 'stale' },
          extra: { rack: 'r1' },
        },
      }),
    ).toEqual({
      resource_class: 'large',
      driver: 'ipmi',
      driver_info: { ipmi_username: 'admin', ipmi_address: '192.0.2.7' },
      extra: { rack: 'r1', [DISCOVERY_MARK]: 'id-1' },
    });
  });

  it('leaves ipmi_address out when no BMC address was reported', () => {
    expect(
      enrollmentFields(null, 'id-2', {
        ENROLL_NODE_DRIVER: 'fake-hardware',
        ENROLL_NODE_FIELDS: {},
      }),
    ).toEqual({ driver: 'fake-hardware', driver_info: {}, extra: { [DISCOVERY_MARK]: 'id-2' } });
  });
});

describe('discoveryId', () => {
  it('names a machine by its MACs and BMC addresses, in any order', () => {
    const a = discoveryId({
      bmc_address: ['192.0.2.7'],
      mac: ['52:54:00:00:00:01', '52:54:00:00:00:02'],
    });
    expect(a).toBe(
      discoveryId({ bmc_address: ['192.0.2.7'], mac: ['52:54:00:00:00:02', '52:54:00:00:00:01'] }),
    );
    expect(a).not.toBe(discoveryId({ bmc_address: ['192.0.2.7'], mac: ['52:54:00:00:00:01'] }));
  });
});

describe('nodeWithBmc', () => {
  it('finds the node whose driver_info names the address, in any BMC field, URL or spelling', () => {
    const nodes = [
      { uuid: 'a', driver_info: null },
      { uuid: 'b', driver_info: { ipmi_address: '192.0.2.8' } },
      { uuid: 'c', driver_info: { redfish_address: 'https://[2001:DB8:0::7]:8000/redfish' } },
    ];
    expect(nodeWithBmc(nodes, '192.0.2.8')).toBe('b');
    expect(nodeWithBmc(nodes, '2001:db8::7')).toBe('c');
    expect(nodeWithBmc(nodes, '192.0.2.9')).toBeNull();
  });
});

describe('redactFields', () => {
  it('hides every configured value an Ironic message echoes', () => {
    const fields = { resource_class: 'big', driver_info: { ipmi_password: 's3cret' } };
    expect(redactFields("Invalid value 's3cret' for field (resource class big)", fields)).toBe(
      "Invalid value '***' for field (resource class ***)",
    );
  });
});
