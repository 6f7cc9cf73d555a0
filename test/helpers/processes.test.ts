import { describe, expect, it } from 'vitest';
import { lineSplitter } from './processes.ts';

describe('lineSplitter', () => {
  it('joins a line that arrives in two chunks, and skips empty lines', () => {
    const lines: string[] = [];
    const split = lineSplitter((l) => lines.push(l));
    split.push('{"msg":"port created"}\n{"msg":"introspec');
    expect(lines).toEqual(['{"msg":"port created"}']);
    split.push('tion finished"}\n\n');
    expect(lines).toEqual(['{"msg":"port created"}', '{"msg":"introspection finished"}']);
  });

  it('hands over an unterminated last line when the stream ends', () => {
    const lines: string[] = [];
    const split = lineSplitter((l) => lines.push(l));
    split.push('last words');
    expect(lines).toEqual([]);
    split.end();
    expect(lines).toEqual(['last words']);
  });
});
