import { setFlagsFromString } from 'node:v8';
import { Script, createContext } from 'node:vm';
import { InspectorError } from '../errors.ts';

/**
 * Time the patterns of one evaluation of the rules may take together. Patterns come from
 * operators, but the values they run on come from the unauthenticated ramdisk callback:
 * `(a+)+b` on thirty-odd `a`s would hold a worker, and every job it carries, for minutes, and
 * many values each just under a per-value limit would add up. Real rules on real data take
 * milliseconds; this stays far below the jobs' lock (WORKER_LOCK_DURATION_MS).
 */
export const RULES_REGEXP_BUDGET_MS = 1000;

// V8 runs a pattern on its backtracking engine, at full speed, and moves it to its linear-time
// engine once it backtracks too much; the second flag lets `l` ask whether that engine takes a
// pattern at all. Both are read when a RegExp is made, whenever this module is loaded; if they did
// not take, every pattern takes the timed path below, which is as safe.
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
setFlagsFromString('--enable-experimental-regexp-engine');

/** The deadline of one evaluation of the rules, shared by all its patterns. */
export class RegExpBudget {
  readonly #deadline = performance.now() + RULES_REGEXP_BUDGET_MS;

  remainingMs(): number {
    return this.#deadline - performance.now();
  }
}

const sandbox = createContext({ pattern: /(?:)/, input: '' });
const timedTest = new Script('pattern.test(input)');

/** By pattern, as translated patterns are kept (pattern-cache.ts): asking compiles it again. */
const linearVerdicts = new WeakMap<RegExp, boolean>();

function linearEngineTakes(pattern: RegExp): boolean {
  let takes = linearVerdicts.get(pattern);
  if (takes === undefined) {
    try {
      new RegExp(pattern.source, `${pattern.flags}l`);
      takes = true;
    } catch {
      takes = false;
    }
    linearVerdicts.set(pattern, takes);
  }
  return takes;
}

/**
 * `pattern.test` from the start of each input (a sticky pattern's `lastIndex` is reset), within
 * `budget`, else throws naming `what`. Patterns the linear engine takes fall back to it by
 * themselves; the others (lookaround, `i` with back-references on Node 20) run under a vm
 * timeout, which interrupts the regexp engine itself (some 50 µs per call for its watchdog).
 * Either way the budget is checked around each call, so values add up against it.
 */
export function boundedTest(
  pattern: RegExp,
  what: string,
  budget: RegExpBudget,
): (input: string) => boolean {
  const spent = (input: string) =>
    new InspectorError(
      `${what} was still running on a value of ${input.length} characters when the rules' patterns had used their ${RULES_REGEXP_BUDGET_MS} ms: the pattern backtracks too much for this data`,
    );
  if (linearEngineTakes(pattern)) {
    return (input) => {
      if (budget.remainingMs() <= 0) throw spent(input);
      pattern.lastIndex = 0;
      const result = pattern.test(input);
      if (budget.remainingMs() <= 0) throw spent(input);
      return result;
    };
  }
  return (input) => {
    const timeout = Math.floor(budget.remainingMs());
    if (timeout <= 0) throw spent(input);
    pattern.lastIndex = 0;
    sandbox.pattern = pattern;
    sandbox.input = input;
    try {
      return timedTest.runInContext(sandbox, { timeout }) === true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
      throw spent(input);
    } finally {
      // The sandbox outlives the call: it must not keep a ramdisk's value alive.
      sandbox.input = '';
    }
  };
}
