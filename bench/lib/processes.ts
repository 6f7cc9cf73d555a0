/**
 * The real processes a benchmark runs: the API, workers and the fake Ironic as
 * Node entry points (optionally profiled), their output teed to log files, and
 * what /proc says about their memory and CPU.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, lineSplitter } from '../../test/helpers/processes.ts';

export { ROOT, freePort, waitUntil } from '../../test/helpers/processes.ts';

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** pino lines at warn level or above, and stderr lines that are not JSON (capped). */
  problems: string[];
  /** How many problem lines there were, including those past the cap. */
  problemCount: number;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Forgets the problem lines so far (start-up notices are not problems of the run). */
  clearProblems(): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const PROBLEM_CAP = 200;
const PINO_PROBLEM = /"level":(40|50|60)\b/;

export interface SpawnOptions {
  env: Record<string, string>;
  logDir: string;
}

const running = new Set<ChildProcess>();
let reaping = false;

/**
 * Keeps `child` from outliving the bench: when the bench dies (an exception, SIGINT or SIGTERM
 * sent to it alone, a closed stdout pipe), its services would otherwise run on, orphaned.
 */
export function reapOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (reaping) return;
  reaping = true;
  const reap = () => {
    for (const c of running) c.kill('SIGKILL');
  };
  process.once('exit', reap);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      reap();
      process.exit(code);
    });
  }
}

/** Spawns a command, tees its output to `<logDir>/<name>.log` and watches for problem lines. */
export function spawnLogged(
  name: string,
  command: string,
  args: string[],
  opts: SpawnOptions,
): Proc {
  mkdirSync(opts.logDir, { recursive: true });
  const child = spawn(command, args, {
    cwd: ROOT,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A command that cannot start reports it here; its missing pid says so below.
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  reapOnExit(child);
  const logFile = path.join(opts.logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  const problems: string[] = [];
  const waiters = new Set<{ re: RegExp; resolve: (line: string) => void }>();
  let recent: string[] = [];
  let problemCount = 0;
  const scan = (stream: 'out' | 'err') => {
    const lines = lineSplitter((line) => {
      if (waiters.size) {
        recent.push(line);
        if (recent.length > 20) recent = recent.slice(-20);
        for (const w of [...waiters]) {
          if (w.re.test(line)) {
            waiters.delete(w);
            w.resolve(line);
          }
        }
      }
      const problem = PINO_PROBLEM.test(line) || (stream === 'err' && !line.startsWith('{'));
      if (problem) {
        problemCount++;
        if (problems.length < PROBLEM_CAP) problems.push(line);
      }
    });
    const source = stream === 'out' ? child.stdout! : child.stderr!;
    source.setEncoding('utf8');
    source.on('data', (text: string) => {
      log.write(text);
      lines.push(text);
    });
    source.on('end', () => lines.end());
  };
  scan('out');
  scan('err');
  // 'close', not 'exit': only then has all the output been read, and the log can end.
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      log.end();
      resolve(code);
    }),
  );
  return {
    name,
    pid: child.pid,
    child,
    logFile,
    problems,
    get problemCount() {
      return problemCount;
    },
    clearProblems() {
      problems.length = 0;
      problemCount = 0;
    },
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const waiter = {
          re,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const fail = (why: string) => {
          waiters.delete(waiter);
          reject(new Error(`${name} ${why} before printing ${re}:\n${recent.join('\n')}`));
        };
        const timer = setTimeout(() => fail(`did not answer in ${timeoutMs} ms`), timeoutMs);
        waiters.add(waiter);
        void exited.then((code) => {
          clearTimeout(timer);
          if (waiters.has(waiter)) fail(`exited (${code}), see ${logFile},`);
        });
      });
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface NodeEntryOptions extends SpawnOptions {
  /** Flags for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Modules loaded after tsx, before the entry point. */
  preload?: string[];
  args?: string[];
}

/** Runs a TypeScript entry point of this repository with `node --import tsx`. */
export function startNodeEntry(name: string, entry: string, opts: NodeEntryOptions): Proc {
  const args = [
    ...(opts.nodeArgs ?? []),
    '--import',
    'tsx',
    ...(opts.preload ?? []).flatMap((p) => ['--import', p]),
    path.join(ROOT, entry),
    ...(opts.args ?? []),
  ];
  return spawnLogged(name, process.execPath, args, opts);
}

export interface ProcMemory {
  /** Peak resident set (VmHWM), bytes. */
  peakRss: number;
  /** Resident set now (VmRSS), bytes. */
  rss: number;
}

/** Peak and current RSS of a live process, from /proc/<pid>/status. */
export async function procMemory(pid: number): Promise<ProcMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { peakRss: kib('VmHWM'), rss: kib('VmRSS') };
}

/** Linux reports CPU times in clock ticks; 100 per second on every mainstream kernel config. */
export const CLK_TCK = 100;

/** User plus system CPU seconds a live process has used, from /proc/<pid>/stat. */
export async function procCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** User plus system CPU seconds of this process (the bench: clients, autocannon, pollers). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** A minimal environment for child processes, so stray variables of the caller do not leak in. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  return env;
}
