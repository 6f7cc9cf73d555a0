import { isDeepStrictEqual } from 'node:util';
import { BadRequest } from '../errors.ts';
import { z } from 'zod';
import { JsonPatchOpSchema, type IronicNode, type JsonPatchOp } from '../ironic/types.ts';
import { RegExpBudget } from './bounded-regexp.ts';
import { conditionHolds } from './conditions.ts';
import { formatValue, pythonStr } from './format.ts';
import { isJsonObject } from './json-path.ts';
import type { Rule, RuleAction } from './rule-schema.ts';

/** A node as the rules see it: Ironic's whole node in the service, any part of one in tests. */
export type IronicNodeLike = Partial<IronicNode>;

/** What the applying rules ask of Ironic; kept per job, so that a retried job sends the same. */
export const RulePlanSchema = z.object({
  patch: z.array(JsonPatchOpSchema),
  addTraits: z.array(z.string()),
  removeTraits: z.array(z.string()),
  resetInterfaces: z.boolean(),
  fail: z.string().nullable(),
});
export type RulePlan = z.infer<typeof RulePlanSchema>;

/** The node as the actions so far left it, and what they asked of Ironic. */
type Walk = {
  node: Record<string, unknown>;
  ops: Map<string, JsonPatchOp>;
  traits: Map<string, 'add' | 'remove'>;
  resetInterfaces: boolean;
};

const CAPABILITIES = '/properties/capabilities';

const tokens = (pointer: string) =>
  pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));

function listIndex(list: unknown[], token: string, pointer: string, insert: boolean): number {
  const index = token === '-' && insert ? list.length : /^(0|[1-9]\d*)$/.test(token) ? +token : -1;
  if (index < 0 || index > (insert ? list.length : list.length - 1)) {
    throw new BadRequest(`Cannot set ${pointer}: no list index ${token}`);
  }
  return index;
}

function child(container: unknown, token: string): unknown {
  if (Array.isArray(container)) return /^\d+$/.test(token) ? container[+token] : undefined;
  return isJsonObject(container) && Object.hasOwn(container, token) ? container[token] : undefined;
}

function getPointer(doc: unknown, pointer: string): unknown {
  return tokens(pointer).reduce(child, doc);
}

