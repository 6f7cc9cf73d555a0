import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { Conflict } from '../errors.ts';
import type { LookupAttributes } from '../lookup.ts';
import {
  StateSchema,
  TERMINAL_STATES,
  TRANSITIONS,
  transitionMessage,
  type State,
  type StateEvent,
} from '../state-machine.ts';
import { ABORTED_AT_CLOSE, redisReady, type RedisClient } from '../redis.ts';
import { storeKeys, type StoreKeys } from './keys.ts';
import {
  CLAIM,
  FORGET,
  RELEASE,
  RENEW,
  RESERVE_REBOOT,
  SET_IF_GEN,
  START,
  TRANSITION,
} from './scripts.ts';

const jsonList = z
  .string()
  .default('[]')
  .transform((v) => JSON.parse(v) as unknown)
  .pipe(z.array(z.string()));

/** One run of one node, as kept in its Redis hash. */
export const NodeRecordSchema = z.object({
  uuid: z.string(),
  state: StateSchema,
  gen: z.coerce.number().int(),
  started_at: z.coerce.number(),
  finished_at: z
    .string()
    .default('')
    .transform((v) => (v ? Number(v) : null)),
  error: z
    .string()
    .default('')
    .transform((v) => v || null),
  manage_boot: z
    .string()
    .default('1')
    .transform((v) => v !== '0'),
  bmc: jsonList,
  macs: jsonList,
  req_id: z.string().default(''),
  /** User name requested for IPMI credential setup; empty when none was requested. */
  new_ipmi_username: z
    .string()
    .default('')
    .transform((v) => v || null),
  /** The node was created by discovery (NODE_NOT_FOUND_HOOK=enroll), as rules may ask. */
  auto_discovered: z
    .string()
    .default('')
    .transform((v) => v === '1'),
});
export type NodeRecord = z.infer<typeof NodeRecordSchema>;

/** What a status answer shows of a run: the part of its record a status read fetches. */
export const NodeStatusSchema = NodeRecordSchema.pick({
  uuid: true,
  state: true,
  started_at: true,
  finished_at: true,
  error: true,
});
export type NodeStatus = z.infer<typeof NodeStatusSchema>;
const STATUS_FIELDS = Object.keys(NodeStatusSchema.shape) as (keyof NodeStatus)[];

export interface StartRequest {
  uuid: string;
  bmc: string[];
  macs: string[];
  manageBoot: boolean;
  reqId: string;
  credentials?: { username: string; password: string } | undefined;
  /** A node discovery has just created: the run starts `enrolling`, its data already in hand. */
  discovered?: boolean;
}

export type TransitionResult =
  { ok: true; from: State } | { ok: false; reason: 'stale' | 'conflict'; state: string };

export interface TransitionOptions {
  error?: string;
  /** Unprocessed ramdisk data (without logs), stored in the same step. */
  raw?: string;
  logs?: string;
  fields?: Record<string, string>;
  /**
   * The run's record as the caller has just read it. Its lookup lists never change within a
   * run, so a record of the same generation saves reading it again; the script still checks
   * the generation and the state.
   */
  record?: NodeRecord;
  /** Only from these of the event's states: a caller's own, not another's to end. */
  onlyFrom?: readonly State[];
}

/** How long a change aborted at a connection's close waits for the connection to be back. */
const RECONNECT_WAIT_MS = 5000;

/**
 * Sends a state change, once more if the connection closed before its reply: ioredis sends an
 * unanswered command again by itself, except one it had pipelined behind a command that was
 * answered, which it rejects. Either way Redis may have run it already: each change carries an
 * id of its own (`op`), which the scripts recognise when the same change comes back.
 */
async function sendChange<T>(redis: RedisClient, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes(ABORTED_AT_CLOSE)) throw err;
    // The API's connection queues nothing while it reconnects: sent at once, it would fail.
    await redisReady(redis, RECONNECT_WAIT_MS);
    return send();
  }
}

/** A state change that took effect, told to `StoreOptions.onChange` (for metrics: no node id). */
export interface StoreChange {
  event: StateEvent | 'start';
  from: State | null;
  to: State;
  /** When the run (or its latest reapply) began, in ms. */
  startedAt: number;
  /** When the change was made, in ms. */
  at: number;
}

export interface StoreOptions {
  prefix: string;
  /** How long a finished run's status and data stay. */
  keepTimeMs: number;
  /** How long a new IPMI password may stay while its run is not finished. */
  secretTtlMs: number;
  /** How long ramdisk logs wait for a worker to write them out. */
  logsTtlMs?: number;
  onChange?: (change: StoreChange) => void;
}

