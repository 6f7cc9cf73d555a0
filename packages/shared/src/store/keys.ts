/** Every Redis key the state store uses, in one place. */
export function storeKeys(prefix: string) {
  return {
    node: (uuid: string) => `${prefix}:node:${uuid}`,
    index: `${prefix}:nodes`,
    /** Runs not yet finished, scored by start time: what the timeout sweep scans. */
    active: `${prefix}:active`,
    gen: `${prefix}:gen`,
    raw: (uuid: string) => `${prefix}:raw:${uuid}`,
    processed: (uuid: string) => `${prefix}:processed:${uuid}`,
    logs: (uuid: string) => `${prefix}:logs:${uuid}`,
    secret: (uuid: string) => `${prefix}:secret:${uuid}`,
    /** When the next PXE reboot may happen (ms), for INTROSPECTION_DELAY_S. */
    rebootNext: `${prefix}:reboot-next`,
    /** The reboot time a run has reserved and waits for. */
    rebootAt: (uuid: string, gen: number) => `${prefix}:reboot-at:${uuid}:${gen}`,
    bmc: (address: string) => `${prefix}:lookup:bmc:${address}`,
    mac: (mac: string) => `${prefix}:lookup:mac:${mac}`,
  };
}
export type StoreKeys = ReturnType<typeof storeKeys>;
