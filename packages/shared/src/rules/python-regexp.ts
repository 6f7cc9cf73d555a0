import { caseVariants, classCaseExtras } from './case-fold.ts';

/** Python's inline flags that JavaScript has too; `u` is Python 3's default, so nothing. */
const FLAGS: Record<string, string> = { i: 'i', m: 'm', s: 's', u: '' };

/** The letters Python takes after a backslash in a class; any other is its "bad escape". */
const CLASS_LETTER_ESCAPES = new Set('abdDfnrsStvwWxuUN');
const LETTER_ESCAPES = new Set([...CLASS_LETTER_ESCAPES, 'A', 'Z', 'B']);

/** Throws, as Python's compiler would, on an escape this translation cannot read as Python. */
function checkEscape(next: string, inClass: boolean): void {
  if (next === 'x' || next === 'u') throw new Error(`incomplete escape \\${next}`);
  if (next === 'N' || next === 'U') {
    throw new Error(`\\${next} escapes are not supported: write the character itself`);
  }
  if (/^[A-Za-z]$/.test(next) && !(inClass ? CLASS_LETTER_ESCAPES : LETTER_ESCAPES).has(next)) {
    throw new Error(`bad escape \\${next}${inClass ? ' in a class' : ''}`);
  }
}

/**
 * Sorted characters as a class's text, runs as ranges. Cased characters are letters and the
 * like, never `\\`, `]`, `^` or `-`, so they stand as they are.
 */
function classText(codes: readonly number[]): string {
  let out = '';
  for (let k = 0; k < codes.length; k++) {
    let end = k;
    while (codes[end + 1] === codes[end]! + 1) end++;
    const run = codes.slice(k, end + 1);
    out +=
      run.length > 2
        ? `${String.fromCharCode(run[0]!)}-${String.fromCharCode(codes[end]!)}`
        : String.fromCharCode(...run);
    k = end;
  }
  return out;
}

type CharEscape = { code: number; length: number };

/** `\xHH` or `\uHHHH` at `at` (the backslash): the character and the escape's length. */
function hexEscape(text: string, at: number): CharEscape | null {
  const digits = text[at + 1] === 'x' ? 2 : text[at + 1] === 'u' ? 4 : 0;
  const operand = text.slice(at + 2, at + 2 + digits);
  if (!digits || operand.length !== digits || !/^[0-9a-fA-F]+$/.test(operand)) return null;
  return { code: parseInt(operand, 16), length: 2 + digits };
}

const OCTAL_IN_CLASS = /\\([0-7]{1,3})/y;
/** Outside a class `\1` to `\99` are group references: octal needs a leading 0 or 3 digits. */
const OCTAL = /\\(0[0-7]{0,2}|[1-7][0-7]{2})/y;

/**
 * An escape that stands for one character as Python reads it, at `at` (the backslash): hex,
 * octal, and `\a` (BEL, which JavaScript reads as `a`).
 */
function charEscape(text: string, at: number, inClass: boolean): CharEscape | null {
  if (text[at + 1] === 'a') return { code: 7, length: 2 };
  const octal = inClass ? OCTAL_IN_CLASS : OCTAL;
  octal.lastIndex = at;
  const digits = octal.exec(text)?.[1];
  if (!digits) return hexEscape(text, at);
  const code = parseInt(digits, 8);
  if (code > 0o377) throw new Error(`octal escape value \\${digits} outside of range 0-0o377`);
  return { code, length: 1 + digits.length };
}

/** One character as an escape JavaScript reads alike everywhere in a pattern. */
const escapeText = (code: number) =>
  code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;

const NO_MINIMUM = /\{,(\d*)\}/y;

/** Python's `{,n}` at `at`, at most n times: n ('' for no most), or null. JavaScript reads text. */
function noMinimum(text: string, at: number): string | null {
  NO_MINIMUM.lastIndex = at;
  return NO_MINIMUM.exec(text)?.[1] ?? null;
}

/** A character outside a class, as a class of its case variants when it has any. */
function foldChar(code: number, text: string): string {
  const variants = caseVariants(code);
  return variants ? `[${classText(variants)}]` : text;
}

/** Escapes that stand for a set of characters: in a class they are no end of a range. */
const SET_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S']);
/** Octal, hex and `\a` reach a class's body as `\xHH` or `\uHHHH`: these are the rest. */
const CONTROL_ESCAPES: Record<string, number> = { b: 8, t: 9, n: 10, v: 11, f: 12, r: 13 };

/** The characters and ranges a class's body names (its set escapes add no case variants). */
function classRanges(body: string): Array<[number, number]> {
  const atoms: Array<number | null> = [];
  const dashes = new Set<number>();
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      if (body[i] === '-') dashes.add(atoms.length);
      atoms.push(body.charCodeAt(i));
      continue;
    }
    const escape = hexEscape(body, i);
    const next = body[i + 1] ?? '';
    if (escape) {
      atoms.push(escape.code);
      i += escape.length - 1;
      continue;
    }
    atoms.push(SET_ESCAPES.has(next) ? null : (CONTROL_ESCAPES[next] ?? next.charCodeAt(0)));
    i++;
  }
  const ranges: Array<[number, number]> = [];
  for (let k = 0; k < atoms.length; k++) {
    const [lo, hi] = [atoms[k], atoms[k + 2]];
    if (dashes.has(k + 1) && k + 2 < atoms.length && lo != null && hi != null) {
      ranges.push([lo, hi]);
      k += 2;
    } else if (lo != null) ranges.push([lo, lo]);
  }
  return ranges;
}

