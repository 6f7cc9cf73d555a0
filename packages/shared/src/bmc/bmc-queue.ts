/**
 * One command at a time per BMC, with a minimum pause between the end of one command and the
 * start of the next. BMCs handle few sessions and often misbehave when hammered.
 */
import { sleep } from '../retry.ts';

interface Lane {
  /** Settles when the last queued call has finished. */
  tail: Promise<void>;
  /** performance.now() when the last call to this BMC ended (-Infinity: never). */
  lastEnd: number;
  /** Calls queued or running. */
  pending: number;
}

export class BmcCallQueue {
  private readonly lanes = new Map<string, Lane>();

  /**
   * Runs `fn` once every earlier call for `key` has finished and at least `minIntervalMs` has
   * passed since the last one ended. Calls for one key run in the order they were queued; calls
   * for different keys do not wait for each other.
   */
  async run<T>(key: string, minIntervalMs: number, fn: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { tail: Promise.resolve(), lastEnd: -Infinity, pending: 0 };
      this.lanes.set(key, lane);
    }
    const current = lane;
    const previous = current.tail;
    let release!: () => void;
    current.tail = new Promise<void>((resolve) => (release = resolve));
    current.pending++;
    try {
      await previous;
      const wait = current.lastEnd + minIntervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      return await fn();
    } finally {
      current.lastEnd = performance.now();
      current.pending--;
      release();
      if (current.pending === 0) this.forgetLater(key, current, minIntervalMs);
    }
  }

  /** BMCs with a call queued or running, or one that ended less than its interval ago. */
  get size(): number {
    return this.lanes.size;
  }

  /** Drops an idle lane once its interval is over, so the map does not grow with every BMC. */
  private forgetLater(key: string, lane: Lane, minIntervalMs: number): void {
    const drop = () => {
      if (lane.pending === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
    };
    if (minIntervalMs <= 0) drop();
    else setTimeout(drop, minIntervalMs).unref();
  }
}

/** Shared by every driver in the process unless one is given its own. */
export const defaultBmcCallQueue = new BmcCallQueue();
