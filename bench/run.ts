/**
 * `npm run bench [-- options]`: measures the service as its users feel it,
 * every part a real process, prints a table and writes the figures as JSON
 * under bench/results/ (with the machine's core count and the git commit).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSnapshot, othersShare } from './lib/machine-load.ts';
import { ROOT } from './lib/processes.ts';
import { commit, machine, table, writeResults } from './lib/report.ts';
import { SCENARIOS } from './scenarios/index.ts';
import type { BenchOptions, ScenarioResult } from './scenarios/types.ts';

/** Above this share of the machine taken by other processes, a scenario's figures get a warning. */
const OTHERS_WARN = 0.1;

const optIn = SCENARIOS.filter((s) => s.optIn).map((s) => s.name);
const extraFlags = optIn;

const USAGE = `usage: npm run bench -- [options]
  --only NAMES             comma-separated scenarios to run (default: all but opt-in ones)
${extraFlags.map((f) => `  --${f.padEnd(23)}also run the opt-in ${f} scenario`).join('\n')}
  --nodes N                nodes of the end-to-end and memory runs (default 1000)
  --workers LIST           worker process counts of the end-to-end runs (default 1,2,4)
  --burst-nodes N          callbacks in the burst (default 5000)
  --burst-concurrency N    callbacks in flight (default 200)
  --burst-new-connections  each callback on a new connection, as ramdisks post (default: keep-alive)
  --reads-seconds S        length of the status-read run (default 10)
  --reads-connections N    connections of the status-read run (default 64)
  --real-ironic-nodes N    nodes of the real-Ironic run (default 50)
  --profile                profile the API and workers (node --cpu-prof) in every scenario
  --worker-nice N          run the workers at niceness N (1-19), the API first on shared cores
  --rules N                introspection rules in place during the end-to-end runs (default 0)
  --env KEY=VALUE          service configuration for every run (repeatable)
scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(24)} ${s.summary}${s.optIn ? ' (opt-in)' : ''}`).join('\n')}
`;

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

function count(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be 0 or a positive integer`);
  return n;
}

function niceness(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error('--worker-nice must be 0 to 19');
  return n;
}

function parse(argv: string[]): { opts: BenchOptions; chosen: string[] } | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      nodes: { type: 'string', default: '1000' },
      workers: { type: 'string', default: '1,2,4' },
      'burst-nodes': { type: 'string', default: '5000' },
      'burst-concurrency': { type: 'string', default: '200' },
      'burst-new-connections': { type: 'boolean', default: false },
      'reads-seconds': { type: 'string', default: '10' },
      'reads-connections': { type: 'string', default: '64' },
      'real-ironic-nodes': { type: 'string', default: '50' },
      profile: { type: 'boolean', default: false },
      'worker-nice': { type: 'string', default: '0' },
      rules: { type: 'string', default: '0' },
      env: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
      ...Object.fromEntries(
        extraFlags.map((f) => [f, { type: 'boolean' as const, default: false }]),
      ),
    },
  });
  if (values.help) return null;
  const known = new Set<string>(SCENARIOS.map((s) => s.name));
  let chosen: string[];
  if (values.only) {
    chosen = values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = chosen.filter((c) => !known.has(c));
    if (unknown.length) throw new Error(`--only: unknown scenario ${unknown.join(', ')}`);
  } else {
    chosen = SCENARIOS.filter((s) => !s.optIn).map((s) => s.name);
  }
  const flags = values as Record<string, unknown>;
  for (const f of extraFlags) if (flags[f] === true && !chosen.includes(f)) chosen.push(f);
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`--env expects KEY=VALUE, got ${pair}`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    chosen,
    opts: {
      nodes: positiveInt('nodes', values.nodes),
      workers: values.workers.split(',').map((w) => positiveInt('workers', w.trim())),
      burstNodes: positiveInt('burst-nodes', values['burst-nodes']),
      burstConcurrency: positiveInt('burst-concurrency', values['burst-concurrency']),
      burstNewConnections: values['burst-new-connections'],
      readsSeconds: positiveInt('reads-seconds', values['reads-seconds']),
      readsConnections: positiveInt('reads-connections', values['reads-connections']),
      realIronicNodes: positiveInt('real-ironic-nodes', values['real-ironic-nodes']),
      profile: values.profile,
      workerNice: niceness(values['worker-nice']),
      env,
      rules: count('rules', values.rules),
    },
  };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!parsed) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { opts, chosen } = parsed;
  const began = Date.now();
  const git = commit();
  const stamp = `${new Date(began).toISOString().replace(/[:.]/g, '-')}-${git.sha.slice(0, 8)}`;
  const resultsDir = path.join(ROOT, 'bench', 'results');
  const runDir = path.join(resultsDir, stamp);
  const log = (msg: string) =>
    process.stderr.write(`[bench +${((Date.now() - began) / 1000).toFixed(1)}s] ${msg}\n`);

  const results: {
    name: string;
    seconds: number;
    /** Share of the machine's cores other processes kept busy meanwhile: it skews the figures. */
    othersCpuShare: number;
    result: ScenarioResult;
  }[] = [];
  for (const name of chosen) {
    // `chosen` holds only registered names: parse() refused the others.
    const scenario = SCENARIOS.find((s) => s.name === name)!;
    const t = Date.now();
    const cpuBefore = await cpuSnapshot();
    let result: ScenarioResult;
    log(`${name}: ${scenario.summary}`);
    try {
      result = await scenario.run({
        opts,
        dir: path.join(runDir, name),
        log: (m) => log(`${name}: ${m}`),
      });
    } catch (err) {
      result = {
        status: 'invalid',
        reason: `failed: ${(err as Error).stack ?? String(err)}`,
        figures: [],
        notes: [],
        details: {},
      };
    }
    if (result.status === 'skipped') log(`${name}: skipped: ${result.reason}`);
    else if (result.status === 'invalid') log(`${name}: INVALID: ${result.reason}`);
    const others =
      Math.round(othersShare(cpuBefore, await cpuSnapshot(), result.detachedCpuSeconds) * 1000) /
      1000;
    if (result.status !== 'skipped' && others > OTHERS_WARN) {
      result.notes.unshift(
        `machine busy: other processes kept ${Math.round(others * 100)}% of all cores busy during this scenario; its figures are understated`,
      );
    }
    results.push({ name, seconds: (Date.now() - t) / 1000, othersCpuShare: others, result });
  }

  const m = machine();
  const out = [
    `ironic-inspector-ts bench — commit ${git.sha.slice(0, 12)}${git.dirty ? ' (with uncommitted changes)' : ''}, ` +
      `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, node ${m.node}, redis ${m.redis}`,
    '',
    table(results),
  ];
  for (const { name, result } of results) {
    const notes = [
      ...(result.status === 'invalid' && result.reason ? [`INVALID: ${result.reason}`] : []),
      ...result.notes,
    ];
    if (notes.length) out.push('', `${name}:`, ...notes.map((n) => `  ${n}`));
  }
  const file = await writeResults(resultsDir, stamp, {
    startedAt: new Date(began).toISOString(),
    seconds: (Date.now() - began) / 1000,
    commit: git,
    machine: m,
    options: opts,
    logs: path.relative(ROOT, runDir),
    scenarios: results,
  });
  const logs = existsSync(runDir) ? `, logs and profiles: ${path.relative(ROOT, runDir)}/` : '';
  out.push('', `figures: ${path.relative(ROOT, file)}${logs}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return results.some((r) => r.result.status === 'invalid') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