/**
 * A pattern of Python's `re` as a JavaScript RegExp: rules are written for upstream, in Python's
 * syntax. Translates what differs and rules use (leading inline flags such as `(?i)`, named
 * groups `(?P<name>...)` and `(?P=name)`, `\A`, `\Z`, `$`, which in Python also matches before a
 * newline that ends the string, `.`, which stops at `\n` alone, octal escapes, `\a` and
 * `{,n}`); throws on what has no translation or does not compile. `(?i)` is spelt out as
 * classes of case variants, as Python folds case (case-fold.ts), so that the linear-time engine
 * takes the pattern; the `i` flag is kept only for back-references, whose text must match
 * case-insensitively.
 *
 * `anchored` tries the pattern at the start of the string alone, as `re.match`. Under `(?m)`
 * that is the sticky flag: set `lastIndex` to 0 before each test.
 *
 * Made for `test`: the translated `$` takes that newline in, which a match's text would show.
 */
export function pythonRegExp(pattern: string, { anchored = false } = {}): RegExp {
  const flags = new Set<string>();
  // Python takes any number of flag groups at the start: `(?i)(?m)` as `(?im)`.
  const lead = /^(?:\(\?[a-zA-Z]+\))*/.exec(pattern)![0];
  for (const flag of lead.replace(/[(?)]/g, '')) {
    const js = FLAGS[flag];
    if (js === undefined) throw new Error(`inline flag ${flag} is not supported`);
    if (js) flags.add(js);
  }
  const rest = pattern.slice(lead.length);
  const fold = flags.has('i');
  // Python's start and end of the whole string, whatever the flags: `^` and `$` where no `m`
  // makes them lines' (which leaves the pattern to the linear engine), else lookaround.
  const multiline = flags.has('m');
  const ends = multiline
    ? { start: '(?<![\\s\\S])', end: '(?![\\s\\S])' }
    : { start: '^', end: '$' };
  let backReferences = false;
  let out = '';
  /** Where in `out` the character class being read opened, or -1 outside one. */
  let classAt = -1;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '\\') {
      const next = rest[i + 1] ?? '';
      const char = charEscape(rest, i, classAt >= 0);
      if (char) {
        // Folded outside a class; in one, with the class's other members when it closes.
        const text = escapeText(char.code);
        out += fold && classAt < 0 ? foldChar(char.code, text) : text;
        i += char.length - 1;
        continue;
      }
      checkEscape(next, classAt >= 0);
      if (classAt >= 0) {
        out += c + next;
      } else if (next === 'A' || next === 'Z') {
        out += next === 'A' ? ends.start : ends.end;
      } else if (next >= '1' && next <= '9') {
        backReferences = true;
        out += c + next;
      } else if (fold && next && !/[0-9A-Za-z]/.test(next)) {
        // An escaped punctuation mark, or a letter beyond ASCII (`\é`): a literal to fold.
        out += foldChar(next.charCodeAt(0), c + next);
      } else {
        out += c + next;
      }
      i++;
    } else if (classAt >= 0) {
      const bodyAt = classAt + (out[classAt + 1] === '^' ? 2 : 1);
      // A `]` first in a class is a literal in Python; JavaScript would read `[]` as empty.
      if (c === ']' && out.length === bodyAt) out += '\\]';
      else if (c === ']') {
        const extras = fold ? classText(classCaseExtras(classRanges(out.slice(bodyAt)))) : '';
        // A `-` last in the class is a literal; followed by the extras, it would make a range.
        if (extras && /(?:^|[^\\])(?:\\\\)*-$/.test(out.slice(bodyAt))) {
          out = `${out.slice(0, -1)}\\-`;
        }
        out += extras + c;
        classAt = -1;
      } else out += c;
    } else if (c === '[') {
      classAt = out.length;
      out += c;
    } else if (c === '$' && !multiline) {
      out += '(?:\\n?$)';
    } else if (c === '.' && !flags.has('s')) {
      // Python's `.` stops at `\n` alone; JavaScript's at `\r` and U+2028/9 too.
      out += '[^\\n]';
    } else if (rest.startsWith('(?P<', i)) {
      // The name is copied as it is: folded, it would be no name.
      const close = rest.indexOf('>', i);
      if (close < 0) throw new Error('unterminated (?P<name>');
      out += `(?<${rest.slice(i + 4, close)}>`;
      i = close;
    } else if (rest.startsWith('(?P=', i)) {
      const close = rest.indexOf(')', i);
      if (close < 0) throw new Error('unterminated (?P=name)');
      out += `\\k<${rest.slice(i + 4, close)}>`;
      backReferences = true;
      i = close;
    } else {
      const most = c === '{' ? noMinimum(rest, i) : null;
      if (most !== null) {
        out += `{0,${most}}`;
        i += most.length + 2;
      } else out += fold ? foldChar(c.charCodeAt(0), c) : c;
    }
  }
  if (!(fold && backReferences)) flags.delete('i');
  if (anchored && multiline) flags.add('y');
  const source = anchored && !multiline ? `^(?:${out})` : out;
  return new RegExp(source, [...flags].join(''));
}
