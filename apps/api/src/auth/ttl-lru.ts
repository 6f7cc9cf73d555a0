interface Entry<V> {
  value: V;
  until: number;
}

/**
 * A bounded map whose entries also expire: reading an entry makes it the most recently used,
 * and past `max` the least recently used goes. Times are epoch milliseconds.
 */
export class TtlLru<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be >= 1, got ${max}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.until <= now) return undefined;
    // Map keeps insertion order: re-inserting marks the entry as the most recently used.
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `until`; an entry already expired is not stored. */
  set(key: string, value: V, until: number, now = Date.now()): void {
    this.entries.delete(key);
    if (until <= now) return;
    this.entries.set(key, { value, until });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
