import { z } from 'zod';
import { BadRequest, coerceError } from '../errors.ts';
import { isUuid } from '../node-checks.ts';
import { parseIpNetwork } from './ip.ts';
import { pythonRegExp } from './python-regexp.ts';
import { isJsonObject, parseJsonPath, type JsonPath } from './json-path.ts';

/** Rule bodies are untrusted: these bound the work one stored rule costs every introspection. */
export const MAX_RULE_CONDITIONS = 100;
export const MAX_RULE_ACTIONS = 100;
const MAX_SCOPE_LENGTH = 255;

const VALUE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in-net', 'matches', 'contains'] as const;
export const RULE_CONDITION_OPS = [...VALUE_OPS, 'is-empty'] as const;
const RULE_CONDITION_MULTIPLE = ['any', 'all', 'first'] as const;

const conditionHead = {
  field: z.string(),
  multiple: z.enum(RULE_CONDITION_MULTIPLE).default('any'),
  invert: z.boolean().default(false),
};
const ValueConditionSchema = z.strictObject({
  op: z.enum(VALUE_OPS),
  ...conditionHead,
  value: z.unknown(),
});
const IsEmptyConditionSchema = z.strictObject({ op: z.literal('is-empty'), ...conditionHead });
export const RuleConditionSchema = z.discriminatedUnion('op', [
  ValueConditionSchema,
  IsEmptyConditionSchema,
]);
export type RuleCondition = z.infer<typeof RuleConditionSchema>;
type RuleConditionOp = RuleCondition['op'];

export const RuleActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('fail'), message: z.unknown() }),
  z.strictObject({
    action: z.literal('set-attribute'),
    path: z.string(),
    value: z.unknown(),
    reset_interfaces: z.boolean().optional(),
  }),
  z.strictObject({
    action: z.literal('set-capability'),
    name: z.string(),
    value: z.unknown().optional(),
  }),
  z.strictObject({
    action: z.literal('extend-attribute'),
    path: z.string(),
    value: z.unknown(),
    unique: z.boolean().optional(),
  }),
  z.strictObject({ action: z.literal('add-trait'), name: z.string() }),
  z.strictObject({ action: z.literal('remove-trait'), name: z.string() }),
]);
export type RuleAction = z.infer<typeof RuleActionSchema>;
type RuleActionName = RuleAction['action'];
export const RULE_ACTIONS = RuleActionSchema.options.map((schema) => schema.shape.action.value);

/** A rule as stored and echoed by the API; re-parsing a stored rule checks only its shape. */
export const RuleSchema = z.object({
  uuid: z.string(),
  description: z.string().nullable(),
  scope: z.string().max(MAX_SCOPE_LENGTH).nullable(),
  conditions: z.array(RuleConditionSchema).max(MAX_RULE_CONDITIONS),
  actions: z.array(RuleActionSchema).min(1).max(MAX_RULE_ACTIONS),
});
export type Rule = z.infer<typeof RuleSchema>;

type Params = { required: string[]; optional: string[] };

function paramsOf(shape: Record<string, z.ZodType>, head: readonly string[]): Params {
  const names = Object.keys(shape).filter((name) => !head.includes(name));
  return {
    required: names.filter((name) => !(shape[name] instanceof z.ZodOptional)),
    optional: names.filter((name) => shape[name] instanceof z.ZodOptional),
  };
}

const CONDITION_HEAD = ['op', ...Object.keys(conditionHead)];
const ACTION_HEAD = ['action'];
const CONDITION_PARAMS = {
  value: paramsOf(ValueConditionSchema.shape, CONDITION_HEAD),
  isEmpty: paramsOf(IsEmptyConditionSchema.shape, CONDITION_HEAD),
};
const ACTION_PARAMS = Object.fromEntries(
  RuleActionSchema.options.map((schema) => [
    schema.shape.action.value,
    paramsOf(schema.shape, ACTION_HEAD),
  ]),
) as Record<RuleActionName, Params>;

const ConditionHeadsSchema = z
  .array(z.looseObject({ op: z.enum(RULE_CONDITION_OPS), ...conditionHead }))
  .max(MAX_RULE_CONDITIONS, { error: `at most ${MAX_RULE_CONDITIONS} conditions are allowed` });
const ActionHeadsSchema = z
  .array(z.looseObject({ action: z.enum(RULE_ACTIONS) }))
  .min(1, { error: 'at least one action is required' })
  .max(MAX_RULE_ACTIONS, { error: `at most ${MAX_RULE_ACTIONS} actions are allowed` });

