/**
 * Python's IGNORECASE, spelt out: the characters each character matches. A `(?i)` rule then
 * needs no `i` flag, which Node 20's linear-time regexp engine refuses, and matches what Python
 * matches where JavaScript's `i` does not (k and the Kelvin sign, s and the long s, i and the
 * dotless ı). The Basic Multilingual Plane only: outside it JavaScript sees surrogate halves.
 */

/**
 * Pairs Python joins that JavaScript's case mappings do not: İ's simple lower case (Python's) is
 * i, its full one (JavaScript's) two characters; the others fold to the same several characters.
 */
const PYTHON_ONLY_PAIRS: ReadonlyArray<readonly [number, number]> = [
  [0x130, 0x69],
  [0x390, 0x1fd3],
  [0x3b0, 0x1fe3],
  [0xfb05, 0xfb06],
];

let groups: Map<number, readonly number[]> | null = null;

/** Joins each character with its upper and lower case, and those with theirs, transitively. */
function buildGroups(): Map<number, readonly number[]> {
  const parent = new Uint16Array(0x10000).map((_, i) => i);
  const root = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  const joined = new Set<number>();
  const join = (a: number, b: number) => {
    parent[root(a)] = root(b);
    joined.add(a).add(b);
  };
  for (let code = 0; code < 0x10000; code++) {
    if (code >= 0xd800 && code < 0xe000) continue;
    const char = String.fromCharCode(code);
    for (const other of [char.toLowerCase(), char.toUpperCase()]) {
      if (other.length === 1 && other !== char) join(code, other.charCodeAt(0));
    }
  }
  for (const [a, b] of PYTHON_ONLY_PAIRS) join(a, b);
  const members = new Map<number, number[]>();
  for (const code of [...joined].sort((a, b) => a - b)) {
    const list = members.get(root(code));
    if (list) list.push(code);
    else members.set(root(code), [code]);
  }
  const out = new Map<number, readonly number[]>();
  for (const list of members.values()) for (const code of list) out.set(code, list);
  return out;
}

/** Built on first use: only a `(?i)` pattern needs it, and it takes some 20 ms. */
const caseGroups = () => (groups ??= buildGroups());

/** Every character `code` matches under Python's IGNORECASE, itself included; null if none else. */
export function caseVariants(code: number): readonly number[] | null {
  return caseGroups().get(code) ?? null;
}

/** Ranges sorted and joined where they overlap or touch. */
function merged(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = out.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/**
 * The characters to add to a class holding `ranges` (inclusive, by code) so that it matches as
 * under IGNORECASE: every case variant of a member that is not a member already.
 */
export function classCaseExtras(ranges: ReadonlyArray<readonly [number, number]>): number[] {
  const table = caseGroups();
  const members = merged(ranges);
  const inside = (code: number) => {
    let [low, high] = [0, members.length - 1];
    while (low <= high) {
      const mid = (low + high) >> 1;
      const [lo, hi] = members[mid]!;
      if (code < lo) high = mid - 1;
      else if (code > hi) low = mid + 1;
      else return true;
    }
    return false;
  };
  const extras = new Set<number>();
  const add = (code: number) => {
    for (const variant of table.get(code) ?? []) if (!inside(variant)) extras.add(variant);
  };
  for (const [lo, hi] of members) {
    // A wide range is matched against the cased characters (some 2,400), not walked.
    if (hi - lo < 256) for (let code = lo; code <= hi; code++) add(code);
    else for (const code of table.keys()) if (code >= lo && code <= hi) add(code);
  }
  return [...extras].sort((a, b) => a - b);
}
