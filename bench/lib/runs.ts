/**
 * What a user of the service does and sees: start runs over HTTP, watch them
 * finish, and check every one through the public API.
 */
import type { Redis } from 'ioredis';
import { exchange, type StoreKeys } from '@inspector/shared';
import { tally } from './stats.ts';

/** Runs `fn` over `items` with at most `concurrency` in flight, results in order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return out;
}

export interface HttpReply {
  status: number;
  body: unknown;
  ms: number;
}

/** One call over the service's own keep-alive client: `fetch` would cost the bench more CPU than the API. */
export async function request(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<HttpReply> {
  const t = performance.now();
  try {
    const res = await exchange(new URL(url), {
      method: init.method ?? 'GET',
      headers: {
        Accept: 'application/json',
        ...(init.body ? { 'Content-Type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.body,
      timeoutMs: 60_000,
    });
    let body: unknown = res.text;
    try {
      body = res.text ? JSON.parse(res.text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body, ms: performance.now() - t };
  } catch (err) {
    return { status: 0, body: String(err), ms: performance.now() - t };
  }
}

export interface StartPhase {
  /** Epoch ms when the first request left. */
  t0: number;
  /** Epoch ms when the last answer came. */
  t1: number;
  latenciesMs: number[];
  /** Epoch ms at which each answer came, in the order of the uuids. */
  answeredAt: number[];
  failures: { uuid: string; status: number; body: unknown }[];
}

/** `POST /v1/introspection/<uuid>` for every node, `concurrency` at a time. */
export async function startRuns(
  url: string,
  uuids: readonly string[],
  opts: { concurrency: number; manageBoot: boolean },
): Promise<StartPhase> {
  const query = opts.manageBoot ? '' : '?manage_boot=false';
  const t0 = Date.now();
  const answeredAt: number[] = new Array(uuids.length);
  const replies = await pool(uuids, opts.concurrency, async (uuid, i) => {
    const reply = await request(`${url}/v1/introspection/${uuid}${query}`, { method: 'POST' });
    answeredAt[i] = Date.now();
    return reply;
  });
  const t1 = Date.now();
  return {
    t0,
    t1,
    latenciesMs: replies.map((r) => r.ms),
    answeredAt,
    failures: replies
      .map((r, i) => ({ uuid: uuids[i]!, status: r.status, body: r.body }))
      .filter((r) => r.status !== 202),
  };
}

/** Runs not yet in a final state: the `active` index the timeout sweep uses. */
export async function activeRuns(redis: Redis, keys: StoreKeys): Promise<number> {
  return redis.zcard(keys.active);
}

/** A run count that has not moved for this long means the rest are stuck (e.g. a lost callback). */
const STALL_MS = 30_000;

/**
 * Waits until no run is active (all finished or failed), logging progress.
 * Returns false on timeout, or as soon as the count stops moving for STALL_MS.
 */
export async function waitAllDone(
  redis: Redis,
  keys: StoreKeys,
  opts: { timeoutMs: number; log: (msg: string) => void; label: string },
): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastLog = Date.now();
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const active = await activeRuns(redis, keys);
    if (active === 0) return true;
    const now = Date.now();
    if (active !== last) {
      last = active;
      lastChange = now;
    }
    if (now - lastChange > STALL_MS) {
      opts.log(`${opts.label}: ${active} runs have not moved for ${STALL_MS / 1000} s, giving up`);
      return false;
    }
    if (now > deadline) return false;
    if (now - lastLog > 5_000) {
      lastLog = now;
      opts.log(`${opts.label}: ${active} runs still active`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RunRecord {
  uuid: string;
  state: string | null;
  error: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/** The stored status of each run, read straight from Redis in pipelines. */
export async function readRuns(
  redis: Redis,
  keys: StoreKeys,
  uuids: readonly string[],
): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (let i = 0; i < uuids.length; i += 1000) {
    const batch = uuids.slice(i, i + 1000);
    const pipe = redis.pipeline();
    for (const uuid of batch)
      pipe.hmget(keys.node(uuid), 'state', 'error', 'started_at', 'finished_at');
    const replies = (await pipe.exec()) ?? [];
    replies.forEach(([err, value], j) => {
      if (err) throw err;
      const [state, error, started, finished] = value as (string | null)[];
      out.push({
        uuid: batch[j]!,
        state: state ?? null,
        error: error || null,
        startedAt: started ? Number(started) : null,
        finishedAt: finished ? Number(finished) : null,
      });
    });
  }
  return out;
}

/** Waits until every run is in `state` (e.g. all `waiting` after starts without boot). */
export async function waitAllInState(
  redis: Redis,
  keys: StoreKeys,
  uuids: readonly string[],
  state: string,
  opts: { timeoutMs: number; log: (msg: string) => void; label: string },
): Promise<RunRecord[]> {
  let pending = [...uuids];
  let lastLog = Date.now();
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const runs = await readRuns(redis, keys, pending);
    const stuck = runs.filter((r) => r.state !== state && r.state !== 'error');
    const failed = runs.filter((r) => r.state === 'error');
    if (failed.length) {
      throw new Error(
        `${opts.label}: ${failed.length} runs ended in error, e.g. ${failed[0]!.uuid}: ${failed[0]!.error}`,
      );
    }
    pending = stuck.map((r) => r.uuid);
    if (pending.length === 0) return readRuns(redis, keys, uuids);
    if (Date.now() > deadline) {
      const states = tally(stuck.map((r) => r.state ?? 'missing'));
      throw new Error(
        `${opts.label}: ${pending.length} runs never reached ${state}: ${JSON.stringify(states)}`,
      );
    }
    if (Date.now() - lastLog > 5_000) {
      lastLog = Date.now();
      opts.log(`${opts.label}: ${pending.length} runs not yet ${state}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Verdict {
  ok: boolean;
  /** Runs by state, as the API lists them. */
  byState: Record<string, number>;
  /** Distinct problems (missing runs, errors), with counts and an example node. */
  problems: string[];
}

interface ListedRun {
  uuid: string;
  state: string;
  error: string | null;
  finished: boolean;
}

/**
 * Reads every run back through `GET /v1/introspection` (paged) and checks that
 * each node is `finished` with no error: what the user would see.
 */
export async function verifyFinished(url: string, uuids: readonly string[]): Promise<Verdict> {
  const seen = new Map<string, ListedRun>();
  let marker = '';
  for (;;) {
    const res = await request(`${url}/v1/introspection?limit=1000${marker}`);
    if (res.status !== 200) {
      return {
        ok: false,
        byState: {},
        problems: [`GET /v1/introspection answered ${res.status}: ${JSON.stringify(res.body)}`],
      };
    }
    const page = (res.body as { introspection: ListedRun[] }).introspection;
    for (const r of page) seen.set(r.uuid, r);
    if (page.length < 1000) break;
    marker = `&marker=${page[page.length - 1]!.uuid}`;
  }
  const problems: string[] = [];
  const missing = uuids.filter((u) => !seen.has(u));
  if (missing.length)
    problems.push(`${missing.length} runs missing from the list, e.g. ${missing[0]}`);
  const bad = uuids
    .map((u) => seen.get(u))
    .filter((r) => r && (r.state !== 'finished' || r.error !== null || !r.finished));
  const groups = new Map<string, { count: number; example: string }>();
  for (const r of bad) {
    const key = `${r!.state}: ${r!.error ?? 'no error'}`;
    const g = groups.get(key) ?? { count: 0, example: r!.uuid };
    g.count++;
    groups.set(key, g);
  }
  for (const [key, g] of [...groups].sort((a, b) => b[1].count - a[1].count)) {
    problems.push(`${g.count} × ${key} (e.g. ${g.example})`);
  }
  const byState = Object.fromEntries(tally(uuids.map((u) => seen.get(u)?.state ?? 'missing')));
  return { ok: problems.length === 0, byState, problems };
}

/**
 * Starts runs with `manage_boot=false` (no boot: the service marks them
 * `waiting` at once) and waits until all are waiting for ramdisk data.
 */
export async function seedWaiting(
  url: string,
  redis: Redis,
  keys: StoreKeys,
  uuids: readonly string[],
  opts: { log: (msg: string) => void; label: string },
): Promise<StartPhase> {
  const start = await startRuns(url, uuids, { concurrency: 100, manageBoot: false });
  if (start.failures.length) {
    throw new Error(
      `${opts.label}: ${start.failures.length} starts not accepted, e.g. ${JSON.stringify(start.failures[0])}`,
    );
  }
  await waitAllInState(redis, keys, uuids, 'waiting', {
    timeoutMs: Math.max(60_000, uuids.length * 20),
    log: opts.log,
    label: opts.label,
  });
  return start;
}
