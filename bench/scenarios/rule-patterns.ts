/**
 * What a rule's pattern costs per value it is tried on: the worker's CPU to decide `matches`
 * and `contains` conditions over a field with many values (disks, NICs), through the rules'
 * own evaluation (translation from Python, the shared time budget, linear engine or vm).
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
const data = { disks: models.map((model) => ({ model })) };

/** Conditions as operators write them, one per path a pattern can take. */
const CONDITIONS: Array<[label: string, op: 'matches' | 'contains', value: string]> = [
  ['contains SSD', 'contains', 'SSD'],
  ['matches dell.* under (?i)', 'matches', '(?i)dell.*'],
  ['contains ssd \\d+ under (?i)', 'contains', '(?i)ssd \\d+'],
  ['matches under (?m)', 'matches', '(?m)D[a-zA-Z]+ .*'],
  ['contains with a lookahead (vm path)', 'contains', 'SSD(?= \\d)'],
];

/** CPU microseconds per value of deciding `value` over every disk, best of the rounds. */
function microsecondsPerValue(op: 'matches' | 'contains', value: string): number {
  const cond = RuleConditionSchema.parse({ op, field: 'disks[*].model', value, multiple: 'all' });
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const before = process.cpuUsage();
    if (!conditionHolds(cond, data, {})) throw new Error(`${op} ${value} does not hold`);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / VALUES);
  }
  return best;
}

export const rulePatterns: Scenario = {
  name: 'rule-patterns',
  summary: "CPU per value of a rule's matches/contains condition, by the path its pattern takes",
  optIn: true,
  async run(ctx): Promise<ScenarioResult> {
    const perValue: Record<string, number> = {};
    for (const [label, op, value] of CONDITIONS) {
      ctx.log(label);
      perValue[label] = microsecondsPerValue(op, value);
    }
    const figures = microsecondFigures('CPU per value', perValue, 2);
    return {
      status: 'ok',
      figures,
      notes: [
        `each condition decided over ${VALUES} disk models (multiple: all), best of ${ROUNDS} rounds, ` +
          'in the bench process: translation from Python and the time budget included',
      ],
      details: { values: VALUES, rounds: ROUNDS, microsecondsPerValue: perValue },
    };
  },
};