type ScriptReply = [string, string];

type ScriptedRedis = RedisClient & {
  inspectorStart(numKeys: number, ...args: (string | number)[]): Promise<ScriptReply>;
  inspectorTransition(numKeys: number, ...args: (string | number)[]): Promise<ScriptReply>;
  inspectorSetIfGen(numKeys: number, ...args: (string | number)[]): Promise<number>;
  inspectorForget(numKeys: number, ...args: (string | number)[]): Promise<number>;
  inspectorReserveReboot(numKeys: number, ...args: (string | number)[]): Promise<[number, string]>;
  inspectorClaim(numKeys: number, ...args: (string | number)[]): Promise<number>;
  inspectorRelease(numKeys: number, ...args: (string | number)[]): Promise<number>;
  inspectorRenew(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

/** A discovery's hold on a machine's lookup attributes (StateStore.claimForEnrollment). */
export interface EnrollmentClaim {
  /** Holds it `ttlMs` more from now; false when it lapsed and another request may hold it. */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * The one source of truth: node runs, their lookup index and their data.
 * Every change goes through a Lua script guarded by the run's generation.
 */
export class StateStore {
  readonly keys: StoreKeys;
  readonly #redis: ScriptedRedis;
  readonly #opts: StoreOptions;

  constructor(redis: RedisClient, opts: StoreOptions) {
    this.keys = storeKeys(opts.prefix);
    this.#opts = opts;
    const r = redis as ScriptedRedis;
    if (!r.inspectorStart) {
      r.defineCommand('inspectorStart', { lua: START });
      r.defineCommand('inspectorTransition', { lua: TRANSITION });
      r.defineCommand('inspectorSetIfGen', { lua: SET_IF_GEN });
      r.defineCommand('inspectorForget', { lua: FORGET });
      r.defineCommand('inspectorReserveReboot', { lua: RESERVE_REBOOT });
      r.defineCommand('inspectorClaim', { lua: CLAIM });
      r.defineCommand('inspectorRelease', { lua: RELEASE });
      r.defineCommand('inspectorRenew', { lua: RENEW });
    }
    this.#redis = r;
  }

  #changed(change: StoreChange): void {
    try {
      this.#opts.onChange?.(change);
    } catch {
      // An observer (metrics) must never fail a state change that is already made.
    }
  }

  #lookupKeys(bmc: string[], macs: string[]): string[] {
    return [...bmc.map(this.keys.bmc), ...macs.map(this.keys.mac)];
  }

  async get(uuid: string): Promise<NodeRecord | null> {
    const hash = await this.#redis.hgetall(this.keys.node(uuid));
    if (!hash.uuid) return null;
    return NodeRecordSchema.parse(hash);
  }

  /** A run's generation and state alone: what a worker checks before each act on the node. */
  async runState(uuid: string): Promise<{ gen: number; state: State } | null> {
    const [gen, state] = await this.#redis.hmget(this.keys.node(uuid), 'gen', 'state');
    const parsed = StateSchema.safeParse(state);
    if (!gen || !parsed.success) return null;
    return { gen: Number(gen), state: parsed.data };
  }

  /**
   * Only the fields a status answer shows: status reads are the API's most frequent request,
   * and the lookup lists and the rest of the record would be fetched and parsed for nothing.
   */
  async getStatus(uuid: string): Promise<NodeStatus | null> {
    const values = await this.#redis.hmget(this.keys.node(uuid), ...STATUS_FIELDS);
    if (!values[0]) return null;
    return NodeStatusSchema.parse(
      Object.fromEntries(STATUS_FIELDS.map((field, i) => [field, values[i] ?? undefined])),
    );
  }

  /**
   * Begins a new run: a new generation, state `starting` (`enrolling` for a discovered node),
   * the lookup index rewritten. `replaced`: the node's run before, whose boot job may still be
   * under way (a restart while waiting, or an end by timeout during a held reboot).
   */
  async start(req: StartRequest, now = Date.now()): Promise<{ gen: number; replaced?: number }> {
    const k = this.keys;
    const firstState: State = req.discovered ? 'enrolling' : 'starting';
    /** The record the last attempt replaced, as it read it. */
    let previous: NodeRecord | null = null;
    const started = (replacedRecord: NodeRecord | null, gen: number) => {
      this.#changed({
        event: 'start',
        from: replacedRecord?.state ?? null,
        to: firstState,
        startedAt: now,
        at: now,
      });
      return { gen, ...(replacedRecord ? { replaced: replacedRecord.gen } : {}) };
    };
    // Written with the run: a 'retry' can be this very start, sent again after its reply was lost
    // (sendChange). Any later change of the run rewrites it, and no job can have made one yet,
    // as the caller queues them after.
    const op = `start ${randomUUID()}`;
    for (let attempt = 0; attempt < 10; attempt++) {
      const old = await this.get(req.uuid);
      if (attempt > 0 && old && (await this.#redis.hget(k.node(req.uuid), 'op')) === op) {
        return started(previous, old.gen);
      }
      previous = old;
      const oldLookup = old ? this.#lookupKeys(old.bmc, old.macs) : [];
      const newLookup = this.#lookupKeys(req.bmc, req.macs);
      const fields = [
        'uuid',
        req.uuid,
        'started_at',
        String(now),
        'finished_at',
        '',
        'error',
        '',
        'manage_boot',
        req.manageBoot ? '1' : '0',
        'bmc',
        JSON.stringify(req.bmc),
        'macs',
        JSON.stringify(req.macs),
        'req_id',
        req.reqId,
        'new_ipmi_username',
        req.credentials?.username ?? '',
        'auto_discovered',
        req.discovered ? '1' : '',
        'op',
        op,
      ];
      const keys = [
        k.node(req.uuid),
        k.index,
        k.gen,
        k.raw(req.uuid),
        k.processed(req.uuid),
        k.logs(req.uuid),
        k.secret(req.uuid),
        k.active,
        k.runsVersion,
        ...oldLookup,
        ...newLookup,
      ];
      const [status, value] = await sendChange(this.#redis, () =>
        this.#redis.inspectorStart(
          keys.length,
          ...keys,
          old ? String(old.gen) : '',
          req.uuid,
          now,
          oldLookup.length,
          newLookup.length,
          TRANSITIONS.start.from.join(','),
          JSON.stringify(fields),
          req.credentials?.password ?? '',
          this.#opts.secretTtlMs,
          firstState,
        ),
      );
      if (status === 'ok') return started(old, Number(value));
      if (status === 'conflict') throw new Conflict(transitionMessage(value as State, 'start'));
      // 'retry': another replica restarted the node between our read and our write.
    }
    throw new Conflict(`Node ${req.uuid} is being restarted by another request, retry later`);
  }

  /** Moves one run along the state machine; refuses a stale generation or an illegal event. */
  async transition(
    uuid: string,
    gen: number,
    event: StateEvent,
    opts: TransitionOptions = {},
    now = Date.now(),
  ): Promise<TransitionResult> {
    const k = this.keys;
    const record = opts.record?.gen === gen ? opts.record : await this.get(uuid);
    if (!record || record.gen !== gen)
      return { ok: false, reason: 'stale', state: record?.state ?? '' };
    const { to } = TRANSITIONS[event];
    const from = opts.onlyFrom
      ? TRANSITIONS[event].from.filter((s) => opts.onlyFrom!.includes(s))
      : TRANSITIONS[event].from;
    if (from.length === 0) return { ok: false, reason: 'conflict', state: record.state };
    const terminal = TERMINAL_STATES.has(to);
    const lookup = terminal ? this.#lookupKeys(record.bmc, record.macs) : [];
    const keys = [
      k.node(uuid),
      k.secret(uuid),
      k.raw(uuid),
      k.processed(uuid),
      k.logs(uuid),
      k.active,
      k.runsVersion,
      ...lookup,
    ];
    const fields = Object.entries(opts.fields ?? {}).flat();
    const op = randomUUID();
    const [status, value] = await sendChange(this.#redis, () =>
      this.#redis.inspectorTransition(
        keys.length,
        ...keys,
        String(gen),
        from.join(','),
        to,
        terminal ? '1' : '0',
        now,
        opts.error ?? '',
        this.#opts.keepTimeMs,
        uuid,
        JSON.stringify(fields),
        opts.raw ?? '',
        opts.logs ?? '',
        this.#opts.logsTtlMs ?? 3_600_000,
        op,
      ),
    );
    if (status === 'ok') {
      this.#changed({ event, from: value as State, to, startedAt: record.started_at, at: now });
      return { ok: true, from: value as State };
    }
    return { ok: false, reason: status as 'stale' | 'conflict', state: value };
  }

  /**
   * The MACs of the runs whose node boots or runs the ramdisk (every unfinished run but a
   * reapply's), and how many such runs there are: what the PXE filter lets through.
   */
  async ramdiskMacs(): Promise<{ runs: number; macs: Set<string> }> {
    const uuids = await this.#redis.zrange(this.keys.active, 0, -1);
    // Sent together: on the store's connection ioredis pipelines them itself.
    const rows = await Promise.all(
      uuids.map((uuid) => this.#redis.hmget(this.keys.node(uuid), 'state', 'macs')),
    );
    const macs = new Set<string>();
    let runs = 0;
    for (const [state, list] of rows) {
      if (!state || state === 'reapplying' || TERMINAL_STATES.has(state as State)) continue;
      runs++;
      for (const mac of jsonList.parse(list ?? undefined)) macs.add(mac);
    }
    return { runs, macs };
  }

  /** How many runs have begun or ended: changes whenever ramdiskMacs may have. */
  async runsVersion(): Promise<string> {
    return (await this.#redis.get(this.keys.runsVersion)) ?? '0';
  }

  /** For each lookup attribute value, the nodes whose index holds it. */
  async candidates(attrs: LookupAttributes): Promise<string[][]> {
    const keys = this.#lookupKeys(attrs.bmc_address, attrs.mac);
    if (keys.length === 0) return [];
    // Sent together: on the store's connection (RedisUse 'store') ioredis pipelines them itself.
    return Promise.all(keys.map((key) => this.#redis.smembers(key)));
  }

  /**
   * Claims a machine's lookup attributes for discovery, for `ttlMs` at a time: two callbacks of
   * one unknown machine, on one API process or two, would otherwise both find no port and no
   * node with its BMC address, and both create it. Null while another request holds any of
   * them.
   */
  async claimForEnrollment(
    attrs: LookupAttributes,
    ttlMs: number,
  ): Promise<EnrollmentClaim | null> {
    const keys = [
      ...attrs.bmc_address.map((a) => this.keys.enrollClaim(`bmc:${a}`)),
      ...attrs.mac.map((m) => this.keys.enrollClaim(`mac:${m}`)),
    ];
    const token = randomUUID();
    if ((await this.#redis.inspectorClaim(keys.length, ...keys, token, ttlMs)) !== 1) return null;
    return {
      renew: async () =>
        (await this.#redis.inspectorRenew(keys.length, ...keys, token, ttlMs)) === 1,
      release: async () => {
        await this.#redis.inspectorRelease(keys.length, ...keys, token);
      },
    };
  }

  async getRaw(uuid: string): Promise<string | null> {
    return this.#redis.get(this.keys.raw(uuid));
  }

  async getProcessed(uuid: string): Promise<string | null> {
    return this.#redis.get(this.keys.processed(uuid));
  }

  async getLogs(uuid: string): Promise<string | null> {
    return this.#redis.get(this.keys.logs(uuid));
  }

  async deleteLogs(uuid: string): Promise<void> {
    await this.#redis.del(this.keys.logs(uuid));
  }

  /** Writes processed data only if `gen` is still the node's current run. */
  async setProcessed(uuid: string, gen: number, json: string): Promise<boolean> {
    const k = this.keys;
    return (
      (await this.#redis.inspectorSetIfGen(2, k.node(uuid), k.processed(uuid), gen, json)) === 1
    );
  }

  /** The new IPMI password of the run `gen`, while that run needs it. */
  async getSecret(uuid: string, gen: number): Promise<string | null> {
    const [secretGen, password] = await this.#redis.hmget(
      this.keys.secret(uuid),
      'gen',
      'password',
    );
    return secretGen === String(gen) ? (password ?? null) : null;
  }

  /**
   * Runs, newest first. `marker` is the uuid of the last item of the previous page.
   * Returns null when the marker is unknown.
   */
  async list(opts: {
    marker?: string;
    limit: number;
    states?: State[];
  }): Promise<NodeRecord[] | null> {
    let start = 0;
    if (opts.marker) {
      const rank = await this.#redis.zrevrank(this.keys.index, opts.marker);
      if (rank === null) return null;
      start = rank + 1;
    }
    const wanted = opts.states ? new Set(opts.states) : null;
    const out: NodeRecord[] = [];
    const page = Math.max(opts.limit, 100);
    while (out.length < opts.limit) {
      let uuids = await this.#redis.zrevrange(this.keys.index, start, start + page - 1);
      if (uuids.length === 0) break;
      start += uuids.length;
      if (wanted) {
        // A filter may have to pass over a week of runs to fill a page: it reads each one's
        // state alone, and whole records only for the runs it keeps.
        const states = this.#redis.pipeline();
        for (const uuid of uuids) states.hget(this.keys.node(uuid), 'state');
        const read = (await states.exec()) ?? [];
        for (const [err] of read) if (err) throw err;
        uuids = uuids.filter((_, i) => wanted.has(read[i]?.[1] as State));
      }
      const pipeline = this.#redis.pipeline();
      for (const uuid of uuids) pipeline.hgetall(this.keys.node(uuid));
      for (const [err, hash] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        const h = hash as Record<string, string>;
        if (!h.uuid) continue;
        const record = NodeRecordSchema.parse(h);
        if (wanted && !wanted.has(record.state)) continue;
        out.push(record);
        if (out.length === opts.limit) break;
      }
    }
    return out;
  }

  /** Unfinished runs started before `startedBefore`, oldest first (at most `max`). */
  async staleRuns(startedBefore: number, max = 1000): Promise<NodeRecord[]> {
    const uuids = await this.#redis.zrangebyscore(
      this.keys.active,
      '-inf',
      startedBefore,
      'LIMIT',
      0,
      max,
    );
    const records = await Promise.all(uuids.map((uuid) => this.get(uuid)));
    return records.filter((r): r is NodeRecord => r !== null);
  }

  /**
   * Nodes with a run kept here whose latest run started before `startedBefore`.
   * Read whole before a caller changes any: paging by offset while entries
   * leave would skip some.
   */
  async indexedBefore(startedBefore: number, page = 1000): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const uuids = await this.#redis.zrangebyscore(
        this.keys.index,
        '-inf',
        `(${startedBefore}`,
        'LIMIT',
        out.length,
        page,
      );
      out.push(...uuids);
      if (uuids.length < page) return out;
    }
  }

  /**
   * Drops a run with its status, data and lookup entries, as if the node had
   * never been introspected; false when it was started again meanwhile.
   */
  async forget(record: NodeRecord): Promise<boolean> {
    const k = this.keys;
    const uuid = record.uuid;
    const keys = [
      k.node(uuid),
      k.index,
      k.active,
      k.raw(uuid),
      k.processed(uuid),
      k.logs(uuid),
      k.secret(uuid),
      ...this.#lookupKeys(record.bmc, record.macs),
    ];
    return (
      (await this.#redis.inspectorForget(keys.length, ...keys, String(record.gen), uuid)) === 1
    );
  }

  /**
   * A place in the line of PXE reboots, `gapMs` apart across every worker:
   * how many ms the run must still wait, about (0: reboot now). Asked again
   * after the wait, it answers for the same place. A run that ended or was
   * started again before its turn leaves its place at the head to the next,
   * whoever finds it there.
   */
  async reserveReboot(uuid: string, gen: number, gapMs: number): Promise<number> {
    const k = this.keys;
    const member = `${uuid}@${gen}`;
    for (let dead = 0; ; dead++) {
      const [waitMs, head] = await this.#redis.inspectorReserveReboot(
        4,
        k.rebootLine,
        k.rebootNext,
        k.rebooted(uuid, gen),
        k.rebootArrivals,
        member,
        gapMs,
        // A retry of a boot job comes within minutes, if at all.
        3_600_000,
      );
      if (waitMs <= 0 || head === member || dead === 100) return waitMs;
      const [headUuid = '', headGen] = head.split('@');
      const record = await this.get(headUuid);
      if (record && String(record.gen) === headGen && !TERMINAL_STATES.has(record.state))
        return waitMs;
      await this.#redis.zrem(k.rebootLine, head);
    }
  }

  /** Drops index entries of runs whose status has expired. Returns how many went. */
  async cleanup(now = Date.now()): Promise<number> {
    const oldest = now - this.#opts.keepTimeMs;
    let removed = 0;
    for (let offset = 0; ; offset += 1000) {
      const uuids = await this.#redis.zrangebyscore(
        this.keys.index,
        '-inf',
        oldest,
        'LIMIT',
        offset,
        1000,
      );
      if (uuids.length === 0) break;
      const pipeline = this.#redis.pipeline();
      for (const uuid of uuids) pipeline.exists(this.keys.node(uuid));
      const gone = ((await pipeline.exec()) ?? [])
        .map(([, n], i) => (n === 0 ? uuids[i]! : null))
        .filter((u): u is string => u !== null);
      if (gone.length) {
        removed += await this.#redis.zrem(this.keys.index, ...gone);
        offset -= gone.length;
      }
    }
    return removed;
  }
}

export function storeFromConfig(
  redis: RedisClient,
  config: Config,
  onChange?: StoreOptions['onChange'],
): StateStore {
  const timeoutMs = config.INTROSPECTION_TIMEOUT_S * 1000;
  return new StateStore(redis, {
    prefix: config.REDIS_PREFIX,
    keepTimeMs: config.NODE_STATUS_KEEP_TIME_S * 1000,
    // The password lives no longer than its run can: the timeout plus a margin, a day without one.
    secretTtlMs: timeoutMs > 0 ? timeoutMs + 600_000 : 86_400_000,
    onChange,
  });
}
