/**
 * IPv4/IPv6 addresses and networks as big integers, for the rules' `in-net` operator and for
 * comparing BMC addresses however they are spelled. Parsed here rather than with a dependency:
 * only membership of an address in a CIDR is needed.
 */
export type IpAddress = { version: 4 | 6; bits: bigint };
export type IpNetwork = IpAddress & { prefix: number };

const WIDTH = { 4: 32, 6: 128 } as const;
const OCTET_RE = /^(0|[1-9]\d{0,2})$/;
const HEXTET_RE = /^[0-9a-fA-F]{1,4}$/;
const PREFIX_RE = /^(0|[1-9]\d{0,2})$/;

function parseIpv4(text: string): bigint | null {
  const octets = text.split('.');
  if (octets.length !== 4 || !octets.every((o) => OCTET_RE.test(o) && Number(o) <= 255)) {
    return null;
  }
  return octets.reduce((acc, o) => (acc << 8n) | BigInt(o), 0n);
}

/** The 16-bit words of colon-separated groups; the last group may be a dotted IPv4 address. */
function words(groups: string[], v4Last: boolean): number[] | null {
  const result: number[] = [];
  for (const [i, group] of groups.entries()) {
    if (v4Last && i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIpv4(group);
      if (v4 === null) return null;
      result.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (HEXTET_RE.test(group)) {
      result.push(parseInt(group, 16));
    } else {
      return null;
    }
  }
  return result;
}

function parseIpv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const [head = '', tail] = halves;
  const split = (half: string) => (half === '' ? [] : half.split(':'));
  const headWords = words(split(head), tail === undefined);
  const tailWords = tail === undefined ? [] : words(split(tail), true);
  if (!headWords || !tailWords) return null;
  const given = headWords.length + tailWords.length;
  if (tail === undefined ? given !== 8 : given > 7) return null;
  const all = [...headWords, ...Array<number>(8 - given).fill(0), ...tailWords];
  return all.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

export function parseIpAddress(text: string): IpAddress | null {
  if (text.includes(':')) {
    const bits = parseIpv6(text);
    return bits === null ? null : { version: 6, bits };
  }
  const bits = parseIpv4(text);
  return bits === null ? null : { version: 4, bits };
}

/** A network in CIDR notation; a bare address is a single-host network (/32 or /128). */
export function parseIpNetwork(text: string): IpNetwork | null {
  const [address = '', prefixText, extra] = text.split('/');
  if (extra !== undefined) return null;
  const parsed = parseIpAddress(address);
  if (!parsed) return null;
  const width = WIDTH[parsed.version];
  if (prefixText === undefined) return { ...parsed, prefix: width };
  if (!PREFIX_RE.test(prefixText) || Number(prefixText) > width) return null;
  return { ...parsed, prefix: Number(prefixText) };
}

export function inNetwork(address: IpAddress, network: IpNetwork): boolean {
  if (address.version !== network.version) return false;
  const shift = BigInt(WIDTH[network.version] - network.prefix);
  return address.bits >> shift === network.bits >> shift;
}
