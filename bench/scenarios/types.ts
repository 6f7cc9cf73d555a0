/** A target from the issue, read against a figure; never asserted, only reported. */
export interface Target {
  op: '>=' | '<';
  value: number;
}

export interface Figure {
  label: string;
  /** null when the figure could not be measured. */
  value: number | null;
  unit: string;
  target?: Target;
  /** false when the run behind the figure had errors: the number does not count. */
  valid?: boolean;
}

export interface ScenarioResult {
  status: 'ok' | 'invalid' | 'skipped';
  /** Why the scenario was skipped or is invalid. */
  reason?: string;
  figures: Figure[];
  /** Printed under the table: how it was measured, where the time goes, errors seen. */
  notes: string[];
  /** Everything else, for the JSON file. */
  details: Record<string, unknown>;
  /** CPU seconds of processes the scenario ran outside the bench's own children (e.g. Ironic). */
  detachedCpuSeconds?: number;
}

export interface BenchOptions {
  /** Nodes of the end-to-end and memory runs. */
  nodes: number;
  /** Worker process counts of the end-to-end runs. */
  workers: number[];
  burstNodes: number;
  burstConcurrency: number;
  /** Each callback on a connection of its own, as ramdisks post, instead of keep-alive ones. */
  burstNewConnections: boolean;
  readsSeconds: number;
  readsConnections: number;
  realIronicNodes: number;
  /** Profile the service processes with `node --cpu-prof`. */
  profile: boolean;
  /** Niceness of the worker processes (0: the API's own): the API first when they share cores. */
  workerNice: number;
  /** Service configuration overrides (--env KEY=VALUE). */
  env: Record<string, string>;
  /** Introspection rules in place during the end-to-end runs, all of them applying. */
  rules: number;
}

export interface ScenarioContext {
  opts: BenchOptions;
  /** This scenario's directory under the run's results directory (logs, profiles). */
  dir: string;
  log(message: string): void;
}

export interface Scenario {
  /** Used by --only, and as its own --<name> flag when opt-in. */
  name: string;
  summary: string;
  /** Runs only when asked for by name. */
  optIn?: boolean;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

export function skipped(reason: string): ScenarioResult {
  return { status: 'skipped', reason, figures: [], notes: [], details: {} };
}
