/**
 * Every scenario `npm run bench` knows, in the order it runs them. A new
 * scenario is a module exporting a `Scenario`, added to this list; an opt-in
 * one (`optIn: true`) runs only with `--only <name>` or its own `--<name>` flag.
 */
import { callbackBurst } from './callback-burst.ts';
import { e2e } from './e2e.ts';
import { httpClient } from './http-client.ts';
import { memory } from './memory.ts';
import { pxeFilterIptables } from './pxe-filter-iptables.ts';
import { realIronic } from './real-ironic.ts';
import { rulePatterns } from './rule-patterns.ts';
import { soak } from './soak.ts';
import { statusReads } from './status-reads.ts';
import type { Scenario } from './types.ts';

export const SCENARIOS: readonly Scenario[] = [
  e2e,
  statusReads,
  callbackBurst,
  memory,
  realIronic,
  httpClient,
  soak,
  pxeFilterIptables,
  rulePatterns,
];
