/** Every Redis key the state store uses, in one place. */
export function storeKeys(prefix: string) {
  return {
    node: (uuid: string) => `${prefix}:node:${uuid}`,
    index: `${prefix}:nodes`,
    /** Runs not yet finished, scored by start time: what the timeout sweep scans. */
    active: `${prefix}:active`,
    gen: `${prefix}:gen`,
    /** Counts runs that began or ended: the PXE filter writes dnsmasq's files again as it moves. */
    runsVersion: `${prefix}:runs-version`,
    raw: (uuid: string) => `${prefix}:raw:${uuid}`,
    processed: (uuid: string) => `${prefix}:processed:${uuid}`,
    logs: (uuid: string) => `${prefix}:logs:${uuid}`,
    secret: (uuid: string) => `${prefix}:secret:${uuid}`,
    /** Runs waiting for their turn to reboot, by arrival, for INTROSPECTION_DELAY_S. */
    rebootLine: `${prefix}:reboot-line`,
    /** Counts arrivals in the reboot line: each run's place in it. */
    rebootArrivals: `${prefix}:reboot-arrivals`,
    /** When the next PXE reboot may happen (ms). */
    rebootNext: `${prefix}:reboot-next`,
    /** Set once a run has had its turn, so that a retry of its boot does not queue again. */
    rebooted: (uuid: string, gen: number) => `${prefix}:rebooted:${uuid}:${gen}`,
    /** Introspection rules: UUID -> the rule as JSON, with its place in creation order. */
    rules: `${prefix}:rules`,
    /** Counts rule creations: each rule's place in the order rules are applied. */
    ruleSeq: `${prefix}:rule-seq`,
    /** What the rules asked of Ironic in a processing job, for that job's retries to send again. */
    rulePlan: (jobId: string) => `${prefix}:rule-plan:${jobId}`,
    /** Held while discovery checks and creates a node with this lookup attribute. */
    enrollClaim: (attribute: string) => `${prefix}:enroll-claim:${attribute}`,
    bmc: (address: string) => `${prefix}:lookup:bmc:${address}`,
    mac: (mac: string) => `${prefix}:lookup:mac:${mac}`,
  };
}
export type StoreKeys = ReturnType<typeof storeKeys>;
