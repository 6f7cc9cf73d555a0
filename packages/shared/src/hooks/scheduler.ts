import { HookFailure, type Hook } from './types.ts';

const KEYS = ['cpus', 'cpu_arch', 'memory_mb', 'local_gb'] as const;

export const scheduler: Hook = {
  name: 'scheduler',
  beforeProcessing(data) {
    // local_gb 0 is a diskless node, not a missing value.
    const missing = KEYS.filter((k) => (k === 'local_gb' ? data[k] == null : !data[k]));
    if (missing.length) {
      throw new HookFailure(
        `The following required parameters are missing: [${missing.join(', ')}]`,
      );
    }
  },
  beforeUpdate(data, node, _ports, plan, ctx) {
    const props = node.properties ?? {};
    for (const key of KEYS) {
      if (ctx.config.OVERWRITE_EXISTING || !props[key]) {
        plan.nodePatches.push({ op: 'add', path: `/properties/${key}`, value: String(data[key]) });
      }
    }
  },
};
