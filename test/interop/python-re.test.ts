/**
 * Rule patterns against Python's `re`, which upstream evaluates them with: a seeded corpus of
 * patterns and values, each decided by `contains` and `matches` here and by re.search and
 * re.match (with upstream's appended `$`) in Debian's Python.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { conditionHolds } from '../../packages/shared/src/rules/conditions.ts';
import { RuleConditionSchema } from '../../packages/shared/src/rules/rule-schema.ts';
import { PYTHON } from './sdk-client.ts';

const PYTHON_DECIDES = `
import json, re, sys
out = []
for op, pattern, value in json.load(sys.stdin):
    try:
        if op == 'matches':
            found = re.match(pattern if pattern.endswith('$') else pattern + '$', value)
        else:
            found = re.search(pattern, value)
        out.append(found is not None)
    except re.error:
        out.append(None)
json.dump(out, sys.stdout)
`;

/** mulberry32: the same corpus on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Letters whose case Python and JavaScript fold differently, and plain ones. */
const LETTERS = ['a', 'B', 'k', 'K', '\u212a', 's', 'S', '\u017f', 'i', 'I', '\u0130', '\u0131'];
const MORE = ['\u00df', '\u1e9e', '\u03c3', '\u03c2', '\u03a3', '\u00b5', '\u03bc', '\u00e9'];
const OTHER = ['0', '-', '.', ':', '_'];
const CLASSES = [
  '[a-z]',
  '[^a-z]',
  '[A-Z0-9]',
  '[k-s]',
  '[^K]',
  '[\\x41-\\x4b]',
  '[\\u212a]',
  '[]s]',
  '[\u017f-\u0131]',
  '[\u03c3]',
  '[^\u00b5]',
  '[a-z_-]',
  '[a-z.-]',
  '[\\101]',
];

function corpus(next: () => number) {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const atom = (depth: number, flags: string): string => {
    const roll = next();
    if (roll < 0.45) return pick([...LETTERS, ...MORE, '0', '-']);
    if (roll < 0.55) return '.';
    if (roll < 0.65)
      return pick(['\\x6b', '\\x53', '\\u0130', '\\u017f', '\\153', '\\\u00e9', '\\-']);
    if (roll < 0.85 || depth > 0) return pick(CLASSES);
    return `(${sequence(depth + 1, flags)}|${sequence(depth + 1, flags)})`;
  };
  const sequence = (depth: number, flags: string): string => {
    let out = '';
    const atoms = 1 + Math.floor(next() * 3);
    for (let n = 0; n < atoms; n++) {
      out += atom(depth, flags) + pick(['', '', '*', '+', '?', '{,2}', '{1,}']);
    }
    return out;
  };
  const cases: Array<['matches' | 'contains', string, string]> = [];
  for (let n = 0; n < 1500; n++) {
    const flags = pick(['', '', '(?i)', '(?i)', '(?im)', '(?is)', '(?m)']);
    let body = sequence(0, flags);
    if (next() < 0.2) body = pick(['^', '\\A']) + body;
    if (next() < 0.2) body += pick(['$', '\\Z']);
    // A back-reference under (?i) compares as JavaScript's `i` does: not in this corpus.
    if (!flags.includes('i') && next() < 0.1) body = `(?P<g>${body})-(?P=g)`;
    const pattern = flags + body;
    for (let v = 0; v < 6; v++) {
      // Under (?m), JavaScript's lines also end at \r: not in this corpus.
      const alphabet = [
        ...LETTERS,
        ...MORE,
        ...OTHER,
        '\n',
        ...(flags.includes('m') ? [] : ['\r']),
      ];
      let value = '';
      const length = Math.floor(next() * 6);
      for (let c = 0; c < length; c++) value += pick(alphabet);
      if (body.includes('(?P=g)')) value = `${value}-${value}`;
      cases.push([pick(['matches', 'contains'] as const), pattern, value]);
    }
  }
  return cases;
}

/** Our verdict, or 'refused' where the rule would be refused or the pattern not compile. */
function decideHere(op: 'matches' | 'contains', pattern: string, value: string) {
  const parsed = RuleConditionSchema.safeParse({ op, field: 'x', value: pattern });
  if (!parsed.success) return 'refused';
  try {
    return conditionHolds(parsed.data, { x: value }, {});
  } catch {
    return 'refused';
  }
}

/** Python's verdicts, in order: null where Python refuses the pattern. */
function decideInPython(cases: ReturnType<typeof corpus>): Promise<Array<boolean | null>> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', PYTHON_DECIDES], { maxBuffer: 16 << 20 }, (err, out) =>
      err ? reject(err) : resolve(JSON.parse(out) as Array<boolean | null>),
    );
    child.stdin!.end(JSON.stringify(cases));
  });
}

describe("rule patterns against Python's re", () => {
  it('decide a seeded corpus as Python does, (?i) case folding included', async () => {
    const cases = corpus(random(0x5eed));
    const python = await decideInPython(cases);
    expect(python).toHaveLength(cases.length);
    const compared = cases.filter((_, n) => python[n] !== null);
    // The corpus is made of patterns Python takes; most of its cases must count.
    expect(compared.length).toBeGreaterThan(cases.length * 0.9);
    const differ = cases
      .map(([op, pattern, value], n) => ({ op, pattern, value, python: python[n] }))
      .filter((c) => c.python !== null && decideHere(c.op, c.pattern, c.value) !== c.python);
    expect(differ.slice(0, 20)).toEqual([]);
    expect(new Set(python).size).toBe(3);
  });
});
