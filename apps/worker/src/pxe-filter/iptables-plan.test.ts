import { describe, expect, it } from 'vitest';
import { planChain, restoreInput } from './iptables-plan.ts';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const C = '52:54:00:00:00:0c';

describe('planChain', () => {
  it('answers no DHCP request at all with nothing introspected and discovery off', () => {
    expect(
      planChain({ introspected: new Set(), ironic: new Set([A, B]), unknownAllowed: false }),
    ).toEqual([['-j', 'REJECT']]);
  });

  it("drops Ironic's MACs but the introspected ones, and answers the rest", () => {
    expect(
      planChain({ introspected: new Set([A]), ironic: new Set([C, A, B]), unknownAllowed: true }),
    ).toEqual([
      ['-m', 'mac', '--mac-source', B, '-j', 'DROP'],
      ['-m', 'mac', '--mac-source', C, '-j', 'DROP'],
      ['-j', 'ACCEPT'],
    ]);
  });

  it("fails closed before Ironic's ports are known: introspected MACs only", () => {
    expect(
      planChain({ introspected: new Set([B, A]), ironic: null, unknownAllowed: true }),
    ).toEqual([
      ['-m', 'mac', '--mac-source', A, '-j', 'ACCEPT'],
      ['-m', 'mac', '--mac-source', B, '-j', 'ACCEPT'],
      ['-j', 'REJECT'],
    ]);
  });

  it('gives the same rules for the same state, whatever the order sets were filled in', () => {
    const one = planChain({
      introspected: new Set(),
      ironic: new Set([A, B, C]),
      unknownAllowed: true,
    });
    const two = planChain({
      introspected: new Set(),
      ironic: new Set([C, B, A]),
      unknownAllowed: true,
    });
    expect(JSON.stringify(one)).toBe(JSON.stringify(two));
  });
});

describe('restoreInput', () => {
  it('declares the chain, so that iptables-restore empties it, then adds every rule in one commit', () => {
    expect(
      restoreInput('ironic-inspector', [
        ['-m', 'mac', '--mac-source', A, '-j', 'DROP'],
        ['-j', 'ACCEPT'],
      ]),
    ).toBe(
      [
        '*filter',
        ':ironic-inspector - [0:0]',
        `-A ironic-inspector -m mac --mac-source ${A} -j DROP`,
        '-A ironic-inspector -j ACCEPT',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});
