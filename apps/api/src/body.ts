import type { Context } from 'koa';
import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from '@inspector/shared';

export const MAX_JSON_DEPTH = 32;

/** Keys that would reach an object's prototype if data were ever merged by assignment. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Keys, and objects or lists inside lists, a body may hold in all: what the schema checks pay
 * for one by one. A ramdisk's inventory holds a few thousand, its extra hardware data one list
 * per fact (some thousands more); without a bound, a body within MAX_BODY_BYTES made of
 * nothing but empty interfaces costs the schema checks seconds of CPU for each request. Plain
 * values in lists are not counted: the schema bounds each list it checks, and passes the rest.
 */
export const MAX_JSON_ENTRIES = 100_000;

/**
 * Whether parsed JSON nests deeper than MAX_JSON_DEPTH or holds more than MAX_JSON_ENTRIES, and
 * which, dropping FORBIDDEN_KEYS on the way (JSON.parse makes them plain own properties). One
 * walk instead of a reviver: a reviver costs JSON.parse its fast path, and ramdisk bodies are the
 * largest the API parses. Only objects and lists are visited, and the walk stops at a limit.
 */
function overLimit(value: unknown): 'depth' | 'entries' | null {
  let entries = 0;
  const stack: [object, number][] = [];
  if (value !== null && typeof value === 'object') stack.push([value, 1]);
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > MAX_JSON_DEPTH) return 'depth';
    for (const key of FORBIDDEN_KEYS) {
      if (Object.hasOwn(v, key)) delete (v as Record<string, unknown>)[key];
    }
    const list = Array.isArray(v);
    const children = Object.values(v);
    if (!list) entries += children.length;
    if (entries > MAX_JSON_ENTRIES) return 'entries';
    for (const child of children) {
      if (child === null || typeof child !== 'object') continue;
      if (list && ++entries > MAX_JSON_ENTRIES) return 'entries';
      stack.push([child, d + 1]);
    }
  }
  return null;
}

export function describeJsonType(value: unknown): string {
  // readJson's answer for a body with nothing in it.
  if (value === undefined) return 'an empty body';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}

/**
 * Reads and parses a JSON body within a size limit. Answers 413 past the
 * limit, 400 for invalid JSON, nesting deeper than MAX_JSON_DEPTH or more
 * than MAX_JSON_ENTRIES; returns undefined for an empty body.
 */
export async function readJson(ctx: Context, maxBytes: number): Promise<unknown> {
  const encoding = ctx.get('Content-Encoding').trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new UnsupportedMediaType(
      `Content-Encoding ${encoding} is not supported: send the JSON body uncompressed`,
    );
  }
  const declared = Number(ctx.get('Content-Length') || 0);
  const tooLarge = () =>
    new PayloadTooLarge(`Request body exceeds the limit of ${maxBytes} bytes (MAX_BODY_BYTES)`);
  if (declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        ctx.req.resume();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
  } catch (err) {
    // The caller hung up mid-body: its fault, not the service's, and no error for the logs.
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') {
      throw new BadRequest(`The request body was cut off after ${size} bytes`);
    }
    throw err;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`Invalid JSON in request body: ${(err as Error).message.slice(0, 200)}`);
  }
  const over = overLimit(value);
  if (over === 'depth') {
    throw new BadRequest(`Request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (over === 'entries') {
    throw new BadRequest(
      `Request body holds more than ${MAX_JSON_ENTRIES} keys and nested objects or lists in all`,
    );
  }
  return value;
}
