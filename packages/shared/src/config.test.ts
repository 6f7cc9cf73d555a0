import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('gives every setting its documented default', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 5050,
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: '{inspector}',
      INTROSPECTION_TIMEOUT_S: 3600,
      NODE_STATUS_KEEP_TIME_S: 604_800,
      PROCESSING_HOOKS: ['ramdisk_error', 'scheduler', 'validate_interfaces'],
      ADD_PORTS: 'pxe',
      KEEP_PORTS: 'all',
      POWER_MANAGEMENT: 'ironic',
      ENABLE_SETTING_IPMI_CREDENTIALS: false,
      ENROLL_NODE_DRIVER: 'fake-hardware',
      ENROLL_NODE_FIELDS: {},
      ENABLED_BMC_ADDRESS_VERSION: ['4', '6'],
      PXE_FILTER_DRIVER: 'noop',
      PXE_FILTER_SYNC_PERIOD_S: 15,
      DNSMASQ_PURGE_HOSTSDIR: true,
      IPTABLES_INTERFACE: 'br-ctlplane',
      IPTABLES_CHAIN: 'ironic-inspector',
      IPTABLES_IP_VERSION: '4',
    });
    expect(config.NODE_NOT_FOUND_HOOK).toBeUndefined();
    expect(config.DNSMASQ_HOSTSDIR).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['IRONIC_URL', 'not a url'],
    ['REDIS_PREFIX', 'inspector'],
    ['PROCESSING_HOOKS', 'scheduler,no_such_hook'],
    ['ADD_PORTS', 'some'],
    ['OVERWRITE_EXISTING', 'maybe'],
    ['INTROSPECTION_TIMEOUT_S', '-1'],
    ['IRONIC_API_VERSION', '1.6'],
    ['IRONIC_API_VERSION', 'latest'],
    ['NODE_NOT_FOUND_HOOK', 'create'],
    ['ENABLED_BMC_ADDRESS_VERSION', '4,5'],
    ['PXE_FILTER_DRIVER', 'nftables'],
    ['PXE_FILTER_SYNC_PERIOD_S', '-5'],
    ['IPTABLES_CHAIN', 'a chain; rm -rf /'],
    ['IPTABLES_CHAIN', 'INPUT'],
    ['IPTABLES_CHAIN', 'ACCEPT'],
    ['IPTABLES_CHAIN', 'LOG'],
    ['IPTABLES_CHAIN', 'NFLOG_2'],
    ['IPTABLES_CHAIN', '-j'],
    ['IPTABLES_CHAIN', 'a-chain-name-longer-than-28-chars'],
    ['IPTABLES_IP_VERSION', '5'],
    ['IPTABLES_INTERFACE', '../etc'],
    ['IPTABLES_INTERFACE', 'br-ctlplane -j ACCEPT'],
    ['IPTABLES_INTERFACE', 'an-interface-name-too-long'],
  ])('stops on a bad %s, naming the variable and the value', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('parses booleans and lists the way operators write them', () => {
    const config = loadConfig({
      OVERWRITE_EXISTING: 'no',
      PROCESSING_HOOKS: ' root_device_hint , scheduler ',
    });
    expect(config.OVERWRITE_EXISTING).toBe(false);
    expect(config.PROCESSING_HOOKS).toEqual(['root_device_hint', 'scheduler']);
  });

  it.each([
    ['{"driver_info": {"ipmi_password": "s3cret"', 'expected a JSON object'],
    ['["s3cret"]', 'expected a JSON object'],
    ['{"driver": "ipmi", "x": "s3cret"}', 'set the driver with ENROLL_NODE_DRIVER'],
    ['{"driver_info": "s3cret"}', 'driver_info must be a JSON object'],
  ])('refuses ENROLL_NODE_FIELDS=%s without showing it: it may hold passwords', (value, why) => {
    expect(() => loadConfig({ ENROLL_NODE_FIELDS: value })).toThrow(
      `ENROLL_NODE_FIELDS="<hidden>": ${why}`,
    );
    expect(() => loadConfig({ ENROLL_NODE_FIELDS: value })).not.toThrow(/s3cret/);
  });

  it.each([
    [
      'discovery',
      {
        NODE_NOT_FOUND_HOOK: 'enroll',
        ENROLL_NODE_DRIVER: 'ipmi',
        ENROLL_NODE_FIELDS:
          '{"resource_class": "large", "driver_info": {"ipmi_username": "admin"}}',
        ENABLED_BMC_ADDRESS_VERSION: '6',
      },
      {
        NODE_NOT_FOUND_HOOK: 'enroll',
        ENROLL_NODE_DRIVER: 'ipmi',
        ENROLL_NODE_FIELDS: { resource_class: 'large', driver_info: { ipmi_username: 'admin' } },
        ENABLED_BMC_ADDRESS_VERSION: ['6'],
      },
    ],
    [
      'PXE filter',
      {
        PXE_FILTER_DRIVER: 'dnsmasq',
        DNSMASQ_HOSTSDIR: '/var/lib/inspector/dhcp-hostsdir',
        DNSMASQ_PURGE_HOSTSDIR: 'no',
        PXE_FILTER_SYNC_PERIOD_S: '0',
      },
      {
        PXE_FILTER_DRIVER: 'dnsmasq',
        DNSMASQ_HOSTSDIR: '/var/lib/inspector/dhcp-hostsdir',
        DNSMASQ_PURGE_HOSTSDIR: false,
        PXE_FILTER_SYNC_PERIOD_S: 0,
      },
    ],
  ])('takes %s settings', (_what, env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });

  it.each([
    [
      { PXE_FILTER_DRIVER: 'iptables', IPTABLES_COMMAND: 'iptables', IPTABLES_IP_VERSION: '6' },
      'iptables filters IPv4',
    ],
    [
      { PXE_FILTER_DRIVER: 'iptables', IPTABLES_COMMAND: 'sudo /usr/sbin/ip6tables-nft' },
      'ip6tables-nft filters IPv6',
    ],
  ])('refuses an iptables command of the other IP version: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(
      `IPTABLES_COMMAND=${JSON.stringify(env.IPTABLES_COMMAND)}: ${message}`,
    );
  });

  it('takes an iptables command of the IP version asked for, or one it cannot tell', () => {
    for (const [command, version] of [
      ['sudo ip6tables', '6'],
      ['/usr/sbin/iptables-legacy', '4'],
      ['ip netns exec lab ip6tables', '6'],
      ['/opt/fw/wrapper', '6'],
    ] as const) {
      expect(
        loadConfig({
          PXE_FILTER_DRIVER: 'iptables',
          IPTABLES_COMMAND: command,
          IPTABLES_IP_VERSION: version,
        }),
      ).toMatchObject({ IPTABLES_COMMAND: command.split(' '), IPTABLES_IP_VERSION: version });
    }
  });

  it('takes the iptables command as its words, and refuses one made of spaces', () => {
    expect(loadConfig({ IPTABLES_COMMAND: ' sudo  ip6tables ' }).IPTABLES_COMMAND).toEqual([
      'sudo',
      'ip6tables',
    ]);
    expect(() => loadConfig({ IPTABLES_COMMAND: '   ' })).toThrow(
      'IPTABLES_COMMAND="   ": expected a command, e.g. `sudo iptables`',
    );
  });

  it('leaves the iptables settings alone when another PXE filter driver is chosen', () => {
    expect(loadConfig({ IPTABLES_COMMAND: 'ip6tables' }).IPTABLES_IP_VERSION).toBe('4');
  });

  it('takes chain names iptables takes as user chains', () => {
    for (const chain of ['ironic-inspector', 'DHCP-FILTER', '1st.chain', 'input']) {
      expect(loadConfig({ IPTABLES_CHAIN: chain }).IPTABLES_CHAIN).toBe(chain);
    }
  });

  it('needs the hosts directory for the dnsmasq PXE filter', () => {
    expect(() => loadConfig({ PXE_FILTER_DRIVER: 'dnsmasq' })).toThrow(
      'DNSMASQ_HOSTSDIR=undefined: required when PXE_FILTER_DRIVER=dnsmasq',
    );
  });
});
