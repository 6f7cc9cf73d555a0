/** Pieces several scenarios share: profile notes, problem notes, memory and CPU figures. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  describeProfile,
  readProfile,
  type ProfileSummary,
  type ProfileWindow,
} from '../lib/profile.ts';
import type { Stack, StackMemory } from '../lib/stack.ts';
import { MiB, round } from '../lib/stats.ts';
import type { Figure } from './types.ts';

/** Node names profiles CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; the main thread is 0. */
const MAIN_THREAD_PROFILE = /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/;

/** The main-thread profiles the stopped stack's services wrote, summarised over `window`. */
export async function stackProfiles(
  stack: Stack,
  window?: ProfileWindow,
): Promise<ProfileSummary[]> {
  if (!stack.profileDir) return [];
  const out: ProfileSummary[] = [];
  for (const proc of [...stack.services, ...(stack.ironic ? [stack.ironic] : [])]) {
    const dir = path.join(stack.profileDir, proc.name);
    const files = await readdir(dir).catch(() => [] as string[]);
    const main = files.find((f) => MAIN_THREAD_PROFILE.test(f));
    if (main) out.push(await readProfile(path.join(dir, main), proc.name, window));
  }
  return out;
}

export function profileNotes(label: string, profiles: ProfileSummary[]): string[] {
  if (profiles.length === 0) return [];
  return [
    `${label}, CPU profiles (node --cpu-prof):`,
    ...profiles.flatMap((p) => describeProfile(p)),
  ];
}

/** Warning and error lines the processes printed (retries, failed jobs). */
export function problemNotes(label: string, stack: Stack): string[] {
  return stack
    .problems()
    .map(
      (p) =>
        `${label}: ${p.proc} printed ${p.count} warning/error lines, e.g. ${p.sample[0]?.slice(0, 300)}`,
    );
}

export function rssFigures(label: string, mem: StackMemory): Figure[] {
  const peakWorker = Math.max(...mem.workers.map((w) => w.peakRss));
  return [
    { label: `${label}: peak RSS, API`, value: round(mem.api.peakRss / MiB, 1), unit: 'MiB' },
    {
      label: `${label}: peak RSS, each worker (max of ${mem.workers.length})`,
      value: round(peakWorker / MiB, 1),
      unit: 'MiB',
    },
  ];
}

export function memoryDetails(mem: StackMemory) {
  return {
    apiPeakRssMiB: round(mem.api.peakRss / MiB, 1),
    workerPeakRssMiB: mem.workers.map((w) => round(w.peakRss / MiB, 1)),
    redisUsedMiB: round(mem.redis.used / MiB, 2),
    redisPeakMiB: round(mem.redis.peak / MiB, 2),
    redisPeakRssMiB: round(mem.redis.rss.peakRss / MiB, 1),
  };
}

/** One figure per entry of a record of CPU microseconds, labelled `<prefix>: <key>`. */
export function microsecondFigures(
  prefix: string,
  perItem: Record<string, number>,
  digits: number,
): Figure[] {
  return Object.entries(perItem).map(([key, us]) => ({
    label: `${prefix}: ${key}`,
    value: round(us, digits),
    unit: 'µs',
  }));
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
