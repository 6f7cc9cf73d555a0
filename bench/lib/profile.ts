/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the CPU time went:
 * by area (our packages, each dependency, node core, GC), by function (self
 * time) and, for our own code, inclusive time per function.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './processes.ts';
import { round } from './stats.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  seconds: number;
  /** Share of the busy (non-idle) time. */
  pct: number;
}

export interface ProfileSummary {
  process: string;
  file: string;
  /** The span summarised, on the profiler's clock (µs), when not the whole profile. */
  window: ProfileWindow | null;
  wallSeconds: number;
  busySeconds: number;
  /** Busy time over wall time: share of one core. */
  busyShare: number;
  byArea: ProfileRow[];
  /** Dependencies by the share of samples with one of their frames anywhere on the stack. */
  onStack: ProfileRow[];
  topSelf: ProfileRow[];
  /** Our own functions (apps/, packages/) by inclusive time. */
  ourInclusive: ProfileRow[];
}

const OUR_DIRS = ['apps/', 'packages/', 'test/', 'bench/'];

function relative(url: string): string | null {
  if (!url.startsWith('file://')) return null;
  return path.relative(ROOT, fileURLToPath(url));
}

/** Which part of the stack a frame belongs to. */
function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'V8 (program)';
    if (functionName === '(idle)') return 'idle';
    if (/^write/.test(functionName)) return 'socket writes (native)';
    return 'V8 builtins (JSON, RegExp, ...)';
  }
  if (url.startsWith('node:internal/deps/undici')) return 'undici (fetch)';
  // What fetch brings along: its global wrapper, web streams for bodies, AbortSignal.timeout, DOMException.
  if (
    /^node:internal\/(webstreams|abort_controller|worker\/js_transferable|event_target|per_context\/domexception|blob|bootstrap\/web)/.test(
      url,
    )
  ) {
    return 'fetch support (web streams, AbortSignal)';
  }
  if (/^node:(_http_|http|https|net|internal\/(stream_base_commons|streams|http))/.test(url)) {
    return 'node http/net/streams';
  }
  if (/^node:internal\/(modules|bootstrap|vm)/.test(url)) return 'module loading';
  if (/^node:internal\/(process\/task_queues|timers)|^node:timers/.test(url)) {
    return 'node timers/ticks';
  }
  if (url.startsWith('node:')) return 'node core (other)';
  const rel = relative(url) ?? url;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(rel);
  if (nm) return nm[1]!;
  const ours = /^(apps\/[^/]+|packages\/[^/]+\/src\/[^/]+|test|bench)/.exec(rel);
  if (ours) return ours[1]!.replace(/\.ts$/, '');
  return rel;
}

const sourceCache = new Map<string, string[] | null>();

/**
 * tsx compiles with minified whitespace, so V8's line numbers do not match our
 * sources; a named function is found again by its definition in the file.
 */
