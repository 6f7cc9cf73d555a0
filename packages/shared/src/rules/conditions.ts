import { isDeepStrictEqual } from 'node:util';
import { InspectorError } from '../errors.ts';
import { RegExpBudget, boundedTest } from './bounded-regexp.ts';
import { inNetwork, parseIpAddress, parseIpNetwork } from './ip.ts';
import { pythonStr } from './format.ts';
import { findValues } from './json-path.ts';
import { cachedPythonRegExp } from './pattern-cache.ts';
import { parseField, type RuleCondition } from './rule-schema.ts';

type ValueCondition = Exclude<RuleCondition, { op: 'is-empty' }>;

const NUMERIC_RE = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** Upstream coerced the field to the type of a numeric `value` (int("8") == 8). */
function toNumber(field: unknown): number | null {
  if (typeof field === 'number') return Number.isFinite(field) ? field : null;
  return typeof field === 'string' && NUMERIC_RE.test(field) ? Number(field) : null;
}

/** -1, 0 or 1; null when the two cannot be ordered. */
function order(field: unknown, value: unknown): number | null {
  const [a, b] = typeof value === 'number' ? [toNumber(field), value] : [field, value];
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return null;
}

function ordered(field: unknown, value: unknown, accepted: number[]): boolean {
  const result = order(field, value);
  return result !== null && accepted.includes(result);
}

function equals(field: unknown, value: unknown): boolean | null {
  if (typeof value !== 'number') return isDeepStrictEqual(field, value);
  const number = toNumber(field);
  return number === null ? null : number === value;
}

/**
 * As upstream's `re.search(value, str(field))`, or its `matches`: `re.match` of the pattern with
 * a `$` appended unless it ends in one. The field as Python's str() renders it.
 */
function searcher(
  value: string,
  cond: ValueCondition,
  budget: RegExpBudget,
): (field: unknown) => boolean {
  const what = `Condition ${cond.op} ${JSON.stringify(cond.value)} on ${cond.field}`;
  let pattern: RegExp;
  try {
    pattern =
      cond.op === 'matches'
        ? cachedPythonRegExp(value.endsWith('$') ? value : `${value}$`, true)
        : cachedPythonRegExp(value, false);
  } catch (err) {
    // Checked when the rule was made; a rule stored before a translation changed can still fail.
    throw new InspectorError(`${what}: the pattern does not compile (${(err as Error).message})`);
  }
  const test = boundedTest(pattern, what, budget);
  return (field) => field !== undefined && test(pythonStr(field));
}

function inNet(value: unknown): (field: unknown) => boolean {
  const network = typeof value === 'string' ? parseIpNetwork(value) : null;
  return (field) => {
    const address = typeof field === 'string' ? parseIpAddress(field) : null;
    return address !== null && network !== null && inNetwork(address, network);
  };
}

const isEmpty = (field: unknown) =>
  field === '' ||
  field === null ||
  field === undefined ||
  (Array.isArray(field) && field.length === 0) ||
  (typeof field === 'object' && Object.keys(field).length === 0);

const never = () => false;

/**
 * The operator's verdict on one field value, before `invert`. Made once per condition: a
 * pattern or a network is compiled once, however many values the field reaches.
 */
function checker(cond: ValueCondition, budget: RegExpBudget): (field: unknown) => boolean {
  const { value } = cond;
  switch (cond.op) {
    case 'eq':
      return (field) => equals(field, value) === true;
    case 'ne':
      return (field) => equals(field, value) === false;
    case 'lt':
      return (field) => ordered(field, value, [-1]);
    case 'le':
      return (field) => ordered(field, value, [-1, 0]);
    case 'gt':
      return (field) => ordered(field, value, [1]);
    case 'ge':
      return (field) => ordered(field, value, [0, 1]);
    case 'in-net':
      return inNet(value);
    case 'matches':
    case 'contains':
      return typeof value === 'string' ? searcher(value, cond, budget) : never;
  }
}

/**
 * Whether the condition holds for the introspection data and the Ironic node. `budget` is the
 * time its patterns may take, shared by every condition of one evaluation of the rules.
 */
export function conditionHolds(
  cond: RuleCondition,
  data: unknown,
  node: unknown,
  budget: RegExpBudget = new RegExpBudget(),
): boolean {
  const { source, path } = parseField(cond.field);
  const found = findValues(path, source === 'node' ? node : data);
  const values = found.length === 0 && cond.op === 'is-empty' ? [null] : found;
  const check = cond.op === 'is-empty' ? isEmpty : checker(cond, budget);
  const passes = (field: unknown) => check(field) !== cond.invert;
  switch (cond.multiple) {
    case 'any':
      return values.some(passes);
    case 'all':
      return values.length > 0 && values.every(passes);
    case 'first':
      return values.length > 0 && passes(values[0]);
  }
}
