import { runSoak } from '../../test/soak/soak.ts';
import type { Scenario } from './types.ts';

const NODES = 5000;
const WORKERS = 3;
const ERROR_RATE = 0.05;

/** The full soak of issue 7; CI runs the same code with 300 nodes (test/e2e/soak.test.ts). */
export const soak: Scenario = {
  name: 'soak',
  summary: `${NODES} nodes, ${WORKERS} workers, Ironic failing ${ERROR_RATE * 100}% of its calls`,
  optIn: true,
  async run(ctx) {
    const r = await runSoak({
      nodes: NODES,
      workers: WORKERS,
      errorRate: ERROR_RATE,
      keepS: 30,
      log: (line) => ctx.log(line),
    });
    const valid = r.stuck.length === 0 && r.unexplained.length === 0;
    return {
      status: valid ? 'ok' : 'invalid',
      ...(valid
        ? {}
        : { reason: `${r.stuck.length} stuck, ${r.unexplained.length} unexplained errors` }),
      figures: [
        { label: 'nodes finished', value: r.finished, unit: `of ${NODES}`, valid },
        { label: 'nodes ended in error (injected faults)', value: r.failed, unit: '', valid },
        { label: 'nodes/s', value: Math.round(r.nodesPerSecond * 10) / 10, unit: 'nodes/s', valid },
        { label: 'Redis peak', value: Math.round(r.redis.peakBytes / 1024), unit: 'KiB' },
        {
          label: 'Redis after retention, above baseline',
          value: Math.round((r.redis.afterBytes - r.redis.baselineBytes) / 1024),
          unit: 'KiB',
        },
        {
          label: 'Redis keys after retention, above baseline',
          value: r.redis.afterKeys - r.redis.baselineKeys,
          unit: '',
        },
      ],
      notes: [
        'Every node must end finished or with an error matching an injected 409/503; none stuck.',
        ...r.stuck.slice(0, 5).map((s) => `stuck: ${s}`),
        ...r.unexplained.slice(0, 5).map((e) => `unexplained error: ${e}`),
      ],
      details: { ...r },
    };
  },
};
