/** What a PXE filter knows at one sync, the same for every driver. */
export interface FilterState {
  /** MACs of nodes booting or running the ramdisk: always let through. */
  introspected: ReadonlySet<string>;
  /** Every port MAC Ironic has, or null before Ironic's ports were listed once. */
  ironic: ReadonlySet<string> | null;
  /** Some node is being introspected, or discovery is on: unknown machines may boot the ramdisk. */
  unknownAllowed: boolean;
}

/** How many MACs the driver lets through and keeps out after a sync, for the metrics. */
export interface FilterCounts {
  allow: number;
  deny: number;
}

/** How one kind of filter tells the DHCP server which machines to answer. */
export interface FilterDriver {
  readonly name: string;
  /** Before the first sync: clears what an earlier process left. */
  prepare(): Promise<void>;
  /**
   * Makes the DHCP server answer as `state` says. Never called twice at once. `full`: Ironic was
   * listed again, and the driver reads back what it keeps instead of trusting its memory.
   */
  apply(state: FilterState, full: boolean): Promise<FilterCounts>;
  /** After the first sync has been applied. */
  started(): Promise<void>;
  /** When the worker stops; after the last sync. */
  close(): Promise<void>;
}
