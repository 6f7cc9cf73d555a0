/**
 * What a rule's pattern costs: the worker's CPU to decide `matches` and `contains` conditions,
 * through the rules' own evaluation (translation from Python, the shared time budget, linear
 * engine or vm). Over a field with many values (disks, NICs), per value; and over one value,
 * as each node's evaluation of most rules is, where a pattern's translation would weigh most.
 */
import { RuleConditionSchema, conditionHolds } from '@inspector/shared';
import { microsecondFigures } from './common.ts';
import type { Scenario, ScenarioResult } from './types.ts';

const VALUES = 1_000;
const ROUNDS = 200;

/** Disk models as ramdisks report them: every pattern below holds for each one. */
const models = Array.from({ length: VALUES }, (_, i) =>
  i % 2 ? `Dell Express Flash NVMe SSD ${i}` : `DELL PERC H730 SSD ${i}`,
);
const many = { disks: models.map((model) => ({ model })) };
const one = { disks: many.disks.slice(0, 1) };

/** Conditions as operators write them, one per path a pattern can take. */
const CONDITIONS: Array<[label: string, op: 'matches' | 'contains', value: string]> = [
  ['contains SSD', 'contains', 'SSD'],
  ['matches dell.* under (?i)', 'matches', '(?i)dell.*'],
  ['contains ssd \\d+ under (?i)', 'contains', '(?i)ssd \\d+'],
  ['matches under (?m)', 'matches', '(?m)D[a-zA-Z]+ .*'],
  ['matches a (?i) class with wide ranges', 'matches', '(?i)[a-z][\\w \\u0100-\\uffff]*'],
  ['contains with a lookahead (vm path)', 'contains', 'SSD(?= \\d)'],
];

/**
 * CPU microseconds per disk of deciding `value` over every disk of `data`, averaged over the
 * rounds: one evaluation of one value is shorter than the CPU clock's step, and the pattern's
 * translation, in the first round of its first pass, counts as it does in a worker's life.
 */
function microsecondsPerDisk(
  op: 'matches' | 'contains',
  value: string,
  data: { disks: unknown[] },
): number {
  const cond = RuleConditionSchema.parse({ op, field: 'disks[*].model', value, multiple: 'all' });
  const before = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) {
    if (!conditionHolds(cond, data, {})) throw new Error(`${op} ${value} does not hold`);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / ROUNDS / data.disks.length;
}

export const rulePatterns: Scenario = {
  name: 'rule-patterns',
  summary: "CPU per value of a rule's matches/contains condition, by the path its pattern takes",
  optIn: true,
  async run(ctx): Promise<ScenarioResult> {
    const perValue: Record<string, number> = {};
    const oneValue: Record<string, number> = {};
    for (const [label, op, value] of CONDITIONS) {
      ctx.log(label);
      perValue[label] = microsecondsPerDisk(op, value, many);
      oneValue[label] = microsecondsPerDisk(op, value, one);
    }
    const figures = [
      ...microsecondFigures(`CPU per value of ${VALUES}`, perValue, 2),
      ...microsecondFigures('CPU for one value', oneValue, 1),
    ];
    return {
      status: 'ok',
      figures,
      notes: [
        `each condition decided ${ROUNDS} times over ${VALUES} disk models (multiple: all), then ` +
          `${ROUNDS} times over one, in the bench process, CPU averaged: the field's parsing and ` +
          'the time budget included; the first round translates the pattern, which a worker ' +
          'keeps (pattern-cache.ts), so the pass over one value finds it done',
      ],
      details: {
        values: VALUES,
        rounds: ROUNDS,
        microsecondsPerValue: perValue,
        microsecondsForOneValue: oneValue,
      },
    };
  },
};
