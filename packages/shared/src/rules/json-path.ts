/**
 * The subset of JSONPath that introspection rules use in practice (upstream parsed fields with
 * jsonpath_rw): dotted names, list indexes, wildcards and quoted keys. Filters and slices are
 * refused at parse time so a stored rule never holds a path this evaluator cannot follow.
 */
type JsonPathSegment =
  { kind: 'key'; name: string } | { kind: 'index'; index: number } | { kind: 'wildcard' };

export type JsonPath = readonly JsonPathSegment[];

const NAME_RE = /^[A-Za-z0-9_-]+/;
const INDEX_RE = /^\[(\d+)\]/;

type Step = { segment: JsonPathSegment; length: number };

/** Why `rest` (the unparsed tail of the path) does not start with a segment. */
function failure(rest: string): string {
  if (!rest || rest === '.') return 'path ends with a dot';
  if (rest.startsWith('..')) return 'empty segment';
  if (rest.startsWith('[?')) return 'filter expressions are not supported';
  if (rest.startsWith('[') && !rest.includes(']')) return 'unclosed bracket';
  return `unexpected ${JSON.stringify(rest.length > 20 ? `${rest.slice(0, 20)}...` : rest)}`;
}

function parseName(rest: string): Step | null {
  if (rest.startsWith('*')) return { segment: { kind: 'wildcard' }, length: 1 };
  const name = NAME_RE.exec(rest)?.[0];
  return name ? { segment: { kind: 'key', name }, length: name.length } : null;
}

function parseBracket(rest: string): Step | null {
  if (rest.startsWith('[*]')) return { segment: { kind: 'wildcard' }, length: 3 };
  const digits = INDEX_RE.exec(rest)?.[1];
  if (digits !== undefined) {
    const index = Number(digits);
    if (!Number.isSafeInteger(index)) return null;
    return { segment: { kind: 'index', index }, length: digits.length + 2 };
  }
  const quote = rest[1];
  if (quote !== "'" && quote !== '"') return null;
  const close = rest.indexOf(`${quote}]`, 2);
  if (close < 0) return null;
  return { segment: { kind: 'key', name: rest.slice(2, close) }, length: close + 2 };
}

/** The segment at the start of `rest`; `first` allows a bare name without a leading dot. */
function parseStep(rest: string, first: boolean): Step | null {
  if (rest.startsWith('[')) return parseBracket(rest);
  if (first) return parseName(rest);
  if (!rest.startsWith('.')) return null;
  const named = parseName(rest.slice(1));
  return named && { segment: named.segment, length: named.length + 1 };
}

export function parseJsonPath(path: string): JsonPath {
  if (!path) throw new Error('empty path');
  const rooted = path.startsWith('$');
  let rest = rooted ? path.slice(1) : path;
  const segments: JsonPathSegment[] = [];
  while (rest) {
    const next = parseStep(rest, !rooted && segments.length === 0);
    if (!next) throw new Error(`${failure(rest)} at position ${path.length - rest.length}`);
    segments.push(next.segment);
    rest = rest.slice(next.length);
  }
  return segments;
}

export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function step(segment: JsonPathSegment, value: unknown): unknown[] {
  switch (segment.kind) {
    case 'key':
      return isJsonObject(value) && Object.hasOwn(value, segment.name) ? [value[segment.name]] : [];
    case 'index':
      return Array.isArray(value) && segment.index < value.length ? [value[segment.index]] : [];
    case 'wildcard':
      if (Array.isArray(value)) return value;
      return isJsonObject(value) ? Object.values(value) : [];
  }
}

/** Every value `path` reaches in `doc`; a missing key or a value of the wrong type reaches nothing. */
export function findValues(path: JsonPath, doc: unknown): unknown[] {
  return path.reduce<unknown[]>(
    (values, segment) => values.flatMap((v) => step(segment, v)),
    [doc],
  );
}
