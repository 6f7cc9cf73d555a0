import { describe, expect, it } from 'vitest';
import { inNetwork, parseIpAddress, parseIpNetwork } from './ip.ts';

const contains = (network: string, address: string) =>
  inNetwork(parseIpAddress(address)!, parseIpNetwork(network)!);

describe('parseIpAddress', () => {
  it('reads IPv4 dotted quads', () => {
    expect(parseIpAddress('10.0.0.5')).toEqual({ version: 4, bits: 0x0a000005n });
  });

  it('expands IPv6 :: compression wherever it stands', () => {
    expect(parseIpAddress('2001:db8::1')).toEqual(parseIpAddress('2001:0db8:0:0:0:0:0:1'));
    expect(parseIpAddress('::')).toEqual({ version: 6, bits: 0n });
    expect(parseIpAddress('::1')).toEqual({ version: 6, bits: 1n });
    expect(parseIpAddress('fe80::')).toEqual({ version: 6, bits: 0xfe80n << 112n });
    expect(parseIpAddress('1:2:3:4:5:6:7::')?.bits).toBe(parseIpAddress('1:2:3:4:5:6:7:0')?.bits);
  });

  it('reads IPv6 with an embedded IPv4 tail, case-insensitively', () => {
    expect(parseIpAddress('::FFFF:10.0.0.5')).toEqual({ version: 6, bits: 0xffff0a000005n });
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3.-4',
    'host.example.com',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    '12345::',
    ':1::',
    '1:::2',
    'fe80::1%eth0',
    '::1.2.3.4.5',
    '1.2.3.4::',
    'g::1',
  ])('refuses %j', (text) => {
    expect(parseIpAddress(text)).toBeNull();
  });
});

describe('parseIpNetwork', () => {
  it('takes a bare address as a single host', () => {
    expect(parseIpNetwork('10.0.0.5')?.prefix).toBe(32);
    expect(parseIpNetwork('fd00::1')?.prefix).toBe(128);
  });

  it.each(['10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/8/8', 'x/8', '/8'])(
    'refuses %j',
    (text) => {
      expect(parseIpNetwork(text)).toBeNull();
    },
  );
});

describe('inNetwork', () => {
  it('matches IPv4 addresses by prefix', () => {
    expect(contains('10.0.0.0/8', '10.255.1.2')).toBe(true);
    expect(contains('10.0.0.0/8', '11.0.0.1')).toBe(false);
    expect(contains('192.168.1.0/24', '192.168.1.255')).toBe(true);
    expect(contains('192.168.1.0/24', '192.168.2.0')).toBe(false);
    expect(contains('0.0.0.0/0', '8.8.8.8')).toBe(true);
  });

  it('ignores host bits set in the network, as netaddr does', () => {
    expect(contains('10.0.0.5/8', '10.9.9.9')).toBe(true);
  });

  it('matches a single host only itself', () => {
    expect(contains('10.0.0.5', '10.0.0.5')).toBe(true);
    expect(contains('10.0.0.5', '10.0.0.6')).toBe(false);
  });

  it('matches IPv6 addresses by prefix', () => {
    expect(contains('fd00::/64', 'fd00::1')).toBe(true);
    expect(contains('fd00::/64', 'fd00:0:0:0:ffff:ffff:ffff:ffff')).toBe(true);
    expect(contains('fd00::/64', 'fd00:0:0:1::1')).toBe(false);
    expect(contains('::/0', '2001:db8::1')).toBe(true);
  });

  it('never matches across address families', () => {
    expect(contains('::/0', '10.0.0.1')).toBe(false);
    expect(contains('0.0.0.0/0', '::1')).toBe(false);
  });
});
