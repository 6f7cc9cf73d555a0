import { z } from 'zod';
import type { RedisClient } from '../redis.ts';
import { RulePlanSchema, RuleSchema, type Rule, type RulePlan } from '../rules/index.ts';
import { storeKeys, type StoreKeys } from './keys.ts';

const StoredRuleSchema = z.object({ seq: z.number(), rule: RuleSchema });

/** A retry of a processing job comes within minutes, if at all. */
const PLAN_TTL_MS = 86_400_000;

/**
 * Introspection rules, in one hash: an installation has tens of them, and every processing
 * reads them all. Each keeps its place in creation order, the order upstream applies them in.
 */
export class RuleStore {
  readonly keys: StoreKeys;
  readonly #redis: RedisClient;

  constructor(redis: RedisClient, prefix: string) {
    this.keys = storeKeys(prefix);
    this.#redis = redis;
  }

  /** Stores a new rule; false when one with its UUID exists already. */
  async create(rule: Rule): Promise<boolean> {
    const seq = await this.#redis.incr(this.keys.ruleSeq);
    const stored = JSON.stringify({ seq, rule });
    return (await this.#redis.hsetnx(this.keys.rules, rule.uuid, stored)) === 1;
  }

  async get(uuid: string): Promise<Rule | null> {
    const json = await this.#redis.hget(this.keys.rules, uuid.toLowerCase());
    return json === null ? null : StoredRuleSchema.parse(JSON.parse(json)).rule;
  }

  /** Every rule, oldest first. */
  async list(): Promise<Rule[]> {
    const all = Object.values(await this.#redis.hgetall(this.keys.rules));
    return all
      .map((json) => StoredRuleSchema.parse(JSON.parse(json)))
      .sort((a, b) => a.seq - b.seq)
      .map((s) => s.rule);
  }

  /** False when there was no such rule. */
  async delete(uuid: string): Promise<boolean> {
    return (await this.#redis.hdel(this.keys.rules, uuid.toLowerCase())) === 1;
  }

  async deleteAll(): Promise<void> {
    await this.#redis.del(this.keys.rules);
  }

  /**
   * The plan a processing job made from the rules, made by `make` on its first attempt and kept
   * for its retries: evaluated again against a node the first attempt had already changed, the
   * rules would not give the same plan (an `extend-attribute` would append twice).
   */
  async planOnce(jobId: string, make: () => Promise<RulePlan>): Promise<RulePlan> {
    const key = this.keys.rulePlan(jobId);
    const kept = await this.#redis.get(key);
    if (kept !== null) return RulePlanSchema.parse(JSON.parse(kept));
    const plan = await make();
    await this.#redis.set(key, JSON.stringify(plan), 'PX', PLAN_TTL_MS);
    return plan;
  }
}
