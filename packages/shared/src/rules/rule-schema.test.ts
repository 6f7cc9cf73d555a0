import { describe, expect, it } from 'vitest';
import {
  MAX_RULE_ACTIONS,
  MAX_RULE_CONDITIONS,
  RULE_ACTIONS,
  RULE_CONDITION_OPS,
  RuleSchema,
  parseRule,
} from './rule-schema.ts';
import { refusal } from './refusal.testing.ts';

const UUID = '0b0bd0a4-3a1a-4a3e-9a1d-2f6a2d9c1e7b';
const newUuid = () => UUID.toUpperCase();
const fail = { action: 'fail', message: 'boom' };
const withConditions = (...conditions: unknown[]) => ({ conditions, actions: [fail] });
const withActions = (...actions: unknown[]) => ({ actions });

/** The 400 parseRule answers for `body`. */
const refused = (body: unknown) => refusal(() => parseRule(body, newUuid));

describe('parseRule: normalized rule', () => {
  it('fills in the defaults and keeps operator and action parameters', () => {
    const rule = parseRule(
      {
        conditions: [{ op: 'eq', field: 'memory_mb', value: 12288 }],
        actions: [{ action: 'set-attribute', path: '/extra/foo', value: null }],
      },
      newUuid,
    );
    expect(rule).toEqual({
      uuid: UUID,
      description: null,
      scope: null,
      conditions: [{ op: 'eq', field: 'memory_mb', multiple: 'any', invert: false, value: 12288 }],
      actions: [{ action: 'set-attribute', path: '/extra/foo', value: null }],
    });
  });

  it('keeps the given UUID lower-cased, description, scope, multiple and invert', () => {
    const rule = parseRule(
      {
        uuid: UUID.toUpperCase(),
        description: 'big nodes',
        scope: 'rack-1',
        conditions: [{ op: 'is-empty', field: 'node://extra.x', multiple: 'all', invert: true }],
        actions: [{ action: 'add-trait', name: 'CUSTOM_BIG' }],
      },
      () => 'unused',
    );
    expect(rule.uuid).toBe(UUID);
    expect(rule.description).toBe('big nodes');
    expect(rule.scope).toBe('rack-1');
    expect(rule.conditions[0]).toEqual({
      op: 'is-empty',
      field: 'node://extra.x',
      multiple: 'all',
      invert: true,
    });
  });

  it('generates a UUID for a missing or null one', () => {
    expect(parseRule({ actions: [fail] }, newUuid).uuid).toBe(UUID);
    expect(parseRule({ uuid: null, actions: [fail] }, newUuid).uuid).toBe(UUID);
  });

  it('accepts a scope of exactly 255 characters', () => {
    expect(parseRule({ scope: 's'.repeat(255), actions: [fail] }, newUuid).scope).toHaveLength(255);
  });

  it('ignores unknown top-level keys, as upstream', () => {
    expect(parseRule({ actions: [fail], links: [] }, newUuid)).not.toHaveProperty('links');
  });

  it('accepts every operator and every action with its parameters', () => {
    const conditions = RULE_CONDITION_OPS.map((op) => ({
      op,
      field: 'data://x',
      ...(op === 'is-empty' ? {} : { value: op === 'in-net' ? '10.0.0.0/8' : 'a+' }),
    }));
    const actions = [
      { action: 'fail', message: 'm' },
      { action: 'set-attribute', path: 'p', value: 1, reset_interfaces: true },
      { action: 'set-capability', name: 'n' },
      { action: 'set-capability', name: 'n', value: 'v' },
      { action: 'extend-attribute', path: 'p', value: 1, unique: true },
      { action: 'add-trait', name: 'T' },
      { action: 'remove-trait', name: 'T' },
    ];
    const rule = parseRule({ conditions, actions }, newUuid);
    expect(rule.conditions.map((c) => c.op)).toEqual([...RULE_CONDITION_OPS]);
    expect(rule.actions).toEqual(actions);
    expect(new Set(actions.map((a) => a.action))).toEqual(new Set(RULE_ACTIONS));
  });

  it('gives a rule that RuleSchema re-parses unchanged from its JSON', () => {
    const rule = parseRule(
      {
        description: 'd',
        conditions: [{ op: 'in-net', field: 'inventory.bmc_address', value: '10.0.0.0/8' }],
        actions: [{ action: 'extend-attribute', path: 'extra/l', value: { a: 1 }, unique: true }],
      },
      newUuid,
    );
    expect(RuleSchema.parse(JSON.parse(JSON.stringify(rule)))).toEqual(rule);
  });

  it('has RuleSchema refuse a stored rule of the wrong shape', () => {
    expect(RuleSchema.safeParse({ uuid: UUID, description: null, scope: null }).success).toBe(
      false,
    );
    expect(
      RuleSchema.safeParse({
        uuid: UUID,
        description: null,
        scope: null,
        conditions: [],
        actions: [{ action: 'add-trait', name: 'T', extra: 1 }],
      }).success,
    ).toBe(false);
  });
});