/** A value quoted in an error message, cut short: it comes from an untrusted body. */
function show(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  return text.length > 100 ? `${text.slice(0, 100)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[] = []): string {
  const where = [...prefix, ...issue.path]
    .map((key) => (typeof key === 'number' ? `item ${key}` : String(key)))
    .join(', ');
  return where ? `${where}: ${issue.message}` : issue.message;
}

function parseOr<T extends z.ZodType>(
  schema: T,
  value: unknown,
  fail: (issue: z.core.$ZodIssue) => string,
): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new BadRequest(fail(result.error.issues[0]!));
}

/**
 * The item without the parameters given as null: upstream counts them as not given, except
 * where `nullable` says null is a value (the one set-attribute sets).
 */
function withoutNulls<T extends Record<string, unknown>>(
  item: T,
  head: readonly string[],
  nullable: readonly string[] = [],
): T {
  const kept = Object.entries(item).filter(
    ([k, v]) => head.includes(k) || v !== null || nullable.includes(k),
  );
  return Object.fromEntries(kept) as T;
}

/** Upstream's wording: missing and unexpected names, sorted, both when both apply. */
function paramProblems(item: Record<string, unknown>, head: string[], params: Params) {
  const passed = Object.keys(item).filter((k) => !head.includes(k) && item[k] !== undefined);
  const allowed = [...params.required, ...params.optional];
  const missing = params.required.filter((k) => !passed.includes(k)).sort();
  const unexpected = passed.filter((k) => !allowed.includes(k)).sort();
  return [
    ...(missing.length ? [`missing required parameter(s): ${missing.join(', ')}`] : []),
    ...(unexpected.length ? [`unexpected parameter(s): ${unexpected.join(', ')}`] : []),
  ].join('; ');
}

/** Splits `data://path` / `node://path` (no scheme means data) and parses the JSON path. */
export function parseField(field: string): { source: 'data' | 'node'; path: JsonPath } {
  const at = field.indexOf('://');
  const scheme = at < 0 ? 'data' : field.slice(0, at);
  if (scheme !== 'data' && scheme !== 'node') {
    throw new BadRequest(`Unsupported scheme for field: ${scheme}`);
  }
  try {
    return { source: scheme, path: parseJsonPath(at < 0 ? field : field.slice(at + 3)) };
  } catch (error) {
    throw new BadRequest(`Unable to parse field JSON path ${field}: ${coerceError(error).message}`);
  }
}

const compiles = (pattern: string) => {
  try {
    pythonRegExp(pattern);
    return true;
  } catch {
    return false;
  }
};

function valueProblem(op: RuleConditionOp, value: unknown): string {
  if (op === 'in-net' && !(typeof value === 'string' && parseIpNetwork(value))) {
    return `invalid network ${show(value)}`;
  }
  if ((op === 'matches' || op === 'contains') && !(typeof value === 'string' && compiles(value))) {
    return `invalid regular expression ${show(value)}`;
  }
  return '';
}

function parseCondition(
  posted: z.infer<typeof ConditionHeadsSchema>[number],
  index: number,
): RuleCondition {
  const item = withoutNulls(posted, CONDITION_HEAD);
  parseField(item.field);
  const params = item.op === 'is-empty' ? CONDITION_PARAMS.isEmpty : CONDITION_PARAMS.value;
  const problem = paramProblems(item, CONDITION_HEAD, params) || valueProblem(item.op, item.value);
  if (problem) throw new BadRequest(`Invalid parameters for operator ${item.op}: ${problem}`);
  return parseOr(RuleConditionSchema, item, (issue) => {
    return `Validation failed for conditions: ${describeIssue(issue, [index])}`;
  });
}

function parseAction(posted: z.infer<typeof ActionHeadsSchema>[number]): RuleAction {
  const item = withoutNulls(
    posted,
    ACTION_HEAD,
    posted.action === 'set-attribute' ? ['value'] : [],
  );
  const fail = (problem: string) => `Invalid parameters for action ${item.action}: ${problem}`;
  const problem = paramProblems(item, ACTION_HEAD, ACTION_PARAMS[item.action]);
  if (problem) throw new BadRequest(fail(problem));
  return parseOr(RuleActionSchema, item, (issue) => fail(describeIssue(issue)));
}

function parseUuid(value: unknown, newUuid: () => string): string {
  // Upstream generated a UUID for a null one as for a missing one.
  if (value === undefined || value === null) return newUuid().toLowerCase();
  if (typeof value !== 'string' || !isUuid(value)) throw new BadRequest('Invalid UUID value');
  return value.toLowerCase();
}

function parseDescription(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new BadRequest('Invalid description: expected a string');
  return value;
}

function parseScope(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_SCOPE_LENGTH) {
    throw new BadRequest(
      `Invalid scope: expected a string of at most ${MAX_SCOPE_LENGTH} characters`,
    );
  }
  return value;
}

/** Validates a posted rule with upstream's 400 messages and returns it normalized. */
export function parseRule(body: unknown, newUuid: () => string): Rule {
  if (!isJsonObject(body)) throw new BadRequest('Invalid rule: expected a JSON object');
  const uuid = parseUuid(body.uuid, newUuid);
  const description = parseDescription(body.description);
  const scope = parseScope(body.scope);
  const conditions = parseOr(ConditionHeadsSchema, body.conditions ?? [], (issue) => {
    return `Validation failed for conditions: ${describeIssue(issue)}`;
  }).map(parseCondition);
  const actions = parseOr(ActionHeadsSchema, body.actions, (issue) => {
    return `Validation failed for actions: ${describeIssue(issue)}`;
  }).map(parseAction);
  return { uuid, description, scope, conditions, actions };
}
