import type { HookName } from '../config.ts';
import type { IronicNode, IronicPort } from '../ironic/types.ts';
import { parseBootInterface } from '../mac.ts';
import type { NormalizedData } from '../ramdisk-data.ts';
import { ramdiskError } from './ramdisk-error.ts';
import { rootDeviceHint } from './root-device-hint.ts';
import { scheduler } from './scheduler.ts';
import {
  HookFailure,
  type Hook,
  type HookContext,
  type ProcessedData,
  type UpdatePlan,
} from './types.ts';
import { validateInterfaces } from './validate-interfaces.ts';

const HOOKS = {
  ramdisk_error: ramdiskError,
  root_device_hint: rootDeviceHint,
  scheduler,
  validate_interfaces: validateInterfaces,
} satisfies Record<HookName, Hook>;

const selected = (ctx: HookContext) => ctx.config.PROCESSING_HOOKS.map((n) => HOOKS[n]);

/**
 * Runs every hook's first phase in the configured order. A failing hook does
 * not stop the others, so the ramdisk learns every problem at once.
 */
export function preprocess(
  normalized: NormalizedData,
  ctx: HookContext,
): { data: ProcessedData; failures: string[] } {
  const pxeMac = parseBootInterface(normalized.boot_interface);
  const data: ProcessedData = {
    ...structuredClone(normalized),
    all_interfaces: {},
    macs: [],
    pxe_mac: pxeMac,
  };
  const failures: string[] = [];
  for (const hook of selected(ctx)) {
    try {
      hook.beforeProcessing?.(data, ctx);
    } catch (err) {
      failures.push(
        err instanceof HookFailure
          ? `Preprocessing hook ${hook.name}: ${err.message}`
          : `Unexpected exception during preprocessing in hook ${hook.name}`,
      );
    }
  }
  return { data, failures };
}

/** Runs every hook's second phase and returns what to ask of Ironic. */
export function planUpdate(
  data: ProcessedData,
  node: IronicNode,
  ports: IronicPort[],
  ctx: HookContext,
): UpdatePlan {
  const plan: UpdatePlan = { nodePatches: [], createPorts: [], deletePorts: [], pxePorts: [] };
  for (const hook of selected(ctx)) hook.beforeUpdate?.(data, node, ports, plan, ctx);
  return plan;
}
