import { BadRequest } from '../errors.ts';
import { isJsonObject } from './json-path.ts';

/** A problem with the template; reported with the template it was found in. */
class FormatProblem extends Error {}

/** How Python's str() renders a JSON value (objects as JSON rather than as a Python repr). */
export function pythonStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function lookup(data: unknown, keys: string[]): unknown {
  let current = data;
  for (const key of keys) {
    if (Array.isArray(current) && /^\d+$/.test(key)) {
      if (Number(key) >= current.length) throw new FormatProblem(`list index ${key} out of range`);
      current = current[Number(key)];
    } else if (isJsonObject(current) && Object.hasOwn(current, key)) {
      current = current[key];
    } else {
      throw new FormatProblem(`missing key '${key}'`);
    }
  }
  return current;
}

const FIELD_STOP = ['.', '[', '!', ':', '{', '}'];

/** The keys of the replacement field opened just before `start`, and where the field ends. */
function parseField(template: string, start: number): { keys: string[]; end: number } {
  if (start >= template.length) throw new FormatProblem("single '{' encountered");
  let i = start;
  while (i < template.length && !FIELD_STOP.includes(template[i]!)) i++;
  const name = template.slice(start, i);
  if (name !== 'data') throw new FormatProblem(`unknown field name '${name}'`);
  const keys: string[] = [];
  while (template[i] === '[') {
    const close = template.indexOf(']', i + 1);
    if (close < 0) throw new FormatProblem("missing ']'");
    if (close === i + 1) throw new FormatProblem('empty key');
    keys.push(template.slice(i + 1, close));
    i = close + 1;
  }
  switch (template[i]) {
    case '}':
      return { keys, end: i + 1 };
    case undefined:
      throw new FormatProblem("expected '}' before end of string");
    case '!':
      throw new FormatProblem('conversions are not supported');
    case ':':
      throw new FormatProblem('format specs are not supported');
    default:
      throw new FormatProblem(`unexpected '${template[i]}' in field`);
  }
}

function expand(template: string, data: unknown): string {
  const braces = /\{\{|\}\}|\{|\}/g;
  let out = '';
  let from = 0;
  for (let match = braces.exec(template); match; match = braces.exec(template)) {
    out += template.slice(from, match.index);
    if (match[0] === '{{' || match[0] === '}}') {
      out += match[0][0];
      from = braces.lastIndex;
    } else if (match[0] === '}') {
      throw new FormatProblem("single '}' encountered");
    } else {
      const field = parseField(template, braces.lastIndex);
      out += pythonStr(lookup(data, field.keys));
      braces.lastIndex = field.end;
      from = field.end;
    }
  }
  return out + template.slice(from);
}

/**
 * Python's `template.format(data=data)`, as upstream (1.14+) applies it to an action's `value`:
 * only `{data[key]...}` fields, without conversions or format specs. An invalid template is an
 * BadRequest (400) naming it, since it fails the processing it happens in.
 */
export function formatString(template: string, data: unknown): string {
  try {
    return expand(template, data);
  } catch (error) {
    if (!(error instanceof FormatProblem)) throw error;
    throw new BadRequest(`Invalid formatting of ${template}: ${error.message}`);
  }
}

/** Expands the strings in an action's `value`, inside objects (keys too) and arrays. */
export function formatValue(value: unknown, data: unknown): unknown {
  if (typeof value === 'string') return formatString(value, data);
  if (Array.isArray(value)) return value.map((item) => formatValue(item, data));
  if (isJsonObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [formatString(k, data), formatValue(v, data)]),
    );
  }
  return value;
}