function sourceLine(rel: string, name: string): number | null {
  if (!name || name === '(anonymous)') return null;
  let lines = sourceCache.get(rel);
  if (lines === undefined) {
    try {
      lines = readFileSync(path.join(ROOT, rel), 'utf8').split('\n');
    } catch {
      lines = null;
    }
    sourceCache.set(rel, lines);
  }
  if (!lines) return null;
  const n = name.replace(/^(get|set) /, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const patterns = [
    new RegExp(`function\\*?\\s+${n}\\s*[(<]`),
    new RegExp(`^\\s*(?:(?:public|private|static|async|readonly|get|set)\\s+)*${n}\\s*[(<]`),
    new RegExp(`\\b${n}\\s*[=:]\\s*(?:async\\s*)?(?:\\(|function|[A-Za-z_]+\\s*=>)`),
  ];
  for (const re of patterns) {
    const i = lines.findIndex((l) => re.test(l));
    if (i >= 0) return i + 1;
  }
  return null;
}

function whereOf(frame: CallFrame): string {
  if (!frame.url) return '';
  const rel = relative(frame.url);
  if (rel === null) return `${frame.url}:${frame.lineNumber + 1}`;
  if (rel.includes('node_modules')) return `${rel}:${frame.lineNumber + 1}`;
  const line = sourceLine(rel, frame.functionName);
  return line ? `${rel}:${line}` : rel;
}

/** Now on the monotonic clock V8's profiler stamps samples with (the same in every process). */
export function profilerClockUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A span of the profiler clock, in microseconds: only samples inside it count. */
export type ProfileWindow = [number, number];

export function summarizeProfile(
  profile: CpuProfile,
  processName: string,
  file: string,
  window?: ProfileWindow,
  top = 12,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // DevTools attributes the gap after a sample to that sample.
  const duration = (i: number) => (profile.timeDeltas[i + 1] ?? 0) / 1e6;
  const self = new Map<number, number>();
  const inclusive = new Map<string, { frame: CallFrame; seconds: number }>();
  const stackAreas = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  const [from, to] = window ?? [-Infinity, Infinity];
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) return;
    const d = duration(i);
    self.set(id, (self.get(id) ?? 0) + d);
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') return;
    busy += d;
    const counted = new Set<string>();
    const areasHere = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (f.url) areasHere.add(areaOf(f));
      const rel = relative(f.url);
      if (!rel || rel.includes('node_modules') || !OUR_DIRS.some((d) => rel.startsWith(d)))
        continue;
      const key = `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}`;
      if (counted.has(key)) continue;
      counted.add(key);
      const entry = inclusive.get(key) ?? { frame: f, seconds: 0 };
      entry.seconds += d;
      inclusive.set(key, entry);
    }
    for (const a of areasHere) stackAreas.set(a, (stackAreas.get(a) ?? 0) + d);
  });

  const areas = new Map<string, number>();
  const functions = new Map<string, { frame: CallFrame; seconds: number }>();
  for (const [id, seconds] of self) {
    const frame = byId.get(id)!.callFrame;
    const area = areaOf(frame);
    if (area === 'idle') continue;
    areas.set(area, (areas.get(area) ?? 0) + seconds);
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}|${frame.columnNumber}`;
    const entry = functions.get(key) ?? { frame, seconds: 0 };
    entry.seconds += seconds;
    functions.set(key, entry);
  }
  const pct = (s: number) => (busy > 0 ? round((100 * s) / busy, 1) : 0);
  const row = (frame: CallFrame, seconds: number): ProfileRow => ({
    name: frame.functionName || '(anonymous)',
    where: whereOf(frame),
    seconds: round(seconds, 3),
    pct: pct(seconds),
  });
  const wall = (Math.min(to, profile.endTime) - Math.max(from, profile.startTime)) / 1e6;
  const shares = (named: [string, number][]) =>
    named
      .sort((a, b) => b[1] - a[1])
      .map(([name, seconds]) => ({
        name,
        where: '',
        seconds: round(seconds, 3),
        pct: pct(seconds),
      }));
  return {
    process: processName,
    file,
    window: window ?? null,
    wallSeconds: round(wall, 2),
    busySeconds: round(busy, 2),
    busyShare: wall > 0 ? round(busy / wall, 3) : 0,
    byArea: shares([...areas]),
    onStack: shares(
      [...stackAreas].filter(
        ([name]) => !OUR_DIRS.some((d) => name.startsWith(d)) && !name.startsWith('node'),
      ),
    ),
    topSelf: [...functions.values()]
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, top)
      .map((e) => row(e.frame, e.seconds)),
    ourInclusive: [...inclusive.values()]
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, top)
      .map((e) => row(e.frame, e.seconds)),
  };
}

export async function readProfile(
  file: string,
  processName: string,
  window?: ProfileWindow,
): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  return summarizeProfile(profile, processName, file, window);
}

/** A few lines for the printed notes. */
export function describeProfile(s: ProfileSummary, areas = 8, functions = 6): string[] {
  const shares = (list: { name: string; pct: number }[]) =>
    list
      .slice(0, areas)
      .map((a) => `${a.name} ${a.pct}%`)
      .join(', ');
  const places = (list: { name: string; where?: string | null; pct: number }[]) =>
    list
      .slice(0, functions)
      .map((f) => `${f.name}${f.where ? ` (${f.where})` : ''} ${f.pct}%`)
      .join('; ');
  const area = shares(s.byArea);
  const stack = shares(s.onStack);
  const fns = places(s.topSelf);
  const ours = places(s.ourInclusive);
  return [
    `${s.process}: busy in ${Math.round(s.busyShare * 100)}% of the samples over ${s.wallSeconds} s; by area: ${area}`,
    `  dependencies on the stack: ${stack}`,
    `  top self time: ${fns}`,
    `  our code, inclusive: ${ours}`,
  ];
}
