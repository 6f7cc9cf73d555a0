import { describe, expect, it } from 'vitest';
import { refusal } from './refusal.testing.ts';
import { planActions, rulesThatApply, type IronicNodeLike } from './plan.ts';
import { parseRule, type Rule } from './rule-schema.ts';

let counter = 0;
const rule = (body: Record<string, unknown>): Rule =>
  parseRule(body, () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`);
const actions = (...list: unknown[]) => rule({ actions: list });
const plan = (node: IronicNodeLike, ...list: unknown[]) =>
  planActions([actions(...list)], {}, node);

describe('upstream reference case', () => {
  const data = {
    memory_mb: 12288,
    local_gb: 999,
    inventory: { interfaces: [{ ipv4_address: '1.2.3.4' }], bmc_address: '10.0.0.5' },
  };
  const node = { driver_info: { ipmi_address: '10.0.0.5' }, properties: {} };
  const matching = rule({
    conditions: [
      { op: 'eq', field: 'memory_mb', value: 12288 },
      { op: 'gt', field: 'local_gb', value: 998 },
      { op: 'lt', field: 'local_gb', value: 1000 },
      { op: 'matches', field: 'local_gb', value: '[0-9]+' },
      { op: 'matches', field: 'inventory.interfaces[*].ipv4_address', value: '1\\.2\\.3\\.4' },
      {
        op: 'contains',
        field: 'inventory.interfaces[*].ipv4_address',
        value: '127\\.0\\.0\\.1',
        invert: true,
        multiple: 'all',
      },
      { op: 'eq', field: 'node://driver_info.ipmi_address', value: '10.0.0.5' },
      { op: 'is-empty', field: 'i.do.not.exist' },
    ],
    actions: [
      { action: 'set-attribute', path: '/extra/foo', value: 'bar' },
      { action: 'set-attribute', path: '/extra/bmc', value: '{data[inventory][bmc_address]}' },
    ],
  });
  const failing = rule({
    conditions: [{ op: 'ge', field: 'memory_mb', value: 100500 }],
    actions: [
      { action: 'set-attribute', path: '/extra/bar', value: 'foo' },
      { action: 'fail', message: 'boom' },
    ],
  });

  it('applies the matching rule only', () => {
    expect(rulesThatApply([matching, failing], data, node)).toEqual([matching]);
  });

  it('plans the set-attribute actions, with the value formatted from the data', () => {
    const applying = rulesThatApply([matching, failing], data, node);
    expect(planActions(applying, data, node)).toEqual({
      patch: [
        { op: 'add', path: '/extra/foo', value: 'bar' },
        { op: 'add', path: '/extra/bmc', value: '10.0.0.5' },
      ],
      addTraits: [],
      removeTraits: [],
      resetInterfaces: false,
      fail: null,
    });
  });
});

describe('rulesThatApply', () => {
  const data = { memory_mb: 1024 };
  const big = rule({
    conditions: [{ op: 'gt', field: 'memory_mb', value: 4096 }],
    actions: [{ action: 'add-trait', name: 'BIG' }],
  });
  const small = rule({
    conditions: [{ op: 'le', field: 'memory_mb', value: 4096 }],
    actions: [{ action: 'add-trait', name: 'SMALL' }],
  });

  it('keeps the given order and applies rules without conditions', () => {
    const first = actions({ action: 'add-trait', name: 'A' });
    const last = actions({ action: 'add-trait', name: 'B' });
    expect(rulesThatApply([first, small, last], data, {})).toEqual([first, small, last]);
  });

  it('needs every condition to hold', () => {
    const both = rule({
      conditions: [...small.conditions, ...big.conditions],
      actions: small.actions,
    });
    expect(rulesThatApply([both], data, {})).toEqual([]);
  });

  it('applies a scoped rule to nodes of that inspection_scope only', () => {
    const scoped = rule({ scope: 'rack-1', actions: [{ action: 'add-trait', name: 'R' }] });
    const unscoped = rule({ scope: '', actions: [{ action: 'add-trait', name: 'U' }] });
    const inRack = { properties: { inspection_scope: 'rack-1' } };
    expect(rulesThatApply([scoped, unscoped], data, inRack)).toEqual([scoped, unscoped]);
    expect(rulesThatApply([scoped, unscoped], data, { properties: {} })).toEqual([unscoped]);
    expect(rulesThatApply([scoped], data, { properties: null })).toEqual([]);
    expect(rulesThatApply([scoped], data, { properties: { inspection_scope: 'rack-2' } })).toEqual(
      [],
    );
  });
});

describe('planActions', () => {
  describe('set-attribute', () => {
    it('adds a leading slash to the path', () => {
      expect(plan({}, { action: 'set-attribute', path: 'extra/a', value: 1 }).patch).toEqual([
        { op: 'add', path: '/extra/a', value: 1 },
      ]);
    });

    it('resets interfaces on a change of driver unless told not to, as upstream', () => {
      const set = (path: string, reset?: boolean) =>
        plan(
          {},
          {
            action: 'set-attribute',
            path,
            value: 'x',
            ...(reset === undefined ? {} : { reset_interfaces: reset }),
          },
        ).resetInterfaces;
      expect(set('/extra/a')).toBe(false);
      // Ironic refuses reset_interfaces on an update that does not change the driver.
      expect(set('/extra/a', true)).toBe(false);
      expect(set('driver')).toBe(true);
      expect(set('/driver/', true)).toBe(true);
      expect(set('/driver', false)).toBe(false);
    });

    it('formats strings deep inside the value, and not the path', () => {
      const result = planActions(
        [
          actions({
            action: 'set-attribute',
            path: '/extra/{data[name]}',
            value: { list: ['{data[name]}', 3], keep: null },
          }),
        ],
        { name: 'n1' },
        {},
      );
      expect(result.patch).toEqual([
        { op: 'add', path: '/extra/{data[name]}', value: { list: ['n1', 3], keep: null } },
      ]);
    });
  });

  describe('set-capability', () => {
    it('replaces one capability, keeping the others in their order', () => {
      const node = { properties: { capabilities: 'boot_mode:bios,cpu_vt:true,x:1' } };
      const result = plan(node, { action: 'set-capability', name: 'cpu_vt', value: 'false' });
      expect(result.patch).toEqual([
        { op: 'add', path: '/properties/capabilities', value: 'boot_mode:bios,cpu_vt:false,x:1' },
      ]);
    });

    it('appends a new capability; one set to nothing goes, as upstream', () => {
      const node = { properties: { capabilities: 'boot_mode:uefi,gpu:a100' } };
      expect(plan(node, { action: 'set-capability', name: 'gpu' }).patch[0]?.value).toBe(
        'boot_mode:uefi',
      );
      expect(
        plan(node, { action: 'set-capability', name: 'boot_mode', value: null }).patch[0]?.value,
      ).toBe('gpu:a100');
      expect(plan(node, { action: 'set-capability', name: 'gpus', value: 2 }).patch[0]?.value).toBe(
        'boot_mode:uefi,gpu:a100,gpus:2',
      );
    });

    it('starts from no capabilities, even without properties', () => {
      const result = plan(
        { properties: null },
        { action: 'set-capability', name: 'a', value: '1' },
        { action: 'set-capability', name: 'b', value: '{data}' },
      );
      expect(result.patch).toEqual([
        { op: 'add', path: '/properties/capabilities', value: 'a:1,b:{}' },
      ]);
    });

    it('refuses capabilities that are not a string', () => {
      const node = { properties: { capabilities: { a: 1 } } };
      expect(() => plan(node, { action: 'set-capability', name: 'a', value: '1' })).toThrow(
        'Cannot set capability a: properties/capabilities is not a string',
      );
    });
  });

  describe('extend-attribute', () => {
    it('starts from an empty list and sees earlier extensions', () => {
      const result = plan(
        {},
        { action: 'extend-attribute', path: '/extra/tags', value: 'a' },
        { action: 'extend-attribute', path: 'extra/tags', value: 'b' },
      );
      expect(result.patch).toEqual([{ op: 'add', path: '/extra/tags', value: ['a', 'b'] }]);
    });

    it('extends the list the node has', () => {
      const node = { extra: { tags: ['x'] } };
      expect(
        plan(node, { action: 'extend-attribute', path: 'extra/tags', value: 'y' }).patch,
      ).toEqual([{ op: 'add', path: '/extra/tags', value: ['x', 'y'] }]);
    });

    it('skips a value already there when unique, comparing deeply', () => {
      const node = { extra: { nics: [{ mac: 'aa' }] } };
      const extend = (unique: boolean) =>
        plan(node, {
          action: 'extend-attribute',
          path: '/extra/nics',
          value: { mac: 'aa' },
          unique,
        }).patch;
      expect(extend(true)).toEqual([]);
      expect(extend(false)).toEqual([
        { op: 'add', path: '/extra/nics', value: [{ mac: 'aa' }, { mac: 'aa' }] },
      ]);
    });

    it('refuses to extend what is not a list', () => {
      const node = { extra: { tags: 'x' } };
      expect(
        refusal(() => plan(node, { action: 'extend-attribute', path: 'extra/tags', value: 'y' })),
      ).toBe('Cannot extend /extra/tags: not a list');
    });
  });

  describe('traits', () => {
    it('collects added and removed traits', () => {
      const result = planActions(
        [
          actions(
            { action: 'add-trait', name: 'CUSTOM_GPU' },
            { action: 'remove-trait', name: 'CUSTOM_OLD' },
          ),
        ],
        {},
        {},
      );
      expect(result.addTraits).toEqual(['CUSTOM_GPU']);
      expect(result.removeTraits).toEqual(['CUSTOM_OLD']);
    });

    it('lets a later change to a trait cancel an earlier one', () => {
      const result = plan(
        {},
        { action: 'add-trait', name: 'A' },
        { action: 'remove-trait', name: 'A' },
        { action: 'remove-trait', name: 'B' },
        { action: 'add-trait', name: 'B' },
      );
      expect(result.addTraits).toEqual(['B']);
      expect(result.removeTraits).toEqual(['A']);
    });
  });

  describe('fail', () => {
    it('never fails with an empty message, which would read as no error', () => {
      const result = planActions([actions({ action: 'fail', message: '' })], {}, {});
      expect(result.fail).toBe('Failed by an introspection rule (its message is empty)');
    });

    it('stops the walk, keeping what came before it', () => {
      const result = planActions(
        [
          actions(
            { action: 'set-attribute', path: '/extra/a', value: 1 },
            { action: 'add-trait', name: 'T' },
            { action: 'fail', message: 'bad BMC {data[bmc]}' },
            { action: 'set-attribute', path: '/extra/b', value: 2 },
          ),
          actions({ action: 'add-trait', name: 'NEVER' }),
        ],
        { bmc: '10.0.0.5' },
        {},
      );
      expect(result).toEqual({
        patch: [{ op: 'add', path: '/extra/a', value: 1 }],
        addTraits: ['T'],
        removeTraits: [],
        resetInterfaces: false,
        // Messages are not expanded, as upstream's.
        fail: 'bad BMC {data[bmc]}',
      });
    });

    it('renders a message that is not a string', () => {
      expect(plan({}, { action: 'fail', message: false }).fail).toBe('False');
    });
  });

  describe('patch', () => {
    it('keeps the last op on a path, where the path first appeared', () => {
      const result = plan(
        {},
        { action: 'set-attribute', path: '/extra/a', value: 1 },
        { action: 'set-attribute', path: '/extra/b', value: 2 },
        { action: 'set-attribute', path: '/extra/a', value: 3 },
      );
      expect(result.patch).toEqual([
        { op: 'add', path: '/extra/a', value: 3 },
        { op: 'add', path: '/extra/b', value: 2 },
      ]);
    });

    it('drops ops below a path a later op replaces', () => {
      const result = plan(
        {},
        { action: 'set-attribute', path: '/extra', value: { a: 1 } },
        { action: 'set-attribute', path: '/extra/b', value: 2 },
        { action: 'set-attribute', path: '/extra', value: { c: 3 } },
        { action: 'set-attribute', path: '/extra/d', value: 4 },
      );
      expect(result.patch).toEqual([
        { op: 'add', path: '/extra', value: { c: 3 } },
        { op: 'add', path: '/extra/d', value: 4 },
      ]);
    });

    it('lets later actions see nested values set before, unescaping ~1 and ~0', () => {
      const result = plan(
        {},
        { action: 'set-attribute', path: '/extra/a~1b/c~0d', value: ['x'] },
        { action: 'extend-attribute', path: '/extra/a~1b/c~0d', value: 'y' },
      );
      expect(result.patch).toEqual([{ op: 'add', path: '/extra/a~1b/c~0d', value: ['x', 'y'] }]);
    });

    it('inserts into lists at an index and appends with -, as JSON Patch add does', () => {
      const node = { extra: { l: ['b'] } };
      const result = plan(
        node,
        { action: 'set-attribute', path: '/extra/l/0', value: 'a' },
        { action: 'set-attribute', path: '/extra/l/-', value: 'c' },
        { action: 'extend-attribute', path: '/extra/l', value: 'd' },
      );
      expect(result.patch).toEqual([{ op: 'add', path: '/extra/l', value: ['a', 'b', 'c', 'd'] }]);
    });

    it('sends the outermost list around an insert whole, so that sending it twice inserts once', () => {
      const node = { extra: { m: [['x']], keep: 1 } };
      const result = plan(node, { action: 'set-attribute', path: '/extra/m/0/-', value: 'y' });
      expect(result.patch).toEqual([{ op: 'add', path: '/extra/m', value: [['x', 'y']] }]);
      expect(node.extra.m).toEqual([['x']]);
    });

    it('refuses a list index past the end', () => {
      const node = { extra: { l: ['b'] } };
      expect(() => plan(node, { action: 'set-attribute', path: '/extra/l/5', value: 'a' })).toThrow(
        'Cannot set /extra/l/5: no list index 5',
      );
    });
  });

  it('leaves the node it was given alone', () => {
    const node = { extra: { tags: ['x'] }, properties: { capabilities: 'a:1' } };
    const before = structuredClone(node);
    plan(
      node,
      { action: 'extend-attribute', path: '/extra/tags', value: 'y' },
      { action: 'set-capability', name: 'a', value: '2' },
      { action: 'set-attribute', path: '/extra/new/deep', value: 1 },
    );
    expect(node).toEqual(before);
  });

  it('treats __proto__ in a path as a plain key', () => {
    const result = plan(
      {},
      { action: 'set-attribute', path: '/__proto__/polluted', value: 'yes' },
      { action: 'extend-attribute', path: '/__proto__/list', value: 1 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(result.patch.map((op) => op.path)).toEqual(['/__proto__/polluted', '/__proto__/list']);
    expect(result.patch[1]?.value).toEqual([1]);
  });
});
