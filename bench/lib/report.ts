/** The printed table and the JSON file of one bench run. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Figure, ScenarioResult } from '../scenarios/types.ts';
import { ROOT } from './processes.ts';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  platform: string;
}

export function machine(): Machine {
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis:
      /v=(\S+)/.exec(
        spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '',
      )?.[1] ?? 'unknown',
    platform: `${os.platform()} ${os.release()}`,
  };
}

export interface Commit {
  sha: string;
  /** Uncommitted changes to tracked files when the bench ran. */
  dirty: boolean;
}

export function commit(): Commit {
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    return {
      sha: git('rev-parse', 'HEAD'),
      dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    };
  } catch {
    return { sha: 'unknown', dirty: false };
  }
}

function verdict(f: Figure): string {
  if (!f.target) return '';
  if (f.value === null || f.valid === false) return 'n/a';
  const met = f.target.op === '>=' ? f.value >= f.target.value : f.value < f.target.value;
  return met ? 'met' : 'MISSED';
}

function formatValue(f: Figure): string {
  if (f.value === null) return '-';
  const v = f.value.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return `${v} ${f.unit}${f.valid === false ? ' (invalid)' : ''}`;
}

/** A plain-text table: scenario, figure, value, target, verdict. */
export function table(results: { name: string; result: ScenarioResult }[]): string {
  const rows: string[][] = [['scenario', 'figure', 'value', 'target', 'verdict']];
  for (const { name, result } of results) {
    if (result.status === 'skipped') {
      rows.push([name, `skipped: ${result.reason ?? ''}`, '', '', '']);
      continue;
    }
    for (const f of result.figures) {
      rows.push([
        name,
        f.label,
        formatValue(f),
        f.target ? `${f.target.op} ${f.target.value.toLocaleString('en-US')} ${f.unit}` : '',
        verdict(f),
      ]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
  ].join('\n');
}

export async function writeResults(dir: string, stamp: string, data: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `bench-${stamp}.json`);
  const text = `${JSON.stringify(data, null, 2)}\n`;
  await writeFile(file, text);
  await writeFile(path.join(dir, 'latest.json'), text);
  return file;
}