/** Stores without the `__proto__` setter: paths come from rule bodies. */
function put(container: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(container, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** JSON Patch `add`: intermediate objects are created, a list index inserts. */
function setPointer(doc: Record<string, unknown>, pointer: string, value: unknown): void {
  const path = tokens(pointer);
  const last = path.pop()!;
  let container: Record<string, unknown> | unknown[] = doc;
  for (const token of path) {
    const next = child(container, token);
    if (isJsonObject(next) || Array.isArray(next)) {
      container = next;
      continue;
    }
    const created = {};
    if (Array.isArray(container)) container[listIndex(container, token, pointer, false)] = created;
    else put(container, token, created);
    container = created;
  }
  if (Array.isArray(container)) {
    container.splice(listIndex(container, last, pointer, true), 0, value);
  } else {
    put(container, last, value);
  }
}

/** The pointer of the value that holds the one at `pointer` ('' for the document). */
const parentOf = (pointer: string) => pointer.slice(0, pointer.lastIndexOf('/'));

/**
 * Applies an `add` to the walk's node and records what Ironic is to get. An `add` into a list
 * inserts each time it is sent, so the outermost list around the path is sent whole instead:
 * sent again (a lost answer, a retried job), the plan then changes nothing more. Ironic gets one
 * op per path: a later op replaces an earlier one on its path and drops those below it, which it
 * overwrites anyway; both keep the outcome of applying every op in turn.
 */
function emit(walk: Walk, path: string, value: unknown): void {
  setPointer(walk.node, path, structuredClone(value));
  let target = path;
  while (parentOf(target) && Array.isArray(getPointer(walk.node, parentOf(target)))) {
    target = parentOf(target);
  }
  for (const earlier of walk.ops.keys()) {
    if (earlier.startsWith(`${target}/`)) walk.ops.delete(earlier);
  }
  walk.ops.set(target, {
    op: 'add',
    path: target,
    value: structuredClone(getPointer(walk.node, target)),
  });
}

const toPointer = (path: string) => (path.startsWith('/') ? path : `/${path}`);

function parseCapabilities(text: string): Map<string, string | null> {
  const pairs = text.split(',').filter(Boolean);
  return new Map(
    pairs.map((pair) => {
      const at = pair.indexOf(':');
      return at < 0 ? [pair, null] : [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

const serializeCapabilities = (caps: Map<string, string | null>) =>
  [...caps].map(([key, value]) => (value === null ? key : `${key}:${value}`)).join(',');

/** As upstream: a capability set to nothing (no value, or null) is dropped. */
function setCapability(walk: Walk, name: string, value: unknown): void {
  const current = getPointer(walk.node, CAPABILITIES) ?? '';
  if (typeof current !== 'string') {
    throw new BadRequest(`Cannot set capability ${name}: properties/capabilities is not a string`);
  }
  const caps = parseCapabilities(current);
  if (value === undefined || value === null) caps.delete(name);
  else caps.set(name, pythonStr(value));
  emit(walk, CAPABILITIES, serializeCapabilities(caps));
}

function extendAttribute(walk: Walk, path: string, value: unknown, unique: boolean): void {
  const current = getPointer(walk.node, path) ?? [];
  if (!Array.isArray(current)) throw new BadRequest(`Cannot extend ${path}: not a list`);
  if (unique && current.some((item) => isDeepStrictEqual(item, value))) return;
  emit(walk, path, [...current, value]);
}

/**
 * Runs one action on the walk; the failure message for `fail`, else null. Only `value` is
 * expanded against the data, as upstream's FORMATTED_PARAMS: a path, a name or a message is
 * taken as written.
 */
function runAction(walk: Walk, action: RuleAction, data: unknown): string | null {
  switch (action.action) {
    case 'fail':
      // An empty error would read as success to Ironic, which tests the error's truth.
      return pythonStr(action.message) || 'Failed by an introspection rule (its message is empty)';
    case 'set-attribute': {
      const path = toPointer(action.path);
      emit(walk, path, formatValue(action.value, data));
      // Upstream resets interfaces only on a change of driver, unless told not to.
      if (path.replace(/\/+$/, '') === '/driver' && action.reset_interfaces !== false)
        walk.resetInterfaces = true;
      return null;
    }
    case 'set-capability':
      setCapability(walk, action.name, formatValue(action.value, data));
      return null;
    case 'extend-attribute':
      extendAttribute(
        walk,
        toPointer(action.path),
        formatValue(action.value, data),
        action.unique === true,
      );
      return null;
    case 'add-trait':
    case 'remove-trait':
      walk.traits.set(action.name, action.action === 'add-trait' ? 'add' : 'remove');
      return null;
  }
}

const traitsTo = (walk: Walk, change: 'add' | 'remove') =>
  [...walk.traits].filter(([, wanted]) => wanted === change).map(([name]) => name);

/**
 * The rules whose scope matches the node's `inspection_scope` (or that have none) and whose
 * conditions all hold, in the order given. Upstream evaluated every rule before running any
 * action, so actions never change which rules apply.
 */
export function rulesThatApply(rules: Rule[], data: unknown, node: IronicNodeLike): Rule[] {
  const scope = node.properties?.inspection_scope;
  const budget = new RegExpBudget();
  return rules.filter(
    (rule) =>
      (!rule.scope || rule.scope === scope) &&
      rule.conditions.every((cond) => conditionHolds(cond, data, node, budget)),
  );
}

/**
 * What the actions of `rules` (those that apply, see rulesThatApply) do to the node, in order,
 * each seeing the node as the earlier ones left it. A `fail` action ends the walk; the changes
 * before it stay in the plan, as upstream had applied them before failing.
 */
export function planActions(rules: Rule[], data: unknown, node: IronicNodeLike): RulePlan {
  const walk: Walk = {
    node: structuredClone(node),
    ops: new Map(),
    traits: new Map(),
    resetInterfaces: false,
  };
  let fail: string | null = null;
  for (const action of rules.flatMap((rule) => rule.actions)) {
    fail = runAction(walk, action, data);
    if (fail !== null) break;
  }
  return {
    patch: [...walk.ops.values()],
    addTraits: traitsTo(walk, 'add'),
    removeTraits: traitsTo(walk, 'remove'),
    resetInterfaces: walk.resetInterfaces,
    fail,
  };
}
