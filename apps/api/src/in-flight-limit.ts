/** At most `limit` things at once in this process; past it, `tryEnter` says no instead of queueing. */
export class InFlightLimit {
  #inFlight = 0;
  constructor(readonly limit: number) {}

  /** A leave function, or null when `limit` are in flight already. */
  tryEnter(): (() => void) | null {
    if (this.#inFlight >= this.limit) return null;
    this.#inFlight++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#inFlight--;
    };
  }
}
