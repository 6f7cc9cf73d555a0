import type { Config, HookName } from '../config.ts';
import type { IronicNode, IronicPort, JsonPatchOp } from '../ironic/types.ts';
import type { Interface, NormalizedData } from '../ramdisk-data.ts';

export type ProcessingConfig = Pick<
  Config,
  'ADD_PORTS' | 'KEEP_PORTS' | 'OVERWRITE_EXISTING' | 'PROCESSING_HOOKS'
>;

/** NormalizedData plus what validate_interfaces works out. */
export interface ProcessedData extends NormalizedData {
  all_interfaces: Record<string, Interface>;
  /** MACs of the interfaces that get ports. */
  macs: string[];
  pxe_mac: string | null;
}

/** What processing asks of Ironic, worked out before any call is made. */
export interface UpdatePlan {
  nodePatches: JsonPatchOp[];
  createPorts: { address: string; pxe_enabled: boolean }[];
  deletePorts: IronicPort[];
  /** Existing ports whose `pxe_enabled` is to be set to the value given. */
  pxePorts: { port: IronicPort; pxe_enabled: boolean }[];
}

export interface HookContext {
  config: ProcessingConfig;
  warn: (message: string) => void;
}

/** A hook failure that belongs in the user-facing failure list. */
export class HookFailure extends Error {}

export interface Hook {
  name: HookName;
  /** Runs before the node is looked up; may rewrite the data; throws HookFailure to refuse it. */
  beforeProcessing?(data: ProcessedData, ctx: HookContext): void;
  /** Runs once the node is known; adds to the plan, never calls Ironic itself. */
  beforeUpdate?(
    data: ProcessedData,
    node: IronicNode,
    ports: IronicPort[],
    plan: UpdatePlan,
    ctx: HookContext,
  ): void;
}