describe('parseRule: 400 answers', () => {
  it.each([[[]], [null], ['rule'], [42]])('refuses a body of %j', (body) => {
    expect(refused(body)).toBe('Invalid rule: expected a JSON object');
  });

  it.each([['not-a-uuid'], [42], [''], [{}]])('refuses a uuid of %j', (uuid) => {
    expect(refused({ uuid, actions: [fail] })).toBe('Invalid UUID value');
  });

  it('refuses a description that is not a string', () => {
    expect(refused({ description: 42, actions: [fail] })).toBe(
      'Invalid description: expected a string',
    );
  });

  it.each([['s'.repeat(256)], [7]])('refuses a scope of %j', (scope) => {
    expect(refused({ scope, actions: [fail] })).toBe(
      'Invalid scope: expected a string of at most 255 characters',
    );
  });

  it.each([
    [{ conditions: 'x', actions: [fail] }, /^Validation failed for conditions: .*expected array/],
    [withConditions(1), /^Validation failed for conditions: item 0: .*expected object/],
    [withConditions({ field: 'x', value: 1 }), /^Validation failed for conditions: item 0, op: /],
    [
      withConditions({ op: 'eq', field: 'x', value: 1 }, { op: 'like', field: 'x', value: 1 }),
      /^Validation failed for conditions: item 1, op: Invalid option/,
    ],
    [withConditions({ op: 'eq', value: 1 }), /^Validation failed for conditions: item 0, field: /],
    [
      withConditions({ op: 'eq', field: 5, value: 1 }),
      /^Validation failed for conditions: item 0, field: .*expected string/,
    ],
    [
      withConditions({ op: 'eq', field: 'x', value: 1, multiple: 'most' }),
      /^Validation failed for conditions: item 0, multiple: /,
    ],
    [
      withConditions({ op: 'eq', field: 'x', value: 1, invert: 'yes' }),
      /^Validation failed for conditions: item 0, invert: .*expected boolean/,
    ],
  ])('refuses conditions %j', (body, message) => {
    expect(refused(body)).toMatch(message);
  });

  it('caps the number of conditions', () => {
    const condition = { op: 'is-empty', field: 'x' };
    const conditions = Array.from({ length: MAX_RULE_CONDITIONS + 1 }, () => condition);
    expect(refused({ conditions, actions: [fail] })).toBe(
      'Validation failed for conditions: at most 100 conditions are allowed',
    );
    expect(
      parseRule({ conditions: conditions.slice(1), actions: [fail] }, newUuid).conditions,
    ).toHaveLength(MAX_RULE_CONDITIONS);
  });

  it('refuses a field scheme other than data:// and node://', () => {
    expect(refused(withConditions({ op: 'is-empty', field: 'http://x' }))).toBe(
      'Unsupported scheme for field: http',
    );
  });

  it('refuses a field whose JSON path does not parse', () => {
    expect(refused(withConditions({ op: 'is-empty', field: 'data://a..b' }))).toBe(
      'Unable to parse field JSON path data://a..b: empty segment at position 1',
    );
    expect(refused(withConditions({ op: 'is-empty', field: 'a[?(@.x)]' }))).toBe(
      'Unable to parse field JSON path a[?(@.x)]: filter expressions are not supported at position 1',
    );
  });

  it.each(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in-net', 'matches', 'contains'])(
    'requires the value of operator %s',
    (op) => {
      expect(refused(withConditions({ op, field: 'x' }))).toBe(
        `Invalid parameters for operator ${op}: missing required parameter(s): value`,
      );
    },
  );

  it('counts a null parameter as not given, as upstream, but for the value set-attribute sets', () => {
    expect(refused(withConditions({ op: 'eq', field: 'x', value: null }))).toBe(
      'Invalid parameters for operator eq: missing required parameter(s): value',
    );
    expect(refused(withActions({ action: 'set-capability', name: null }))).toBe(
      'Invalid parameters for action set-capability: missing required parameter(s): name',
    );
    expect(refused(withActions({ action: 'fail', message: null }))).toBe(
      'Invalid parameters for action fail: missing required parameter(s): message',
    );
    const nulled = { action: 'set-attribute', path: '/extra/a', value: null };
    expect(parseRule(withActions(nulled), newUuid).actions).toEqual([nulled]);
    // An optional parameter given as null is left out, an unknown one is no longer unexpected.
    const optional = { action: 'extend-attribute', path: 'p', value: 1, unique: null, x: null };
    expect(parseRule(withActions(optional), newUuid).actions).toEqual([
      { action: 'extend-attribute', path: 'p', value: 1 },
    ]);
    expect(
      parseRule(withConditions({ op: 'is-empty', field: 'x', value: null }), newUuid).conditions,
    ).toEqual([{ op: 'is-empty', field: 'x', multiple: 'any', invert: false }]);
  });

  it('refuses unexpected operator parameters, sorted', () => {
    expect(refused(withConditions({ op: 'eq', field: 'x', value: 1, zeta: 1, alpha: 2 }))).toBe(
      'Invalid parameters for operator eq: unexpected parameter(s): alpha, zeta',
    );
    expect(refused(withConditions({ op: 'is-empty', field: 'x', value: 1 }))).toBe(
      'Invalid parameters for operator is-empty: unexpected parameter(s): value',
    );
  });

  it('names missing and unexpected parameters together, as upstream', () => {
    expect(refused(withConditions({ op: 'gt', field: 'x', vaule: 1 }))).toBe(
      'Invalid parameters for operator gt: missing required parameter(s): value; unexpected parameter(s): vaule',
    );
  });

  it.each([['10.0.0.0/33'], ['not a network'], [10]])('refuses an in-net value of %j', (value) => {
    expect(refused(withConditions({ op: 'in-net', field: 'x', value }))).toBe(
      `Invalid parameters for operator in-net: invalid network ${value}`,
    );
  });

  it('accepts in-net values that are IPv6 networks or bare addresses', () => {
    for (const value of ['fd00::/64', '10.0.0.5', '::1']) {
      expect(parseRule(withConditions({ op: 'in-net', field: 'x', value }), newUuid)).toBeTruthy();
    }
  });

  it.each([
    ['matches', '(unclosed'],
    ['contains', '[z-a]'],
    ['matches', 42],
  ])('refuses a %s value of %j', (op, value) => {
    expect(refused(withConditions({ op, field: 'x', value }))).toBe(
      `Invalid parameters for operator ${op}: invalid regular expression ${value}`,
    );
  });

  it.each([
    [{}, /^Validation failed for actions: .*expected array, received undefined/],
    [{ actions: {} }, /^Validation failed for actions: .*expected array/],
    [withActions(), /^Validation failed for actions: at least one action is required$/],
    [withActions(fail, { action: 'reboot' }), /^Validation failed for actions: item 1, action: /],
    [withActions({ message: 'x' }), /^Validation failed for actions: item 0, action: /],
    [withActions('fail'), /^Validation failed for actions: item 0: .*expected object/],
  ])('refuses actions of %j', (body, message) => {
    expect(refused(body)).toMatch(message);
  });

  it('caps the number of actions', () => {
    const actions = Array.from({ length: MAX_RULE_ACTIONS + 1 }, () => fail);
    expect(refused({ actions })).toBe(
      'Validation failed for actions: at most 100 actions are allowed',
    );
  });

  it.each([
    [{ action: 'fail' }, 'fail: missing required parameter(s): message'],
    [{ action: 'set-attribute' }, 'set-attribute: missing required parameter(s): path, value'],
    [{ action: 'set-attribute', path: 'p' }, 'set-attribute: missing required parameter(s): value'],
    [{ action: 'set-capability' }, 'set-capability: missing required parameter(s): name'],
    [
      { action: 'extend-attribute', value: 1 },
      'extend-attribute: missing required parameter(s): path',
    ],
    [{ action: 'add-trait' }, 'add-trait: missing required parameter(s): name'],
    [{ action: 'remove-trait' }, 'remove-trait: missing required parameter(s): name'],
    [
      { action: 'fail', message: 'm', value: 1, code: 2 },
      'fail: unexpected parameter(s): code, value',
    ],
    [
      { action: 'add-trait', name: 'T', unique: true },
      'add-trait: unexpected parameter(s): unique',
    ],
    [
      { action: 'set-capability', name: 'n', reset_interfaces: true },
      'set-capability: unexpected parameter(s): reset_interfaces',
    ],
  ])('refuses action %j', (action, detail) => {
    expect(refused(withActions(action))).toBe(`Invalid parameters for action ${detail}`);
  });

  it.each([
    [{ action: 'set-attribute', path: 5, value: 1 }, 'set-attribute: path: '],
    [{ action: 'extend-attribute', path: ['a'], value: 1 }, 'extend-attribute: path: '],
    [{ action: 'add-trait', name: 1 }, 'add-trait: name: '],
    [{ action: 'remove-trait', name: {} }, 'remove-trait: name: '],
    [
      { action: 'set-attribute', path: 'p', value: 1, reset_interfaces: 'yes' },
      'set-attribute: reset_interfaces: ',
    ],
    [{ action: 'extend-attribute', path: 'p', value: 1, unique: 1 }, 'extend-attribute: unique: '],
  ])('refuses a parameter of the wrong type in %j', (action, detail) => {
    expect(refused(withActions(action))).toMatch(
      new RegExp(`^Invalid parameters for action ${detail}Invalid input: expected`),
    );
  });
});
