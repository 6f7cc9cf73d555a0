/** Python's inline flags that JavaScript has too. */
const FLAGS: Record<string, string> = { i: 'i', m: 'm', s: 's' };

/**
 * A pattern of Python's `re` as a JavaScript RegExp: rules are written for upstream, in Python's
 * syntax. Translates what differs and rules use (leading inline flags such as `(?i)`, named
 * groups `(?P<name>...)` and `(?P=name)`, `\A`, `\Z`, and `$`, which in Python also matches
 * before a newline that ends the string); throws on what has no translation or does not compile.
 * `anchored` tries the pattern at the start of the string alone, as `re.match`.
 *
 * Made for `test`: the translated `$` takes that newline in, which a match's text would show.
 */
export function pythonRegExp(pattern: string, { anchored = false } = {}): RegExp {
  let flags = '';
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (lead) {
    for (const flag of lead[1]!) {
      const js = FLAGS[flag];
      if (!js) throw new Error(`inline flag ${flag} is not supported`);
      if (!flags.includes(js)) flags += js;
    }
  }
  const rest = lead ? pattern.slice(lead[0].length) : pattern;
  // Python's start and end of the whole string, whatever the flags: `^` and `$` where no `m`
  // makes them lines' (which leaves the pattern to the linear engine), else lookaround.
  const multiline = flags.includes('m');
  const ends = multiline
    ? { start: '(?<![\\s\\S])', end: '(?![\\s\\S])' }
    : { start: '^', end: '$' };
  let out = '';
  /** Where in `out` the character class being read opened, or -1 outside one. */
  let classAt = -1;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '\\') {
      const next = rest[i + 1] ?? '';
      if (classAt >= 0) {
        // Python refuses them there; `^` or `$` in a class would match a character instead.
        if (next === 'A' || next === 'Z') throw new Error(`bad escape \\${next} in a class`);
        out += c + next;
      } else {
        out += next === 'A' ? ends.start : next === 'Z' ? ends.end : c + next;
      }
      i++;
    } else if (classAt >= 0) {
      const first = out.length === classAt + (out[classAt + 1] === '^' ? 2 : 1);
      // A `]` first in a class is a literal in Python; JavaScript would read `[]` as empty.
      if (c === ']' && first) out += '\\]';
      else {
        if (c === ']') classAt = -1;
        out += c;
      }
    } else if (c === '[') {
      classAt = out.length;
      out += c;
    } else if (c === '$' && !multiline) {
      out += '(?:\\n?$)';
    } else if (c === '.' && !flags.includes('s')) {
      // Python's `.` stops at `\n` alone; JavaScript's at `\r` and U+2028/9 too.
      out += '[^\\n]';
    } else if (rest.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (rest.startsWith('(?P=', i)) {
      const close = rest.indexOf(')', i);
      if (close < 0) throw new Error('unterminated (?P=name)');
      out += `\\k<${rest.slice(i + 4, close)}>`;
      i = close;
    } else {
      out += c;
    }
  }
  return new RegExp(anchored ? `${ends.start}(?:${out})` : out, flags);
}
