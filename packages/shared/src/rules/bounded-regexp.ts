import { setFlagsFromString } from 'node:v8';
import { Script, createContext } from 'node:vm';
import { InspectorError } from '../errors.ts';

/**
 * Longest one pattern may run on one value. Patterns come from operators, but the values they
 * run on come from the unauthenticated ramdisk callback: `(a+)+b` on thirty-odd `a`s would hold
 * a worker, and every job it carries, for minutes. Real patterns on real fields take microseconds.
 */
export const REGEXP_TIME_LIMIT_MS = 100;

// The `l` flag, V8's non-backtracking engine (behind a flag on Node 20): a pattern it accepts runs
// in time linear in its input, at no cost per call. Set before any pattern is compiled with it; if
// it did not take, every pattern takes the timed path below, which is as safe.
setFlagsFromString('--enable-experimental-regexp-engine');

const sandbox = createContext({ pattern: /(?:)/, input: '' });
const timedTest = new Script('pattern.test(input)');

/**
 * `pattern.test` that ends within REGEXP_TIME_LIMIT_MS on any input, else throws naming `what`.
 * Patterns the linear engine cannot run (backreferences, lookaround, `i` on Node 20) run under
 * a vm timeout, which interrupts the regexp engine itself (some 50 µs per call for its watchdog).
 */
export function boundedTest(pattern: RegExp, what: string): (input: string) => boolean {
  let linear: RegExp | null = null;
  try {
    linear = new RegExp(pattern.source, `${pattern.flags}l`);
  } catch {
    // Not linear: timed below.
  }
  if (linear) return (input) => linear.test(input);
  return (input) => {
    sandbox.pattern = pattern;
    sandbox.input = input;
    try {
      return timedTest.runInContext(sandbox, { timeout: REGEXP_TIME_LIMIT_MS }) === true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
      throw new InspectorError(
        `${what} ran for over ${REGEXP_TIME_LIMIT_MS} ms on a value of ${input.length} characters: the pattern backtracks too much for this data`,
      );
    }
  };
}
