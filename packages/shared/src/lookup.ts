/**
 * Picks the node a ramdisk callback belongs to. Each candidate scores one
 * point per matching attribute, so nodes that share a BMC address (one BMC IP,
 * several IPMI ports) are told apart by their MACs; a tie at the top is refused.
 */
export interface LookupAttributes {
  bmc_address: string[];
  mac: string[];
}

export type LookupResult =
  | { kind: 'found'; uuid: string }
  | { kind: 'not_found'; message: string }
  | { kind: 'multiple'; message: string };

export function describeAttributes(attrs: LookupAttributes): string {
  return `{bmc_address: [${attrs.bmc_address.join(', ')}], mac: [${attrs.mac.join(', ')}]}`;
}

export function pickNode(
  attrs: LookupAttributes,
  /** For each attribute value, the uuids whose lookup index holds it. */
  matches: string[][],
): LookupResult {
  const scores = new Map<string, number>();
  for (const uuids of matches) {
    for (const uuid of new Set(uuids)) scores.set(uuid, (scores.get(uuid) ?? 0) + 1);
  }
  if (scores.size === 0) {
    return {
      kind: 'not_found',
      message: `Could not find a node for attributes ${describeAttributes(attrs)}`,
    };
  }
  const best = Math.max(...scores.values());
  const top = [...scores].filter(([, s]) => s === best).map(([uuid]) => uuid);
  if (top.length > 1) {
    return {
      kind: 'multiple',
      message: `Multiple nodes match the same number of attributes ${describeAttributes(attrs)}: ${top.sort().join(', ')}`,
    };
  }
  return { kind: 'found', uuid: top[0]! };
}
