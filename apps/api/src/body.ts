import type { Context } from 'koa';
import { BadRequest, PayloadTooLarge } from '@inspector/shared';

export const MAX_JSON_DEPTH = 32;

/** Keys that would reach an object's prototype if data were ever merged by assignment. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The nesting depth of parsed JSON, dropping FORBIDDEN_KEYS on the way (JSON.parse makes them
 * plain own properties). One walk instead of a reviver: a reviver costs JSON.parse its fast path,
 * and ramdisk bodies are the largest the API parses.
 */
function depthDroppingForbidden(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > MAX_JSON_DEPTH) return max;
    for (const key of FORBIDDEN_KEYS) {
      if (Object.hasOwn(v, key)) delete (v as Record<string, unknown>)[key];
    }
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}

/**
 * Reads and parses a JSON body within a size limit. Answers 413 past the
 * limit, 400 for invalid JSON or nesting deeper than MAX_JSON_DEPTH; returns
 * undefined for an empty body.
 */
export async function readJson(ctx: Context, maxBytes: number): Promise<unknown> {
  const declared = Number(ctx.get('Content-Length') || 0);
  const tooLarge = () =>
    new PayloadTooLarge(`Request body exceeds the limit of ${maxBytes} bytes (MAX_BODY_BYTES)`);
  if (declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      ctx.req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`Invalid JSON in request body: ${(err as Error).message.slice(0, 200)}`);
  }
  if (depthDroppingForbidden(value) > MAX_JSON_DEPTH) {
    throw new BadRequest(`Request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value;
}
